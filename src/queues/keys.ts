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
  /** Per table per UTC day count of table operations, for the daily budget. */
  tableOps(table: string, day: string): string;
  /** Stream of `committed` events (one per committed slice). */
  events(): string;
  /** Hash slice → the stream id that triggered the tracker's last job for a processor. */
  trigger(processor: string): string;
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
    tableOps: (table, day) => `${base}:table-ops:${table}:${day}`,
    events: () => `${base}:events`,
    trigger: (processor) => `${base}:events:trigger:${processor}`,
  };
}
