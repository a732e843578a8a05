/**
 * Every Redis key phasegate itself owns (BullMQ owns its own under the same prefix), derived
 * in this one place.
 */
export interface Keys {
  /** Hash slice → PendingSlice JSON: staged rows waiting for a table's next commit. */
  pending(table: string): string;
  /** Counter naming the table's next commit job; bumped when a commit takes its batch. */
  commitSeq(table: string): string;
  /** JSON of the batch a commit job took, kept until it lands so a retry commits the same. */
  batch(table: string, jobId: string): string;
  /** Hash slice → SliceStatus JSON for one processor. */
  status(processor: string): string;
  /** Hash: a backfill's definition. */
  backfill(id: string): string;
  /** Sorted set of backfill ids by creation time. */
  backfills(): string;
  /**
   * Hash `<processor>/<slice>` → SliceStatus JSON: the last status each slice had in one
   * backfill (its own outcome, which a later run of the slice does not overwrite); expiring.
   */
  backfillStatuses(id: string): string;
  /** Per table per UTC day count of DML statements (group commits): shown, never capped — DML is not a table modification. */
  tableOps(table: string, day: string): string;
  /** Per table per UTC day count of table modifications (load, copy, query-append jobs), against the daily budget. */
  tableModifications(table: string, day: string): string;
  /** Stream of `committed` events (one per committed slice). */
  events(): string;
  /** Hash slice → the stream id that triggered the tracker's last job for a processor. */
  trigger(processor: string): string;
  /** Hash date → the last audit's coverage of the date (JSON), for readers that must not open the warehouse. */
  coverage(): string;
  /** Hash: the last audit run (id, window, when, outcome). */
  coverageRun(): string;
  /** Marker that a coverage event (a game no source has, a digest line) was announced. */
  coverageAnnounced(eventId: string): string;
}

export function keysFor(prefix: string): Keys {
  const base = `${prefix}:pg`;
  return {
    pending: (table) => `${base}:pending:${table}`,
    commitSeq: (table) => `${base}:commit-seq:${table}`,
    batch: (table, jobId) => `${base}:batch:${table}:${jobId}`,
    status: (processor) => `${base}:status:${processor}`,
    backfill: (id) => `${base}:backfill:${id}`,
    backfills: () => `${base}:backfills`,
    backfillStatuses: (id) => `${base}:backfill-statuses:${id}`,
    tableOps: (table, day) => `${base}:table-ops:${table}:${day}`,
    tableModifications: (table, day) => `${base}:table-modifications:${table}:${day}`,
    events: () => `${base}:events`,
    trigger: (processor) => `${base}:events:trigger:${processor}`,
    coverage: () => `${base}:coverage:dates`,
    coverageRun: () => `${base}:coverage:last-run`,
    coverageAnnounced: (eventId) => `${base}:coverage:announced:${eventId}`,
  };
}
