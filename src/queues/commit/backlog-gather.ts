/**
 * The gather of a downstream table (phases 3–5). Its phase jobs arrive in waves — each upstream
 * commit unlocks its dates at once, through the dependency tracker — and run slower than its
 * MERGE lands, so a gather that adapts only to the table's headroom (`adaptiveGatherMs`) commits
 * each few slices as they come: 70–171 statements per phase 3–5 table in a 1,700-date cascade
 * against the raw tables' 29. While the table's phase still has jobs waiting or running, its
 * commit gathers up to `backlogGatherSeconds` instead; a full batch starts it at once, and so
 * does the phase running dry (`phaseJobFinished`), so the end of a wave or a daily run does not
 * wait the window out.
 *
 * A wave's last few slices are a partial batch, and the phase runs dry between waves: in a
 * cascade the rolling features' waves come a season at a time, each ending in a statement of
 * its own (4 per 209-date season where 64-slice batches need 3.3). While a phase upstream of
 * the table still has jobs waiting or running, its next wave is on its way, so the partial
 * batch gathers up to `upstreamGatherSeconds` and joins it; it starts when its own phase and
 * every phase upstream have run dry, or when full.
 */
import type { ChainableCommander } from 'ioredis';
import { type Phase, tableId } from '../../processors/types.ts';
import { compareStreamIds, infoRecord } from '../../redis/stream-reply.ts';
import type { PipelineContext } from '../context.ts';
import { PHASES, TRACKER_GROUP } from '../names.ts';

/** The phase of the processor writing a data table; undefined for a log table, or one no processor writes. */
export function writerPhase(ctx: Pick<PipelineContext, 'registry'>, table: string): Phase | undefined {
  return ctx.registry.transforms().find((d) => tableId(d.table) === table)?.phase;
}

/** The phase of the processor writing a data table fed by completion events (3–5); undefined for a raw or log table, or one no processor writes. */
export function downstreamPhase(ctx: Pick<PipelineContext, 'registry'>, table: string): Phase | undefined {
  const writer = writerPhase(ctx, table);
  return writer !== undefined && writer >= 3 ? writer : undefined;
}

/** Jobs of a queue in every process: waiting (plain, by priority), delayed, and running. */
export interface QueueLoad {
  waiting: number;
  delayed: number;
  active: number;
}

/** What a phase 3–5 table's gather looks at: each phase's jobs, and each phase's tables' commit jobs. */
export interface PipelineLoads {
  phases: Map<Phase, QueueLoad>;
  commits: Map<Phase, QueueLoad>;
  /**
   * The phases that events the dependency tracker has not turned into jobs yet (undelivered, or
   * being handled) may bring work to: those of every processor downstream of the events'. Holds
   * 0 when it cannot tell (an event naming no known processor, more of them than it looks at).
   */
  unhandledFor: ReadonlySet<number>;
}

export interface Backlog {
  /** The phase's own jobs waiting, by priority or delayed. */
  waiting: number;
  /** The phase's own jobs running. */
  active: number;
  /** A phase upstream of it, or a commit of one of their tables, still has a job: its next wave is on its way. */
  upstreamBusy: boolean;
}

/**
 * What feeds a downstream table: its own phase's backlog — jobs waiting (plain, by priority, or
 * delayed) and running — and whether work upstream of it is still under way. One round trip.
 *
 * Delayed jobs count: a slice the tracker holds back for its look-back window, or a retry, is
 * part of the wave, and a commit started without it lands the wave in two statements (the
 * window still bounds the wait). Upstream, the phases' jobs count and so do their tables'
 * commit jobs — between waves the next one's slices often sit staged in an upstream table's
 * gate, waiting for its rate window, while every phase queue is empty — and so do the commits'
 * events the dependency tracker has not handled yet: a busy tracker takes seconds to turn a
 * 64-date commit into jobs, and the queues are empty meanwhile.
 */
export async function phaseBacklog(ctx: Pick<PipelineContext, 'redis' | 'queues' | 'registry' | 'keys'>, phase: Phase): Promise<Backlog> {
  return backlogOf(await pipelineLoads(ctx, phase), phase);
}

/**
 * The phase's own jobs only: a quarter of `phaseBacklog`'s commands for the common case — mid-wave
 * the phase is busy, and then neither its gathers nor any downstream of it are dry.
 */
export async function ownBacklog(ctx: Pick<PipelineContext, 'redis' | 'queues'>, phase: Phase): Promise<{ waiting: number; active: number }> {
  const multi = ctx.redis.multi();
  countJobs(multi, ctx.queues.phase(phase));
  const load = loadAt(await multi.exec(), 0);
  return { waiting: load.waiting + load.delayed, active: load.active };
}

/** Adds the four counts of a queue's jobs to a MULTI: waiting, by priority, delayed, running. */
function countJobs(multi: ChainableCommander, queue: { toKey(type: string): string }): void {
  multi.llen(queue.toKey('wait')).zcard(queue.toKey('prioritized')).zcard(queue.toKey('delayed')).llen(queue.toKey('active'));
}

/** The `countJobs` of the `index`-th queue of a MULTI's reply. */
function loadAt(res: [Error | null, unknown][] | null, index: number): QueueLoad {
  const n = (i: number) => Number(res?.[4 * index + i]?.[1] ?? 0) || 0;
  return { waiting: n(0) + n(1), delayed: n(2), active: n(3) };
}

const busy = (l: QueueLoad | undefined) => !!l && l.waiting + l.delayed + l.active > 0;

/** A phase's backlog, from the loads of every phase up to it. */
export function backlogOf(loads: PipelineLoads, phase: Phase): Backlog {
  const own = loads.phases.get(phase) ?? { waiting: 0, delayed: 0, active: 0 };
  // An event brings work only to the processors downstream of its own: the events of the phase's
  // own tables and of those after it (their commits go on through a cascade's tail) never hold
  // the phase's last batch.
  const upstreamBusy =
    loads.unhandledFor.has(0) || loads.unhandledFor.has(phase) || PHASES.some((p) => p < phase && (busy(loads.phases.get(p)) || busy(loads.commits.get(p))));
  return { waiting: own.waiting + own.delayed, active: own.active, upstreamBusy };
}

/** The jobs of every phase up to `upTo`, and of the commits of the tables they write, in one round trip. */
export async function pipelineLoads(ctx: Pick<PipelineContext, 'redis' | 'queues' | 'registry' | 'keys'>, upTo: Phase): Promise<PipelineLoads> {
  const queues: { phase: Phase; commit: boolean; queue: { toKey(type: string): string } }[] = [];
  for (const phase of PHASES.filter((p) => p <= upTo)) {
    queues.push({ phase, commit: false, queue: ctx.queues.phase(phase) });
    // Only upstream phases' tables matter; the table's own phase's commits are its own.
    if (phase === upTo) continue;
    const tables = new Set(
      ctx.registry
        .transforms()
        .filter((d) => d.phase === phase)
        .map((d) => tableId(d.table)),
    );
    for (const table of tables) queues.push({ phase, commit: true, queue: ctx.queues.commit(table) });
  }
  const multi = ctx.redis.multi();
  for (const { queue } of queues) countJobs(multi, queue);
  // The stream's newest event, each consumer group's last delivered one and pending count, and
  // the tracker's oldest pending one.
  multi.xrevrange(ctx.keys.events(), '+', '-', 'COUNT', 1).xinfo('GROUPS', ctx.keys.events()).xpending(ctx.keys.events(), TRACKER_GROUP);
  const res = await multi.exec();
  const at = 4 * queues.length;
  const newest = (res?.[at]?.[1] as [string, string[]][] | undefined)?.[0]?.[0];
  // No stream yet (or no tracker group) is an error reply: no events, none unhandled.
  const groups = res?.[at + 1]?.[0] ? [] : ((res?.[at + 1]?.[1] as unknown[] | undefined) ?? []);
  const oldestPending = res?.[at + 2]?.[0] ? undefined : (res?.[at + 2]?.[1] as unknown[] | undefined)?.[1];
  const from = unhandledSince(newest, groups, typeof oldestPending === 'string' ? oldestPending : undefined);
  const loads: PipelineLoads = { phases: new Map(), commits: new Map(), unhandledFor: from === undefined ? new Set() : await phasesFedFrom(ctx, from) };
  queues.forEach(({ phase, commit }, i) => {
    const into = commit ? loads.commits : loads.phases;
    const sum = into.get(phase) ?? { waiting: 0, delayed: 0, active: 0 };
    const load = loadAt(res, i);
    into.set(phase, { waiting: sum.waiting + load.waiting, delayed: sum.delayed + load.delayed, active: sum.active + load.active });
  });
  return loads;
}

/**
 * Where the events the dependency tracker's group has not acknowledged, or not been given yet,
 * begin: an XRANGE start (its oldest pending event, else just after its last delivered one), or
 * undefined when it has handled every event. Only its group: another reader of the stream (the
 * Pub/Sub relay) may lag, or have stopped for good, without holding up any phase.
 */
function unhandledSince(newest: string | undefined, groups: readonly unknown[], oldestPending: string | undefined): string | undefined {
  for (const group of groups) {
    const info = infoRecord(group);
    if (String(info.name) !== TRACKER_GROUP) continue;
    const delivered = String(info['last-delivered-id'] ?? '0-0');
    if (Number(info.pending ?? 0) > 0) return oldestPending ?? '-';
    if (newest !== undefined && compareStreamIds(newest, delivered) > 0) return `(${delivered}`;
  }
  return undefined;
}

/** Unhandled events looked at for their processors; past it, any phase may be on its way. */
const UNHANDLED_LOOKED_AT = 512;

const EVERY_PHASE: ReadonlySet<number> = new Set([0]);

/**
 * The phases downstream of the processors of the events from `start` on (some of them handled
 * already, between pending ones: that errs toward gathering). `EVERY_PHASE` when one names no
 * processor of the registry, or when there are more than `UNHANDLED_LOOKED_AT`.
 */
async function phasesFedFrom(ctx: Pick<PipelineContext, 'redis' | 'registry' | 'keys'>, start: string): Promise<ReadonlySet<number>> {
  const entries = (await ctx.redis.xrange(ctx.keys.events(), start, '+', 'COUNT', UNHANDLED_LOOKED_AT)) as [string, string[]][];
  if (entries.length >= UNHANDLED_LOOKED_AT) return EVERY_PHASE;
  const processors = new Set<string>();
  for (const [, fields] of entries) {
    let name: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'processor') name = fields[i + 1];
    if (name === undefined || !ctx.registry.has(name)) return EVERY_PHASE;
    processors.add(name);
  }
  const phases = new Set<number>();
  for (const name of processors) for (const d of ctx.registry.downstream(name)) phases.add(d.phase);
  return phases;
}

/**
 * Whether more of the phase's slices are on their way: a job waits, or one runs besides the
 * caller's own when the caller is a phase job still running (a staging runs inside its job; the
 * gate's own call counts one too many, which only errs toward gathering).
 */
export function moreComing(backlog: { waiting: number; active: number }, callerActive = true): boolean {
  return backlog.waiting > 0 || backlog.active > (callerActive ? 1 : 0);
}
