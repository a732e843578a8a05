/**
 * The window a statement's place in its table's rate window is counted over (table-gate.ts
 * `takeOpsSlot`): BigQuery's, plus a slack for the time between the place being stamped and the
 * statement reaching BigQuery. Pure: the commit worker waits by it and the dry run's model
 * (backfill/plan-model.ts) follows it.
 */

/**
 * Real time, not scaled: the most a statement may start after its place was stamped (the call
 * into the warehouse), so places a window apart keep statements a window apart. At most 2 % of
 * the window, the rate it costs: at a time scale that shrinks the window towards the process's
 * own delays (tests at × 200) no slack would hold it.
 */
const SLACK_MS = 50;
const SLACK_SHARE = 0.02;

/** The window places are counted over, for a rate window of `windowMs` real ms. */
export function placeWindowMs(windowMs: number): number {
  return Math.ceil(windowMs + Math.min(SLACK_MS, windowMs * SLACK_SHARE));
}
