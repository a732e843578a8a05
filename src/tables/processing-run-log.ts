/**
 * `nba_orchestration.processing_run_log`: one row per run of a phase job — what ran, for
 * which slice, how it ended, how long it took. A run cut short by a crash (SIGKILL) writes
 * no row of its own; the next run of the same job notices the unfinished start and writes an
 * `interrupted` row for it, so kills stay visible.
 */
import { col, key } from '../processors/columns.ts';
import type { LogTableDef } from '../processors/types.ts';

export const RUN_STATUSES = ['succeeded', 'failed', 'retrying', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const processingRunLog: LogTableDef = {
  kind: 'log',
  name: 'processing_run_log',
  description: 'one row per phase job run: processor, slice, status, rows, duration, error',
  table: {
    dataset: 'nba_orchestration',
    table: 'processing_run_log',
    writeMode: 'append',
    sliceColumn: 'run_date',
    primaryKey: ['run_id'],
    clusterBy: ['processor', 'status'],
    columns: [
      key('run_id', 'STRING', 'one run of one phase job'),
      key('job_id', 'STRING', 'the BullMQ job id, `<processor>.<slice>`'),
      key('processor', 'STRING', 'the processor that ran'),
      key('phase', 'INT64', 'its phase, 1–5'),
      key('slice', 'DATE', 'the slice (game date) it ran for'),
      key('status', 'STRING', "'succeeded', 'failed', 'retrying' (failed, will run again) or 'interrupted' (killed)"),
      col('row_count', 'INT64', 'rows staged (transforms) or files written (scrapers)'),
      col('duration_ms', 'INT64', 'wall-clock run time'),
      col('error', 'STRING', 'the reason a person can read'),
      col(
        'notes',
        'STRING',
        'what the integrity checks said of a run that succeeded: incomplete (and which games), empty, no schedule, an allowed shrink or move',
      ),
      key('started_at', 'TIMESTAMP', 'when the run started'),
      col('finished_at', 'TIMESTAMP', 'when it ended; null for an interrupted run'),
      key('attempt', 'INT64', 'the BullMQ attempt (1-based)'),
      col('backfill_id', 'STRING', 'the backfill it belongs to'),
      key('run_date', 'DATE', 'UTC date the run started (the partition)'),
    ],
  },
};
