/**
 * Circuit-breaker state per table, as the dashboard shows it. The breaker itself (issue 3)
 * keeps its state in Redis; this module is the one place the dashboard reads it.
 *
 * PLUG-IN POINT: until the breaker module exists, `readBreaker` answers `undefined` ("no
 * breaker data") and the pages say so. When it lands, make `readBreaker` call its reader and
 * map the result to `BreakerView` — nothing else in the dashboard changes. A different
 * reader can also be passed as `DashboardOptions.breaker` (tests do this).
 */
import type { PipelineContext } from '../../queues/context.ts';

export const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

export interface BreakerView {
  state: BreakerState;
  /** When the breaker entered this state (ISO-8601). */
  since: string;
  /** When an open breaker lets a probe commit through (ISO-8601), if known. */
  reopensAt?: string | undefined;
  /** Recent commits and how many of them met a conflict (the trip condition's inputs). */
  recentCommits?: number | undefined;
  recentConflicts?: number | undefined;
}

/** Reads one table's breaker; `undefined` when there is no breaker data (yet). */
export type BreakerReader = (ctx: PipelineContext, table: string) => Promise<BreakerView | undefined>;

export const readBreaker: BreakerReader = async () => undefined;
