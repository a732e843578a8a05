/**
 * `phasegate worker`'s default heap cap: a phase 1–2 worker runs its work in a child node
 * started with `--max-old-space-size`, which stops with the parent's signal and dies with it.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { cappedProcessEnv, givenHeapCapMb, workerHeapMb } from '../src/cli/worker-heap.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { DUCKDB_ALLOCATOR_CONF } from '../src/warehouse/duckdb/allocator.ts';
import { childEnv, deleteKeys, TEST_REDIS_URL, until } from './helpers.ts';

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'phasegate.js');

/** The processes whose parent is `pid`, with their command lines (Linux /proc). */
function childrenOf(pid: number): { pid: number; args: string[] }[] {
  const out: { pid: number; args: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name in field 2 may hold spaces: the fields after its ')' are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(entry), args: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // It ended while we looked.
    }
  }
  return out;
}

/** Whether `pid` still runs (a zombie no one has reaped yet has ended). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('worker heap cap', () => {
  it('caps a worker by its concurrency, and one running phases 3–5 or the gates by its gathered reads too', () => {
    const auto = loadConfig({});
    expect(workerHeapMb(auto, { phases: [1, 2], commit: false, concurrency: 4 })).to.equal(76);
    expect(workerHeapMb(auto, { phases: [2], commit: false, concurrency: 12 })).to.equal(100);
    expect(workerHeapMb(auto, { phases: [2, 3], commit: false, concurrency: 4 })).to.equal(76 + 64 + 64);
    expect(workerHeapMb(auto, { phases: [], commit: true, concurrency: 4 })).to.equal(76 + 64 + 64);
    const smallReads = loadConfig({ PHASEGATE_READ_BATCH_JOBS: '32' });
    expect(workerHeapMb(smallReads, { phases: [3, 4, 5], commit: true, concurrency: 4 })).to.equal(76 + 64 + 8);
    const told = loadConfig({ PHASEGATE_WORKER_HEAP_MB: '300' });
    expect(workerHeapMb(told, { phases: [3, 4, 5], commit: true, concurrency: 4 })).to.equal(300);
    const off = loadConfig({ PHASEGATE_WORKER_HEAP_MB: '0' });
    expect(workerHeapMb(off, { phases: [2], commit: false, concurrency: 4 })).to.equal(undefined);
    expect(() => loadConfig({ PHASEGATE_WORKER_HEAP_MB: 'lots' })).to.throw(/PHASEGATE_WORKER_HEAP_MB/);
  });

  it("holds a capped worker's malloc to two arenas and has DuckDB's allocator return freed memory, unless the environment says otherwise", () => {
    expect(cappedProcessEnv({ PATH: '/bin' })).to.deep.equal({ PATH: '/bin', MALLOC_ARENA_MAX: '2', DUCKDB_JE_MALLOC_CONF: DUCKDB_ALLOCATOR_CONF });
    const own = { PATH: '/bin', MALLOC_ARENA_MAX: '8', DUCKDB_JE_MALLOC_CONF: 'dirty_decay_ms:5000' };
    expect(cappedProcessEnv(own)).to.deep.equal(own);
  });

  it("reads node's own cap from its flags and NODE_OPTIONS, the command line's last", () => {
    expect(givenHeapCapMb([], undefined)).to.equal(undefined);
    expect(givenHeapCapMb(['--import', 'tsx'], '--enable-source-maps')).to.equal(undefined);
    expect(givenHeapCapMb([], '--max-old-space-size=512')).to.equal(512);
    expect(givenHeapCapMb(['--max_old_space_size=200'], '--max-old-space-size=512')).to.equal(200);
  });

  describe('a worker process', function () {
    this.timeout(60_000);
    let dir = '';
    const prefix = `pg-heap-${process.pid}`;
    const started: ChildProcess[] = [];
    const cappedChildren: number[] = [];

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'pg-heap-'));
    });
    after(async () => {
      for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const pid of cappedChildren) if (running(pid)) process.kill(pid, 'SIGKILL');
      // The capped child writes to its parent's pipes too: let go of them here, so the run's end
      // never waits on whichever process closes them last.
      for (const c of started) for (const stream of [c.stdout, c.stderr]) stream?.destroy();
      await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
      await rm(dir, { recursive: true, force: true });
    });

    /** `phasegate worker --phases 1,2 --concurrency 2`, and its capped child once it says it runs. */
    async function startWorker(): Promise<{ parent: ChildProcess; child: { pid: number; args: string[] }; log: { text: string } }> {
      const parent = spawn(process.execPath, [BIN, 'worker', '--phases', '1,2', '--concurrency', '2'], {
        env: { ...childEnv({ REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: dir }), MALLOC_ARENA_MAX: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started.push(parent);
      const log = { text: '' };
      parent.stdout?.on('data', (b: Buffer) => {
        log.text += b.toString();
      });
      parent.stderr?.on('data', (b: Buffer) => {
        log.text += b.toString();
      });
      await until(async () => log.text.includes('worker running') || parent.exitCode !== null, 'the worker to start', 45_000);
      expect(parent.exitCode, log.text).to.equal(null);
      const [child, ...more] = childrenOf(parent.pid as number).filter((c) => c.args.includes('worker'));
      expect(more, 'one child runs the work').to.have.length(0);
      if (child) cappedChildren.push(child.pid);
      return { parent, child: child as { pid: number; args: string[] }, log };
    }

    it('runs its work in a child node capped at 64 + 3 × concurrency MB, which stops on the signal the parent gets', async () => {
      const { parent, child, log } = await startWorker();
      expect(child.args, 'the child is node with the cap').to.include.members(['--max-old-space-size=70', '--max-semi-space-size=4']);
      expect(log.text).to.include('concurrency 2, JS heap cap 70 MB');
      const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
      expect(environ, 'glibc malloc held to two arenas in the child').to.include('MALLOC_ARENA_MAX=2');
      expect(environ, "DuckDB's allocator returns freed memory at once").to.include(`DUCKDB_JE_MALLOC_CONF=${DUCKDB_ALLOCATOR_CONF}`);
      parent.kill('SIGTERM');
      const [code] = (await once(parent, 'exit')) as [number | null];
      expect(code, log.text).to.equal(0);
      expect(log.text).to.include('SIGTERM: finishing active jobs');
      expect(running(child.pid), 'the child ended before the parent').to.equal(false);
    });

    it('ends with its parent when the parent is killed outright', async () => {
      const { parent, child } = await startWorker();
      parent.kill('SIGKILL');
      await once(parent, 'exit');
      await until(async () => !running(child.pid), 'the capped child to end with its parent', 10_000);
    });
  });
});
