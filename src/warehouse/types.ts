/**
 * The warehouse seam: DuckDB (embedded default, optionally behind the BigQuery rules layer)
 * or BigQuery. Every write is a group commit — ONE statement per batch of slices — so a
 * multi-year backfill costs a few dozen table operations instead of thousands.
 */
import type { Holding } from '../integrity/holdings.ts';
import type { Row, TableSpec } from '../processors/types.ts';

export interface CommitBatch {
  /**
   * Deterministic id of the commit (the commit job's id plus its attempt). BigQuery job ids
   * are derived from it so a retried `jobs.insert` cannot run the statement twice.
   */
  batchId: string;
  table: TableSpec;
  /** The slice values (dates) this batch owns: their vanished rows are deleted (merge mode). */
  slices: readonly string[];
  /** Object-store keys of the staged NDJSON files holding the batch's rows. */
  objects: readonly string[];
}

export interface CommitResult {
  /** Rows inserted, updated or deleted by the statement. */
  rowsAffected: number;
  /** Rows in the staged files. */
  rowsStaged: number;
}

export interface StreamingBufferInfo {
  /** When the oldest row still in the streaming buffer was written. */
  oldestEntryTime: Date;
  estimatedRows: number;
}

export interface TableMetadata {
  numRows: number;
  /** Present only while some rows are in the streaming buffer (BigQuery `tables.get`). */
  streamingBuffer?: StreamingBufferInfo;
}

/** Named query parameters; values only — identifiers never travel as parameters. */
export type QueryParams = Record<string, string | number | boolean | null | readonly (string | number)[]>;

export interface Warehouse {
  readonly kind: 'duckdb' | 'bigquery';
  /** Creates the dataset/schema and table if missing (partitioned by slice, clustered by key). */
  ensureTable(spec: TableSpec): Promise<void>;
  /**
   * Lands a batch with ONE statement: MERGE on the primary key that also deletes the batch
   * slices' rows that vanished (merge mode), or one INSERT … SELECT (append mode).
   * Idempotent: committing the same batch twice leaves the same rows.
   */
  commit(batch: CommitBatch): Promise<CommitResult>;
  /**
   * Read-only query in the warehouse's own dialect. Parameters are named: `$name` in DuckDB,
   * `@name` in BigQuery. Rejects statements that are not SELECT/WITH/DESCRIBE/SHOW.
   */
  query(sql: string, params?: QueryParams): Promise<Row[]>;
  /** Rows of a table for some slices, through a parameterized query. */
  readSlices(spec: TableSpec, slices: readonly string[]): Promise<Row[]>;
  /** Distinct slice values present in the table among the given ones (for --only-missing). */
  presentSlices(spec: TableSpec, slices: readonly string[]): Promise<string[]>;
  /**
   * Which of `slices` hold rows whose `column` (a TIMESTAMP, e.g. `processed_at`) is at or
   * after `since`, through a parameterized query. With `since` = the streaming buffer's
   * `oldestEntryTime`, these are the slices a MERGE cannot touch yet (BigQuery refuses
   * UPDATE/DELETE/MERGE over partitions holding streamed rows).
   */
  slicesWithRowsSince(spec: TableSpec, slices: readonly string[], since: Date, column: string): Promise<string[]>;
  /**
   * Rows held per (slice, unit) for the rows in `slices` or, when `units` is not empty, whose
   * `unitColumn` is one of `units` (wherever they are): what a batch would shrink or move.
   * `unit` is `*` for a table without a unit column. One parameterized read.
   */
  unitHoldings(spec: TableSpec, slices: readonly string[], units: readonly string[]): Promise<Holding[]>;
  tableMetadata(spec: TableSpec): Promise<TableMetadata>;
  close(): Promise<void>;
}
