/**
 * Re-enqueues failed or deferred slices: what "retry failed" on the backfill page and
 * "retry" on the failures page do. Slices stay in their backfill (same id), so the grid the
 * person is looking at shows them going pending → running → committed.
 */
import { InputError } from '../../errors/input-error.ts';
import { type BackfillRecord, getBackfill } from '../../queues/backfill/backfill.ts';
import type { PipelineContext } from '../../queues/context.ts';
import { enqueueSlices } from '../../queues/enqueue.ts';
import { PRIORITY } from '../../queues/names.ts';
import { RETRYABLE_STATES } from './failed-dates.ts';

export interface SliceRef {
  processor: string;
  slice: string;
}

export interface RetryResult {
  /** Phase jobs added now. */
  enqueued: number;
  /** Slices set pending that run when their (also retried) upstream lands. */
  carried: number;
  /** Slices whose job was still queued or running. */
  alreadyQueued: number;
  /** Slices that were no longer failed or deferred when the request came (left alone). */
  skipped: number;
}

async function recordOf(ctx: PipelineContext, id: string | undefined, cache: Map<string, BackfillRecord | undefined>): Promise<BackfillRecord | undefined> {
  if (!id) return undefined;
  if (!cache.has(id)) cache.set(id, await getBackfill(ctx, id).catch(() => undefined));
  return cache.get(id);
}

/**
 * Retries the given slices if they are (still) failed or deferred. A transform slice whose
 * upstream slice is retried in the same request is only set pending: the upstream job
 * carries it down when it lands, exactly as in the original run.
 */
export async function retrySlices(ctx: PipelineContext, refs: readonly SliceRef[]): Promise<RetryResult> {
  const result: RetryResult = { enqueued: 0, carried: 0, alreadyQueued: 0, skipped: 0 };
  const byProcessor = new Map<string, string[]>();
  for (const r of refs) {
    if (!ctx.registry.has(r.processor)) throw new InputError(`unknown processor "${r.processor}"`);
    const list = byProcessor.get(r.processor) ?? [];
    if (!list.includes(r.slice)) list.push(r.slice);
    byProcessor.set(r.processor, list);
  }
  // Read every status first so the upstream check sees the state before anything changed.
  const retried = new Map<string, Map<string, string | undefined>>();
  for (const [processor, slices] of byProcessor) {
    const statuses = await ctx.statuses.getMany(processor, slices);
    const keep = new Map<string, string | undefined>();
    slices.forEach((slice, i) => {
      const s = statuses[i];
      if (s && RETRYABLE_STATES.has(s.status)) keep.set(slice, s.backfillId);
      else result.skipped += 1;
    });
    if (keep.size > 0) retried.set(processor, keep);
  }
  const records = new Map<string, BackfillRecord | undefined>();
  for (const [processor, slices] of retried) {
    const def = ctx.registry.get(processor);
    const upstream = def.kind === 'transform' ? def.dependsOn : [];
    // Group by backfill: a job carries its backfill's targets, cascade and priority.
    const groups = new Map<string | undefined, { direct: string[]; carried: string[] }>();
    for (const [slice, backfillId] of slices) {
      const g = groups.get(backfillId) ?? { direct: [], carried: [] };
      const record = await recordOf(ctx, backfillId, records);
      // The upstream job carries work down only to its backfill's targets (or all, with cascade).
      const target = record !== undefined && (record.cascade || record.processors.includes(processor));
      const carriedByUpstream = target && upstream.some((u) => retried.get(u)?.has(slice) === true && retried.get(u)?.get(slice) === backfillId);
      (carriedByUpstream ? g.carried : g.direct).push(slice);
      groups.set(backfillId, g);
    }
    for (const [backfillId, g] of groups) {
      const record = await recordOf(ctx, backfillId, records);
      await ctx.statuses.setMany(processor, g.carried, { status: 'pending', backfillId });
      result.carried += g.carried.length;
      if (g.direct.length === 0) continue;
      const res = await enqueueSlices(ctx, def, g.direct, {
        backfillId,
        targets: record?.processors ?? [processor],
        cascade: record?.cascade ?? false,
        origin: 'retry',
        priority: record?.priority ?? (backfillId ? PRIORITY.backfill : PRIORITY.live),
      });
      result.enqueued += res.added;
      result.alreadyQueued += res.alreadyQueued;
    }
  }
  return result;
}

/** A retry's result in one line (the audit log's outcome). */
export function retryOutcome(r: RetryResult): string {
  return `ok: ${r.enqueued} enqueued, ${r.carried} carried, ${r.alreadyQueued} already queued, ${r.skipped} skipped`;
}
