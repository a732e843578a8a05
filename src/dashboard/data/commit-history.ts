/**
 * Commit history read from the `committed` events stream (`keys.events()`).
 *
 * Why the stream and not the commit queues' completed jobs: commit queues keep only their
 * last 200 completed jobs (and some complete with nothing to take), while the stream gets
 * exactly one entry per committed slice, carries the table, rows and batch id, survives job
 * cleanup, and its entry ids are millisecond timestamps — so "the last 10 s" or "the last hour"
 * is one XRANGE by id. One group commit (one table operation) is one distinct batch id.
 * Failed statements are not in the stream; the daily budget counter (`gate.tableOpsToday`)
 * counts those.
 */
import type { PipelineContext } from '../../queues/context.ts';

export interface CommitPoint {
  /** Epoch ms the event was appended (the stream id's time part). */
  at: number;
  id: string;
  table: string;
  processor: string;
  rows: number;
  batchId: string;
}

/** Reading is capped so one busy hour cannot make a page slow; the cap is far above a 4-season backfill. */
export const MAX_EVENTS_READ = 200_000;

function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function toPoint(id: string, fields: readonly string[]): CommitPoint {
  return {
    at: Number(id.split('-')[0]),
    id,
    table: field(fields, 'table') ?? '',
    processor: field(fields, 'processor') ?? '',
    rows: Number(field(fields, 'rows') ?? 0),
    batchId: field(fields, 'batchId') ?? '',
  };
}

/** Events with id after `afterId` (exclusive) or at/after `sinceMs`, oldest first. */
export async function readCommits(ctx: PipelineContext, from: { sinceMs: number } | { afterId: string }, limit = MAX_EVENTS_READ): Promise<CommitPoint[]> {
  const start = 'afterId' in from ? `(${from.afterId}` : String(Math.max(0, Math.floor(from.sinceMs)));
  const out: CommitPoint[] = [];
  let cursor = start;
  while (out.length < limit) {
    const batch = Math.min(10_000, limit - out.length);
    const entries = await ctx.redis.xrange(ctx.keys.events(), cursor, '+', 'COUNT', batch);
    for (const [id, fields] of entries) out.push(toPoint(id, fields));
    const last = entries.at(-1);
    if (!last || entries.length < batch) break;
    cursor = `(${last[0]}`;
  }
  return out;
}

/** Table operations (distinct group commits) per table among the points. */
export function operationsByTable(points: readonly CommitPoint[]): Map<string, number> {
  const batches = new Map<string, Set<string>>();
  for (const p of points) {
    const set = batches.get(p.table) ?? new Set<string>();
    set.add(p.batchId);
    batches.set(p.table, set);
  }
  return new Map([...batches].map(([t, s]) => [t, s.size]));
}

export interface Bucket {
  start: number;
  rows: number;
  commits: number;
  slices: number;
}

/** Per-interval rows, slices and distinct commits from `from` to `to` (epoch ms). */
export function bucketize(points: readonly CommitPoint[], from: number, to: number, stepMs: number, table?: string): Bucket[] {
  const n = Math.max(1, Math.ceil((to - from) / stepMs));
  const buckets: Bucket[] = Array.from({ length: n }, (_, i) => ({ start: from + i * stepMs, rows: 0, commits: 0, slices: 0 }));
  const seen: Set<string>[] = Array.from({ length: n }, () => new Set());
  for (const p of points) {
    if (table !== undefined && p.table !== table) continue;
    const i = Math.floor((p.at - from) / stepMs);
    const b = buckets[i];
    if (!b || i < 0) continue;
    b.rows += p.rows;
    b.slices += 1;
    const s = seen[i] as Set<string>;
    if (!s.has(p.batchId)) {
      s.add(p.batchId);
      b.commits += 1;
    }
  }
  return buckets;
}
