/**
 * What keeps this process alive, said precisely enough to find in the code: each timer with its
 * delay and the first line of its callback, each pipe or socket with the processes that hold its
 * other end (Linux /proc). Only the end-of-run watchdog uses it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

interface HandleLike {
  constructor?: { name?: string };
  _handle?: { fd?: number } | null;
  _idleTimeout?: number;
  _onTimeout?: (...args: unknown[]) => unknown;
  hasRef?: () => boolean;
}

function commandOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 160);
  } catch {
    return '?';
  }
}

/** The processes holding the other end of `link`: a pipe's by its inode, a socket pair's by `ss`. */
function holders(link: string): string[] {
  const inode = /\[(\d+)\]/.exec(link)?.[1];
  if (!inode) return [];
  if (link.startsWith('socket:')) {
    let table = '';
    try {
      table = execFileSync('ss', ['-xpn'], { encoding: 'utf8' });
    } catch {
      return ['(ss is missing)'];
    }
    // `u_str ESTAB 0 0 * <local inode> * <peer inode> users:(("name",pid=N,fd=F),...)`
    const peers = table.split('\n').filter((l) => new RegExp(`\\*\\s+\\d+\\s+\\*\\s+${inode}\\s`).test(l));
    return peers.flatMap((l) => [...l.matchAll(/pid=(\d+)/g)].map((m) => `pid ${m[1]} (${commandOf(m[1] as string)})`));
  }
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSafe(`/proc/${pid}/fd/${fd}`) === link)) out.push(`pid ${pid} (${commandOf(pid)})`);
    } catch {
      // It ended, or is not ours to read.
    }
  }
  return out;
}

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

function describe(h: HandleLike): string {
  const kind = h.constructor?.name ?? typeof h;
  if (kind === 'Timeout' && typeof h._onTimeout === 'function') {
    const first = h._onTimeout.toString().split('\n').slice(0, 3).join(' ').replace(/\s+/g, ' ').slice(0, 200);
    return `${kind} ${h._idleTimeout} ms${h.hasRef?.() === false ? ' (unref)' : ''}: ${first}`;
  }
  const fd = h._handle?.fd;
  if (typeof fd === 'number' && fd >= 0) {
    const link = readlinkSafe(`/proc/self/fd/${fd}`);
    const others = link ? holders(link) : [];
    return `${kind} fd ${fd} ${link ?? ''}${others.length > 0 ? `, other end held by ${others.join('; ')}` : ''}`;
  }
  return kind;
}

/**
 * The timers still due that hold the process. Node lists sockets and children among its active
 * handles but not timers: they are found on the heap instead, as every object whose prototype is
 * a timer's (the inspector's `Runtime.queryObjects`).
 */
async function liveTimers(): Promise<HandleLike[]> {
  const session = new Session();
  session.connect();
  const key = `__openTimers${process.pid}`;
  try {
    const { result: proto } = await session.post('Runtime.evaluate', {
      expression: '(() => { const t = setTimeout(() => {}, 0); clearTimeout(t); return Object.getPrototypeOf(t); })()',
    });
    const { objects } = await session.post('Runtime.queryObjects', { prototypeObjectId: proto.objectId as string });
    await session.post('Runtime.callFunctionOn', { objectId: objects.objectId as string, functionDeclaration: `function () { globalThis.${key} = this; }` });
    const all = ((globalThis as Record<string, unknown>)[key] as (HandleLike & { _destroyed?: boolean })[] | undefined) ?? [];
    return all.filter((t) => !t._destroyed && t.hasRef?.() !== false);
  } finally {
    delete (globalThis as Record<string, unknown>)[key];
    session.disconnect();
  }
}

/** One line per handle that keeps the event loop alive (timers, sockets, pipes, children). */
export async function openHandles(): Promise<string[]> {
  const get = (process as unknown as { _getActiveHandles?: () => HandleLike[] })._getActiveHandles;
  return [...(get?.call(process) ?? []), ...(await liveTimers())].map(describe);
}
