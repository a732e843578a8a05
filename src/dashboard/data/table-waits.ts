/**
 * Why a table's commits (and the slices staged for it) are waiting, and until when — for the
 * tables page and the grid's tooltips. Each reason is read from where the commit path keeps it:
 *
 * - breaker open until T: the breaker's `reopensAt` (src/queues/conflicts/breaker.ts); retries of
 *   held slices wait until then (clean staged slices keep landing);
 * - rate window full until T: the commit queue's BullMQ rate limiter (the gate's cap of table
 *   operations per window, QueueSet.applyTableCaps) has no token left for that long;
 * - gathering until T: a commit job that has not run yet waits its gather window so a burst of
 *   staged dates lands as one statement (its delay, src/queues/commit/staging.ts `ensureCommitJob`);
 * - streaming buffer until T: slices held back by a conflict, due again at their hold time
 *   (the gate's hold set, src/queues/conflicts/hold.ts);
 * - busy retry at T: slices of a commit that met a busy table wait with backoff
 *   (status `waiting` with `nextTryAt`, src/queues/commit/worker.ts);
 * - deferred: held past the maximum wait, until a person retries them.
 *
 * Commits in flight at the concurrency cap are not a reason of their own: that is the gate
 * doing its job, and the next commit starts when one lands.
 */
import type { Job } from 'bullmq';
import type { BreakerView } from '../../queues/conflicts/breaker.ts';
import type { SliceStatus } from '../../queues/status-store.ts';
import type { Runtime } from '../../runtime.ts';
import { relative, when } from '../html/format.ts';

export const WAIT_KINDS = ['breaker-open', 'breaker-probe', 'rate-window', 'gathering', 'streaming-buffer', 'busy-retry', 'deferred'] as const;
export type WaitKind = (typeof WAIT_KINDS)[number];

export interface TableWait {
  kind: WaitKind;
  /** When the wait ends (epoch ms); undefined when a person or a probe ends it. */
  until?: number | undefined;
  /** Slices it holds (commit jobs, for gathering). */
  count?: number | undefined;
}

export interface TableWaits {
  table: string;
  /** Earliest end first within each kind, kinds in `WAIT_KINDS` order. */
  waits: TableWait[];
  /** Held fields (streaming buffer) → due ms; Infinity = deferred. */
  held: ReadonlyMap<string, number>;
}

/** Delayed commit jobs read per table: far more than a table ever has (one gathering, one per hold time, busy ones). */
const DELAYED_READ = 200;

/** A commit job delayed after it ran (busy backoff, breaker): BullMQ set its processedOn. Held wake-ups are `h<due>`. */
function ranBefore(job: Job): boolean {
  return job.processedOn !== undefined && job.processedOn > 0;
}

/**
 * The reasons one table waits now. `writer` is the processor whose statuses say which slices
 * wait on a busy table; they are only read when a commit job was put back to sleep after it ran.
 */
export async function readTableWaits(
  rt: Pick<Runtime, 'queues' | 'gate' | 'statuses'>,
  table: string,
  opts: { breaker?: BreakerView | undefined; writer?: string | undefined; now?: number },
): Promise<TableWaits> {
  const now = opts.now ?? Date.now();
  const queue = rt.queues.commit(table);
  const [ttl, delayed, heldList] = await Promise.all([queue.getRateLimitTtl(), queue.getDelayed(0, DELAYED_READ - 1), rt.gate.held(table)]);
  const held = new Map(heldList.map((h) => [h.field, h.dueMs]));
  const waits: TableWait[] = [];
  const b = opts.breaker;
  if (b?.state === 'open') waits.push({ kind: 'breaker-open', until: b.reopensAt ? Date.parse(b.reopensAt) : undefined });
  if (b?.state === 'half-open') waits.push({ kind: 'breaker-probe' });
  if (ttl > 0) waits.push({ kind: 'rate-window', until: now + ttl });
  const gathering = (delayed as Job[]).filter((j) => !ranBefore(j) && !String(j.id).startsWith('h'));
  if (gathering.length > 0) {
    const until = Math.min(...gathering.map((j) => j.timestamp + (j.delay ?? 0)));
    waits.push({ kind: 'gathering', until, count: gathering.length });
  }
  const due = heldList.filter((h) => Number.isFinite(h.dueMs));
  if (due.length > 0) waits.push({ kind: 'streaming-buffer', until: Math.min(...due.map((h) => h.dueMs)), count: due.length });
  if (opts.writer !== undefined && (delayed as Job[]).some(ranBefore)) {
    const busy = [...(await rt.statuses.all(opts.writer))].filter(([slice, s]) => s.status === 'waiting' && s.nextTryAt && !held.has(slice));
    if (busy.length > 0) waits.push({ kind: 'busy-retry', until: Math.min(...busy.map(([, s]) => Date.parse(s.nextTryAt ?? ''))), count: busy.length });
  }
  const deferred = heldList.length - due.length;
  if (deferred > 0) waits.push({ kind: 'deferred', count: deferred });
  return { table, waits, held };
}

function at(ms: number | undefined, now: number): string {
  return ms === undefined || Number.isNaN(ms) ? 'an unknown time' : `${when(ms)} (${relative(ms, now)})`;
}

/** One line a person reads: what the table waits for and until when. */
export function describeWait(w: TableWait, table: string, now = Date.now()): string {
  const n = w.count ?? 0;
  switch (w.kind) {
    case 'breaker-open':
      return `breaker open until ${at(w.until, now)}: retries of held dates pause (clean dates keep landing), then one probe commit retries them`;
    case 'breaker-probe':
      return 'breaker half-open: one probe commit retries held dates; the other held dates wait for its verdict';
    case 'rate-window':
      return `rate window full until ${at(w.until, now)}: the gate's table operations per window are used up`;
    case 'gathering':
      return `gathering until ${at(w.until, now)}: the commit waits so staged dates land in one statement`;
    case 'streaming-buffer':
      return `streaming buffer until ${at(w.until, now)}: ${n} date(s) held back, their partitions still hold streamed rows`;
    case 'busy-retry':
      return `busy retry at ${at(w.until, now)}: ${n} date(s) of a commit that met a busy table`;
    case 'deferred':
      return `deferred: ${n} date(s) waited past the maximum; kept until phasegate retry --deferred --table ${table}`;
  }
}

/** Kinds that hold a slice staged for the table's next commit. */
const STAGED_KINDS: ReadonlySet<WaitKind> = new Set(['rate-window', 'gathering']);
/** Kinds that hold a slice the streaming buffer held back before: an open breaker stops retries, not the table. */
const HELD_KINDS: ReadonlySet<WaitKind> = new Set(['breaker-open', 'breaker-probe']);

/**
 * Why one slice waits, from its status and its table's waits: its own hold or busy retry, and
 * whatever holds every commit of the table. Empty when it is not waiting.
 */
export function sliceWaits(slice: string, s: SliceStatus | undefined, w: TableWaits | undefined, now = Date.now()): { kind: WaitKind; text: string }[] {
  if (!s || (s.status !== 'waiting' && s.status !== 'staged')) return [];
  const out: { kind: WaitKind; text: string }[] = [];
  const table = w?.table ?? '';
  if (s.status === 'waiting') {
    const due = w?.held.get(slice);
    if (due !== undefined && Number.isFinite(due)) out.push({ kind: 'streaming-buffer', text: `streaming buffer until ${at(due, now)}` });
    else if (s.nextTryAt) out.push({ kind: 'busy-retry', text: `busy retry at ${at(Date.parse(s.nextTryAt), now)}` });
  }
  const heldBack = w?.held.has(slice) === true;
  for (const t of w?.waits ?? []) {
    if (STAGED_KINDS.has(t.kind) || (heldBack && HELD_KINDS.has(t.kind))) out.push({ kind: t.kind, text: describeWait(t, table, now) });
  }
  return out;
}
