/**
 * The warehouse seam: DuckDB (embedded default, optionally behind the BigQuery rules layer)
 * or BigQuery. Every write is a group commit — ONE statement per batch of slices — so a
 * multi-year backfill costs a few dozen table operations instead of thousands.
 */
import type { GuardedSlice, Holding } from '../integrity/holdings.ts';
import type { TableWriteKind } from '../limits/bigquery.ts';
import type { DateRange, Row, TableSpec } from '../processors/types.ts';
import type { WarehouseAdmin } from './admin.ts';

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
  /**
   * Slices outside the batch that hold keys the batch re-dates (an allowed move, found by the
   * gate's `unitHoldings` read). The statement reads and rewrites only the batch's partitions
   * plus these; rows there that the batch does not stage are left alone. @defaultValue []
   */
  moveFrom?: readonly string[];
  /** The units (game ids) those moves take out of `moveFrom`: their rows there are deleted. @defaultValue [] */
  moveUnits?: readonly string[];
  /**
   * Every slice of the batch with the units staging counted for it (merge mode). The statement
   * itself judges them against what the table holds when it runs, as the gate's read would
   * (`wouldHarm`, src/integrity/holdings.ts): if it would shrink a slice or move a key from
   * another slice, it writes nothing and fails with `IntegrityGuardError`. On BigQuery that is
   * one query job where a read before the MERGE was a second. Without it the caller has judged
   * the batch already.
   */
  guard?: readonly GuardedSlice[];
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

/**
 * What a table holds of one game (its unit) on one slice, for the source-coverage audit: the
 * row count and, when the table has them, the distinct `data_quality_tier` and
 * `primary_source` values of the game's rows (sorted; empty when the table has no such column).
 */
export interface GameHolding {
  slice: string;
  unit: string;
  rows: number;
  tiers: string[];
  sources: string[];
}

export type { DateRange } from '../processors/types.ts';
export type { DescribedColumn, TableDescription } from './admin.ts';

/** What a table holds over a range of slices (the demo's report). */
export interface TableSummary {
  rows: number;
  /** Distinct slices holding rows. */
  dates: number;
  /** Distinct values of the unit column (games); 0 for a table without one. */
  games: number;
  /** Rows with a `quality_issues` entry; 0 for a table without that column. */
  warnings: number;
}

export interface PredictionSampleRequest {
  /** The predictions table (player_points_predictions). */
  predictions: TableSpec;
  /** The table with what players then scored (player_game_summary). */
  actuals: TableSpec;
  /** The latest slice with predictions in this range is sampled. */
  range: DateRange;
  /** @defaultValue 5 */
  limit?: number;
}

/** One prediction next to what the player then scored. */
export interface PredictionSample {
  gameDate: string;
  player: string;
  team: string;
  predicted: number;
  actual: number;
  basis: string;
}

/**
 * The report queries: reads (and one view) for people and dashboards, none on the commit path.
 * Their SQL is written once (`reports/report-sql.ts`) in each warehouse's dialect.
 */
export interface WarehouseReports {
  /**
   * Per (slice, unit) of `slices`: the rows a table with a unit column holds, with their tiers
   * and sources (see `GameHolding`). One parameterized read; SQL in `reports/report-sql.ts`.
   */
  gameHoldings(spec: TableSpec, slices: readonly string[]): Promise<GameHolding[]>;
  /**
   * Creates the game-level view `view` (in the log's dataset) over the source-coverage log, or
   * replaces it when its definition changed; the log table must exist. SQL in `reports/report-sql.ts`.
   */
  ensureCoverageView(log: TableSpec, view: string): Promise<void>;
  /** Rows, dates, games and warnings a table holds over a range of slices, in one read. */
  tableSummary(spec: TableSpec, range: DateRange): Promise<TableSummary>;
  /** The latest slice's biggest predictions in a range, next to what the players then scored. */
  samplePredictions(request: PredictionSampleRequest): Promise<PredictionSample[]>;
  /**
   * Seed 002's "daily streaming conflict summary" over the conflict log since `since`, one
   * conflict counted once (rows grouped by `conflict_id` first): date, processor_name,
   * total_conflicts, resolved, unresolved, avg_retries, sample_games.
   */
  conflictSummary(spec: TableSpec, since: Date): Promise<Row[]>;
  /** Seed 002's "unresolved conflicts requiring attention" since `since`: the latest row of each. */
  unresolvedConflicts(spec: TableSpec, since: Date): Promise<Row[]>;
}

/** Slices a MERGE cannot touch yet, and since when the buffer has held streamed rows. */
export interface BufferedSlices {
  slices: string[];
  oldestEntryTime?: Date;
}

/** A warehouse whose streamed rows stay out of reach of DML for a while (BigQuery's streaming buffer). */
export interface StreamingBufferCapability {
  /**
   * Which of `slices` sit in partitions that still hold streamed rows (reads only, no DML):
   * the commit path holds them back instead of sending a MERGE the warehouse would refuse.
   * `slackMs` widens the look back from the buffer's oldest entry (see `buffered-slices.ts`).
   */
  bufferedSlices(spec: TableSpec, slices: readonly string[], slackMs: number): Promise<BufferedSlices>;
}

/**
 * The rules a warehouse holds its writers to, declared by the warehouse so the queue layer asks
 * it instead of knowing BigQuery: a new backend declares what it has and leaves out the rest.
 */
export interface WarehouseCapabilities {
  /**
   * Whether a write of this kind spends one of the table's daily modifications. BigQuery: loads,
   * copies and query appends do, DML does not (limits.ts); a warehouse without such a quota: never.
   */
  countsAsDailyModification(kind: TableWriteKind): boolean;
  /** Present when streamed rows block DML on their partitions for a while (BigQuery). @defaultValue undefined */
  streamingBuffer?: StreamingBufferCapability;
}

/** Named query parameters; values only — identifiers never travel as parameters. */
export type QueryParams = Record<string, string | number | boolean | null | readonly (string | number)[]>;

/** One table's slices to read, as `Warehouse.readSlices` takes them. */
export interface SliceRead {
  spec: TableSpec;
  slices: readonly string[];
}

export interface Warehouse {
  /** The rules this warehouse holds writers to (daily modifications, a streaming buffer). */
  readonly capabilities: WarehouseCapabilities;
  /**
   * Creates the dataset/schema and table if missing (partitioned by slice, clustered by key).
   * DuckDB also adds the registry's columns an existing table misses (as nullable); BigQuery
   * leaves an existing table alone — `phasegate migrate` adds them there. A table's shape and
   * adding columns are the schema facet's (`admin.ts`), not the commit path's.
   */
  ensureTable(spec: TableSpec): Promise<void>;
  /**
   * Lands a batch with ONE statement (merge mode): the batch slices' rows are replaced by the
   * staged rows — a MERGE … ON FALSE that reads and writes only those partitions (plus the
   * slices an allowed move takes units out of) — or one INSERT … SELECT (append mode).
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
  /**
   * Several tables' slices in ONE query, each read's rows as `readSlices` returns them, in the
   * order of `reads`. Where a query has a cost of its own whatever it reads (on BigQuery a query
   * job: about a second of latency and a job of the project's), the group reads of a phase's
   * source tables share one. A warehouse without it (DuckDB: a scan costs what it reads) is
   * read a table at a time.
   */
  readTables?(reads: readonly SliceRead[]): Promise<Row[][]>;
  /** Distinct slice values present in the table among the given ones (for --only-missing). */
  presentSlices(spec: TableSpec, slices: readonly string[]): Promise<string[]>;
  /**
   * Rows held per (slice, unit) for the rows in `slices` or, when `units` is not empty, whose
   * `unitColumn` is one of `units` (wherever they are): what a batch would shrink or move.
   * `unit` is `*` for a table without a unit column. One parameterized read.
   */
  unitHoldings(spec: TableSpec, slices: readonly string[], units: readonly string[]): Promise<Holding[]>;
  tableMetadata(spec: TableSpec): Promise<TableMetadata>;
  /** The report queries over this warehouse's tables (coverage, conflicts, the demo's summary). */
  readonly reports: WarehouseReports;
  close(): Promise<void>;
}

/**
 * What the BigQuery rules layer needs beneath it besides the `Warehouse` seam: the writes
 * BigQuery has that phasegate's own pipeline never makes (a load job, a streaming insert, a
 * plain DELETE) — the benchmark's naive and per-job modes use them — and the table's name in
 * the warehouse's own dialect, for the harnesses' hand-written queries. The embedded DuckDB
 * warehouse implements it.
 */
export interface EmulatedWarehouse extends Warehouse, WarehouseAdmin {
  /**
   * Which of `slices` hold rows whose `column` (a TIMESTAMP, e.g. `processed_at`) is at or
   * after `since`, through a parameterized query. With `since` = the streaming buffer's
   * `oldestEntryTime`, these are the slices a MERGE cannot touch yet (BigQuery refuses
   * UPDATE/DELETE/MERGE over partitions holding streamed rows): what `streamingBufferOf`
   * (buffered-slices.ts) reads for a warehouse that declares a streaming buffer.
   */
  slicesWithRowsSince(spec: TableSpec, slices: readonly string[], since: Date, column: string): Promise<string[]>;
  /** Appends staged objects as they are, like a load job with WRITE_APPEND: no dedupe, no slice ownership. */
  load(spec: TableSpec, objects: readonly string[]): Promise<CommitResult>;
  /** Inserts rows handed in directly (a streaming insert); returns rows inserted. */
  insertRows(spec: TableSpec, rows: readonly Row[]): Promise<number>;
  /** `DELETE … WHERE slice IN (…)`, narrowed to `column IN (values)` when `where` is given; returns rows deleted. */
  deleteSlices(spec: TableSpec, slices: readonly string[], where?: { column: string; values: readonly string[] }): Promise<number>;
  /** The quoted, qualified name of a spec's table in the warehouse's dialect. */
  tableName(spec: Pick<TableSpec, 'dataset' | 'table'>): string;
}
