/**
 * `nba_orchestration.streaming_conflict_log`: one row per event of a streaming-buffer
 * conflict, with the pipeline team's columns (seed 002). A conflict is one slice of one
 * table that met rows still in BigQuery's streaming buffer; its rows share `conflict_id`:
 * one per try that met the buffer (`resolved` false, the wait in `delay_seconds`), then one
 * final row — resolved (`auto_retry`, or `manual` after `phasegate retry`) or deferred
 * (`timeout`, still unresolved).
 *
 * Seed 002 partitions by DATE(timestamp); a phasegate table is partitioned by its slice
 * column, so this one is partitioned by `game_date` — the slice the conflict is about —
 * and clustered as the seed asks.
 */
import { col, key } from '../processors/columns.ts';
import type { LogTableDef } from '../processors/types.ts';

export const CONFLICT_TYPES = ['streaming_buffer', 'concurrent_dml', 'quota_exceeded'] as const;
export type ConflictType = (typeof CONFLICT_TYPES)[number];
export const RESOLUTION_METHODS = ['auto_retry', 'manual', 'force_mode', 'timeout'] as const;
export type ResolutionMethod = (typeof RESOLUTION_METHODS)[number];

export const streamingConflictLog: LogTableDef = {
  kind: 'log',
  name: 'streaming_conflict_log',
  description: 'every streaming-buffer conflict a commit met, each try and how it ended',
  table: {
    dataset: 'nba_orchestration',
    table: 'streaming_conflict_log',
    writeMode: 'append',
    sliceColumn: 'game_date',
    // One conflict has one row per try that met the buffer, and one final row.
    primaryKey: ['conflict_id', 'retry_attempt', 'resolved'],
    clusterBy: ['processor_name', 'game_date'],
    columns: [
      key('conflict_id', 'STRING', 'the conflict (one slice of one table), shared by its rows'),
      key('timestamp', 'TIMESTAMP', 'when this event happened'),
      key('processor_name', 'STRING', 'the processor whose slice conflicted'),
      col('game_id', 'STRING', 'null: phasegate commits whole dates, the slice is game_date'),
      key('game_date', 'DATE', 'the slice that met the streaming buffer'),
      col('conflict_type', 'STRING', "'streaming_buffer', 'concurrent_dml' or 'quota_exceeded'"),
      key('retry_attempt', 'INT64', 'how many times this conflict has met the buffer so far'),
      col('max_retries', 'INT64', 'tries that fit in the maximum wait before the slice is deferred'),
      col('delay_seconds', 'INT64', 'the wait before the next try (BigQuery seconds); null on the final row'),
      key('resolved', 'BOOL', 'true on the row saying the slice was committed'),
      col('resolution_time', 'TIMESTAMP', 'when the slice was committed'),
      col('resolution_method', 'STRING', "'auto_retry', 'manual', 'force_mode' or 'timeout' (deferred)"),
      col('rows_affected', 'INT64', 'staged rows of the slice'),
      col('error_message', 'STRING', "BigQuery's text, or why the slice was deferred"),
      col('details', 'JSON', 'table, batch, job, oldest buffer entry, next try'),
    ],
  },
};
