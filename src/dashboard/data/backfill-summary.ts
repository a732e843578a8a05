/** One line per recent backfill: how far it is, for the overview and /metrics. */
import { type BackfillRecord, listBackfills } from '../../queues/backfill/backfill.ts';
import type { PipelineContext } from '../../queues/context.ts';
import { SLICE_STATES, type SliceState } from '../../queues/status-store.ts';
import { backfillOutcome } from './backfill-outcome.ts';

export interface BackfillSummary {
  record: BackfillRecord;
  /** Slices of every processor the backfill reaches (a cascade's downstream ones too). */
  total: number;
  /** Slices in a final state (committed, incomplete, empty, failed, deferred). */
  finished: number;
  /** Every phase it reaches is final (see backfill-outcome.ts). */
  done: boolean;
  /** Slices a later run wrote since. */
  rerun: number;
  counts: Record<SliceState, number>;
  perProcessor: Record<string, Record<SliceState, number>>;
}

export async function recentBackfills(ctx: PipelineContext, limit = 10): Promise<BackfillSummary[]> {
  const records = await listBackfills(ctx, limit).catch(() => [] as BackfillRecord[]);
  return Promise.all(
    records.map(async (record) => {
      const outcome = await backfillOutcome(ctx, record);
      const counts = Object.fromEntries(SLICE_STATES.map((s) => [s, 0])) as Record<SliceState, number>;
      for (const r of outcome.rows) for (const s of SLICE_STATES) counts[s] += r.counts[s];
      return {
        record,
        total: outcome.total,
        finished: outcome.finished,
        done: outcome.done,
        rerun: outcome.rerun,
        counts,
        perProcessor: Object.fromEntries(outcome.rows.map((r) => [r.processor, r.counts])),
      };
    }),
  );
}
