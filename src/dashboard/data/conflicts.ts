/**
 * Streaming-buffer conflicts per table over a time window, as the dashboard shows them: read
 * from the conflict events the commit path keeps in Redis (src/queues/conflicts/log.ts), so
 * the dashboard never opens the DuckDB file the workers hold. The full history is the
 * `nba_orchestration.streaming_conflict_log` table (`phasegate conflicts`).
 * A different reader can be passed as `DashboardOptions.conflicts`.
 */

import { type ConflictSummary, readConflictSummaries } from '../../queues/conflicts/log.ts';
import type { PipelineContext } from '../../queues/context.ts';

export type { ConflictSummary };

/** Conflicts since `sinceMs` (epoch ms), one summary per table; `undefined` when there is no conflict data. */
export type ConflictReader = (ctx: PipelineContext, sinceMs: number) => Promise<ConflictSummary[] | undefined>;

export const readConflicts: ConflictReader = (ctx, sinceMs) => readConflictSummaries(ctx, sinceMs);
