/**
 * Streaming-buffer conflicts per table over a time window, as the dashboard shows them.
 * Issue 3 logs every conflict as a row of `nba_orchestration.streaming_conflict_log`
 * (columns of seed 002: conflict_id, timestamp, processor_name, game_date, conflict_type,
 * resolved, resolution_method, …). This module is the one place the dashboard reads them.
 *
 * PLUG-IN POINT: `readConflicts` answers `undefined` ("no conflict data") until a source
 * exists. When the conflict log lands, make it query that table (parameterized; the warehouse
 * is `ctx.warehouse()` for BigQuery, or the in-process DuckDB — a second process must not
 * open the DuckDB file the workers hold) or a Redis summary the commit path keeps, and return
 * one `ConflictSummary` per table. A different reader can be passed as `DashboardOptions.conflicts`.
 */
import type { PipelineContext } from '../../queues/context.ts';

export interface ConflictSummary {
  table: string;
  total: number;
  resolved: number;
  /** Count per conflict type (e.g. `streaming_buffer`, `serialize`). */
  byType: Record<string, number>;
  /** Count per resolution (e.g. `delayed_retry`, `deferred`). */
  byResolution: Record<string, number>;
  /** When the last one happened (ISO-8601). */
  latestAt?: string | undefined;
}

/** Conflicts since `sinceMs` (epoch ms), one summary per table; `undefined` when there is no conflict data (yet). */
export type ConflictReader = (ctx: PipelineContext, sinceMs: number) => Promise<ConflictSummary[] | undefined>;

export const readConflicts: ConflictReader = async () => undefined;
