/**
 * BigQuery's per-table quotas and limits, as BigQuery counts them: the ONE place their values
 * live. Config bounds, the rules layer, the table gates and every status page read them from
 * here, so a limit BigQuery changes is changed once.
 *
 * Sources: cloud.google.com/bigquery/quotas (sections "Data manipulation language (DML)
 * statements", "Table limits", "Partitioned tables", "Load jobs"),
 * cloud.google.com/bigquery/docs/data-manipulation-language ("UPDATE, DELETE, MERGE DML
 * concurrency") and cloud.google.com/bigquery/docs/troubleshoot-quotas.
 */

export const BIGQUERY_LIMITS = {
  /**
   * Mutating DML (UPDATE, DELETE, MERGE) running at once per table; the rest wait in a queue.
   * cloud.google.com/bigquery/docs/data-manipulation-language#update_delete_merge_dml_concurrency
   */
  runningMutatingDmlPerTable: 2,
  /**
   * Mutating DML waiting per table behind the running ones; the next one fails at once with
   * "Too many DML statements outstanding against table …, limit is 20" (troubleshoot-quotas).
   */
  queuedMutatingDmlPerTable: 20,
  /**
   * DML statements (INSERT and mutating DML alike) per table per window: "Maximum rate of DML
   * statements for each table: 25 statements every 10 seconds" (quotas, DML statements).
   */
  dmlStatementsPerTableWindow: { statements: 25, windowSeconds: 10 },
  /**
   * Table metadata update operations per table per window: loads, copies, query jobs writing
   * the table (DML included, as DESIGN.md's facts table has it) and DDL (quotas, "Maximum rate
   * of table metadata update operations per table"). Error: "Exceeded rate limits: too many
   * table update operations for this table" (`rateLimitExceeded`).
   */
  tableMetadataUpdatesPerWindow: { operations: 5, windowSeconds: 10 },
  /**
   * Table modifications per table per day: load jobs, copy jobs and query jobs that append to
   * or overwrite a destination table, failed ones included. DML statements do not count toward
   * it (quotas, "Maximum number of table modifications per day"; troubleshoot-quotas, "Your
   * table exceeded quota for imports or query appends per table").
   */
  tableModificationsPerDay: 1500,
  /**
   * Partitions one job may modify: "Maximum number of partitions modified by a single job:
   * 4,000" (quotas, Partitioned tables). A group commit touches one partition per slice.
   */
  partitionsModifiedPerJob: 4000,
  /** Source URIs of one external table definition (quotas, External tables). */
  externalTableSourceUris: 10_000,
  /** Clustering columns of a table (docs/clustered-tables, "Limitations"). */
  clusteringColumns: 4,
} as const;

/** What kind of job writes a table, as far as BigQuery's quotas tell them apart. */
export type TableWriteKind = 'dml' | 'load' | 'copy' | 'query-append';

/**
 * Whether a job of this kind spends one of the table's daily modifications. DML does not:
 * "DML statements don't count toward the number of table modifications per day" (quotas).
 * phasegate's group commit is a MERGE (or INSERT … SELECT) over a temporary external table —
 * DML — so it never spends the daily budget; the benchmark's per-job mode, which loads each
 * date into a staging table first, does.
 */
export function countsAsDailyModification(kind: TableWriteKind): boolean {
  return kind !== 'dml';
}

/**
 * Statements one group-commit job may run: its MERGE, and once more for the slices left after
 * a streaming-buffer conflict (src/queues/commit/worker.ts, commitMerge). The gate's rate cap
 * counts jobs, so jobs × this must stay within the DML window.
 */
export const STATEMENTS_PER_COMMIT_JOB = 2;

/**
 * The most commit jobs a table's gate may start per window: bounded by the table metadata
 * update rate (DML counts toward it) and by the DML statement rate for the statements a job
 * may run.
 */
export const MAX_COMMIT_JOBS_PER_WINDOW = Math.min(
  BIGQUERY_LIMITS.tableMetadataUpdatesPerWindow.operations,
  Math.floor(BIGQUERY_LIMITS.dmlStatementsPerTableWindow.statements / STATEMENTS_PER_COMMIT_JOB),
);

/** Thousands separators, the way the limits are written in BigQuery's docs (1,500). */
export function formatLimit(n: number): string {
  return n.toLocaleString('en-US');
}

/** One line per limit, for status pages and the dry run: what BigQuery allows per table. */
export function limitsSummary(): string {
  const L = BIGQUERY_LIMITS;
  return (
    `BigQuery runs at most ${L.runningMutatingDmlPerTable} mutating DML per table at once (${L.queuedMutatingDmlPerTable} queued), ` +
    `${L.dmlStatementsPerTableWindow.statements} DML statements and ${L.tableMetadataUpdatesPerWindow.operations} table updates per ${L.dmlStatementsPerTableWindow.windowSeconds} s, ` +
    `at most ${formatLimit(L.partitionsModifiedPerJob)} partitions per statement, and ${formatLimit(L.tableModificationsPerDay)} table modifications ` +
    `(loads, copies, query appends — not DML) per table per day`
  );
}
