/** One line per recent backfill: how far it is, for the overview and /metrics. */
import { type BackfillRecord, backfillProgress, listBackfills } from '../../queues/backfill.ts';
import type { PipelineContext } from '../../queues/context.ts';
import { SLICE_STATES, type SliceState } from '../../queues/status-store.ts';

export interface BackfillSummary {
  record: BackfillRecord;
  total: number;
  /** Slices in a final state (committed, failed, deferred). */
  finished: number;
  done: boolean;
  counts: Record<SliceState, number>;
  perProcessor: Record<string, Record<SliceState, number>>;
}

export async function recentBackfills(ctx: PipelineContext, limit = 10): Promise<BackfillSummary[]> {
  const records = await listBackfills(ctx, limit).catch(() => [] as BackfillRecord[]);
  return Promise.all(
    records.map(async (record) => {
      const progress = await backfillProgress(ctx, record);
      const counts = Object.fromEntries(SLICE_STATES.map((s) => [s, 0])) as Record<SliceState, number>;
      for (const c of Object.values(progress.perProcessor)) for (const s of SLICE_STATES) counts[s] += c[s];
      return {
        record,
        total: progress.total,
        finished: counts.committed + counts.failed + counts.deferred,
        done: progress.done,
        counts,
        perProcessor: progress.perProcessor,
      };
    }),
  );
}
