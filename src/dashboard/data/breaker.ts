/**
 * Circuit-breaker state per table, as the dashboard shows it: read from the breaker's own
 * Redis state (src/queues/conflicts/breaker.ts), the one place the dashboard reads it. A different
 * reader can be passed as `DashboardOptions.breaker` (tests do this).
 */
import { BREAKER_STATES, type BreakerState, readBreaker as readQueueBreaker } from '../../queues/conflicts/breaker.ts';
import type { PipelineContext } from '../../queues/context.ts';

export { BREAKER_STATES, type BreakerState };

/** The part of the breaker's state the pages and metrics use. */
export interface BreakerView {
  state: BreakerState;
  /** When the breaker entered this state (ISO-8601). */
  since: string;
  /** When an open breaker lets a probe commit through (ISO-8601), if known. */
  reopensAt?: string | undefined;
  /** Recent commits and how many of them met a conflict (the trip condition's inputs). */
  recentCommits?: number | undefined;
  recentConflicts?: number | undefined;
  /** Slices those commits tried and the share the streaming buffer held back (what the breaker judges). */
  recentSlices?: number | undefined;
  heldShare?: number | undefined;
}

/** Reads one table's breaker; `undefined` when there is no breaker data. */
export type BreakerReader = (ctx: PipelineContext, table: string) => Promise<BreakerView | undefined>;

export const readBreaker: BreakerReader = (ctx, table) => readQueueBreaker(ctx, table);
