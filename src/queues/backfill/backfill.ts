/**
 * A backfill: a named request over a set of dates for some processors. Its per-date status
 * is read from the status store by the CLI, the dashboard and `status --json`.
 */

import { randomBytes } from 'node:crypto';
import { InputError } from '../../errors/input-error.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { ProcessorDef } from '../../processors/types.ts';
import type { PipelineContext } from '../context.ts';
import { enqueueSlices } from '../enqueue.ts';
import { markRedisEpoch } from '../redis-epoch.ts';
import { countCells, type RunGraph, runGraph } from '../runs/graph.ts';
import type { BackfillRecord } from '../runs/record.ts';
import type { SliceState, SliceStatus } from '../status-store.ts';

export interface BackfillRequest {
  processors: ProcessorDef[];
  /** Game dates, ascending. */
  dates: string[];
  priority?: number | undefined;
  cascade?: boolean | undefined;
  /** Per processor, only these dates (retry of a failed-dates file). */
  only?: Record<string, string[]> | undefined;
  /** Let a slice commit fewer games or rows than the warehouse holds for it (`--allow-shrink`). */
  allowShrink?: boolean | undefined;
  /** Let a commit move a game the warehouse holds under another date (`--allow-move`). */
  allowMove?: boolean | undefined;
  /**
   * Downstream processors to start directly for some dates: their inputs are already in the
   * warehouse, so no upstream commit will come to start them (a resumed cascade).
   */
  startDownstream?: Record<string, string[]> | undefined;
}

export type { BackfillRecord } from '../runs/record.ts';

export function newBackfillId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `bf-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Requested processors whose upstream is not itself requested start the work. */
export function roots(req: BackfillRequest): ProcessorDef[] {
  const names = new Set(req.processors.map((p) => p.name));
  return req.processors.filter((p) => p.kind === 'scraper' || !p.dependsOn.some((d) => names.has(d)));
}

function datesFor(req: BackfillRequest, processor: string): string[] {
  return req.only ? (req.only[processor] ?? []) : req.dates;
}

/**
 * Which (processor, dates) to enqueue now. A full backfill starts at its roots; the rest
 * follow their upstream. A retry names dates per processor, so a processor's date is
 * enqueued directly unless a requested upstream re-runs that same date (and will carry it).
 */
export function directWork(ctx: PipelineContext, req: BackfillRequest): [ProcessorDef, string[]][] {
  if (!req.only) return roots(req).map((p) => [p, req.dates]);
  const only = req.only;
  const requested = new Set(req.processors.map((p) => p.name));
  return req.processors
    .map((p): [ProcessorDef, string[]] => {
      const carried = new Set(
        req.processors
          .filter((u) => u.name !== p.name && requested.has(u.name) && ctx.registry.downstream(u.name).some((d) => d.name === p.name))
          .flatMap((u) => only[u.name] ?? []),
      );
      return [p, (only[p.name] ?? []).filter((d) => !carried.has(d))];
    })
    .filter(([, dates]) => dates.length > 0);
}

/**
 * The direct work in the order it is queued: a commit's worth of dates of each root in turn,
 * then the next dates. A phase's queue runs its jobs first in, first out, so all of one root's
 * dates before the next root's kept the second root's table from its first commit until the
 * first root's last job had run — and everything downstream that reads both waited with it.
 * One root has no one to take turns with: its dates go as they are, in one call.
 */
export function queueOrder(ctx: PipelineContext, work: readonly [ProcessorDef, string[]][]): [ProcessorDef, string[]][] {
  if (work.length < 2) return [...work];
  const turn = ctx.config.table.commitMaxSlices;
  const longest = Math.max(0, ...work.map(([, dates]) => dates.length));
  const order: [ProcessorDef, string[]][] = [];
  for (let from = 0; from < longest; from += turn) {
    for (const [root, dates] of work) {
      const some = dates.slice(from, from + turn);
      if (some.length > 0) order.push([root, some]);
    }
  }
  return order;
}

/** A request's directly started downstream dates, when it has any (see cascade.ts). */
function startDownstreamOf(req: BackfillRequest): Record<string, string[]> | undefined {
  const start = req.startDownstream;
  return start && Object.values(start).some((d) => d.length > 0) ? start : undefined;
}

export async function startBackfill(ctx: PipelineContext, req: BackfillRequest): Promise<BackfillRecord & { added: number; alreadyQueued: number }> {
  if (req.dates.length === 0) throw new InputError('no game dates in the requested range');
  const record: BackfillRecord = {
    id: newBackfillId(),
    createdAt: new Date().toISOString(),
    processors: req.processors.map((p) => p.name),
    dates: req.dates,
    priority: req.priority ?? 10,
    cascade: req.cascade ?? false,
    ...(req.allowShrink ? { allowShrink: true } : {}),
    ...(req.allowMove ? { allowMove: true } : {}),
    ...(req.only ? { only: req.only } : {}),
    ...(startDownstreamOf(req) ? { startDownstream: startDownstreamOf(req) } : {}),
  };
  // When phasegate first wrote to this Redis: `status` tells from it when its counts restarted.
  await markRedisEpoch(ctx.redis, ctx.keys);
  await ctx.redis
    .multi()
    .hset(ctx.keys.backfill(record.id), { definition: JSON.stringify(record) })
    .zadd(ctx.keys.backfills(), Date.now(), record.id)
    .exec();
  const targets = record.processors;
  // Downstream requested processors are pending from the start: they run when upstream lands.
  for (const p of req.processors) await ctx.statuses.setMany(p.name, datesFor(req, p.name), { status: 'pending', backfillId: record.id });
  let added = 0;
  let alreadyQueued = 0;
  for (const [root, dates] of queueOrder(ctx, directWork(ctx, req))) {
    const res = await enqueueSlices(ctx, root, dates, {
      backfillId: record.id,
      targets,
      cascade: record.cascade,
      origin: req.only ? 'retry' : 'backfill',
      priority: record.priority,
    });
    added += res.added;
    alreadyQueued += res.alreadyQueued;
  }
  return { ...record, added, alreadyQueued };
}

/**
 * Backfill records this process has read, the latest few. A record is written once, when the
 * backfill starts, and never changed, so it can be kept; the commit path reads the record of
 * every batch (its `--allow-*` flags, whether it finished) and a long backfill's dates made
 * that a parse of tens of kilobytes per commit.
 */
const recordsRead = new WeakMap<PipelineContext, Map<string, BackfillRecord>>();
const RECORDS_KEPT = 16;

export async function getBackfill(ctx: PipelineContext, id: string): Promise<BackfillRecord> {
  let kept = recordsRead.get(ctx);
  const hit = kept?.get(id);
  if (hit) return hit;
  const raw = await ctx.redis.hget(ctx.keys.backfill(id), 'definition');
  if (!raw) throw new NotFoundError(`unknown backfill "${id}"`);
  const record = JSON.parse(raw) as BackfillRecord;
  if (!kept) {
    kept = new Map();
    recordsRead.set(ctx, kept);
  }
  if (kept.size >= RECORDS_KEPT) kept.delete(kept.keys().next().value as string);
  kept.set(id, record);
  return record;
}

export async function listBackfills(ctx: PipelineContext, limit = 20): Promise<BackfillRecord[]> {
  const ids = await ctx.redis.zrevrange(ctx.keys.backfills(), 0, limit - 1);
  return Promise.all(ids.map((id) => getBackfill(ctx, id)));
}

export interface BackfillProgress {
  id: string;
  /** Slices of the run: every processor it reaches, each on its own dates. */
  total: number;
  /** Every slice the run reaches is terminal (its whole graph: a cascade's downstream phases too). */
  done: boolean;
  perProcessor: Record<string, Record<SliceState, number>>;
  /** Per processor the statuses of `record.dates`, in order (undefined where the run has no slice or no status). */
  statuses: Record<string, (SliceStatus | undefined)[]>;
  graph: RunGraph;
}

/**
 * A run's progress from its graph (src/queues/runs/graph.ts): the latest status of each of its
 * slices, a slice its inputs have ruled out counted as what they decide.
 */
export async function backfillProgress(ctx: PipelineContext, record: BackfillRecord): Promise<BackfillProgress> {
  return backfillProgressOf(record, await runGraph(ctx, record));
}

/** `backfillProgress` from a graph already read (the end of a wait). */
export function backfillProgressOf(record: BackfillRecord, graph: RunGraph): BackfillProgress {
  const perProcessor: Record<string, Record<SliceState, number>> = {};
  const statuses: Record<string, (SliceStatus | undefined)[]> = {};
  let total = 0;
  for (const [processor, cells] of graph.cells) {
    perProcessor[processor] = countCells(cells.values());
    statuses[processor] = record.dates.map((d) => cells.get(d)?.status);
    total += cells.size;
  }
  return { id: record.id, total, done: graph.done, perProcessor, statuses, graph };
}
