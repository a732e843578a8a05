/**
 * The schema facet of a warehouse: what `phasegate doctor` and `phasegate migrate` read and
 * change — a table's shape, adding columns — kept off the narrow `Warehouse` the commit path
 * and the phase jobs use. A backend provides it (`WarehouseBackend.adminOf`, found through
 * `warehouse/index.ts`) together with what it declares about itself, so the doctor asks the
 * backend instead of branching on its name.
 */
import type { Column, ColumnType, TableSpec } from '../processors/types.ts';

/** One column as the warehouse holds it, in GoogleSQL type names (DuckDB's mapped back). */
export interface DescribedColumn {
  name: string;
  /** The GoogleSQL type, or the warehouse's own name when it maps to none (e.g. `NUMERIC`, `HUGEINT`). */
  type: ColumnType | string;
  nullable: boolean;
}

/** What a table looks like in the warehouse: what `phasegate doctor` compares with the registry. */
export interface TableDescription {
  columns: DescribedColumn[];
  /** BigQuery only: the time-partitioning column and unit (`DAY`); undefined = not partitioned. */
  partitioning?: { field: string | undefined; type: string } | undefined;
  /** BigQuery only: the clustering columns, in order; [] = not clustered. */
  clustering?: string[] | undefined;
  /** BigQuery only: every query must filter on the partitioning column. */
  requirePartitionFilter?: boolean | undefined;
}

export interface WarehouseAdmin {
  /** The dataset (DuckDB: schema) a spec's table lives in: the configured prefix plus its dataset. */
  datasetOf(spec: Pick<TableSpec, 'dataset'>): string;
  /** The table as the warehouse holds it, or null when it does not exist. */
  describeTable(spec: TableSpec): Promise<TableDescription | null>;
  /**
   * Adds columns to an existing table, each NULLABLE whatever the registry says (a column
   * added to a table with rows cannot be required). BigQuery: `tables.patch`; DuckDB:
   * `ALTER TABLE … ADD COLUMN`.
   */
  addColumns(spec: TableSpec, columns: readonly Column[]): Promise<void>;
  /** Creates the dataset and table if missing (see `Warehouse.ensureTable`). */
  ensureTable(spec: TableSpec): Promise<void>;
}

/** Why the doctor cannot look further into a warehouse, and what to do about it. */
export interface AdminProblem {
  detail: string;
  fix: string;
  /** Every commit would fail too: a worker refuses to start on it. @defaultValue false */
  blocksCommits?: boolean;
}

/** A bucket the warehouse reads staged objects from, as the doctor probes it (the GCS store). */
export interface StagingBucket {
  readonly bucketName: string;
  /** Where the bucket lives; null when it does not exist. */
  bucketLocation(): Promise<{ location: string; locationType: string | undefined } | null>;
  /** Which of `permissions` the credentials lack on the bucket. */
  missingPermissions(permissions: readonly string[]): Promise<string[]>;
  put(key: string, body: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * A warehouse in a cloud project whose first commit hangs on credentials, IAM, locations and
 * a staging bucket (BigQuery): what the doctor predicts that commit with. Each call answers
 * from the real APIs, none writes a table.
 */
export interface CloudProject {
  readonly projectId: string;
  /** Where datasets are created and jobs run. */
  readonly location: string;
  /** The bucket the commit's query jobs read staged objects from. */
  readonly bucket: StagingBucket;
  /** Who the credentials are (a service account's e-mail, or undefined for a user); throws without usable credentials. */
  principal(): Promise<{ email: string | undefined }>;
  /** A dataset's location, or null when it does not exist. */
  datasetLocation(dataset: string): Promise<string | null>;
  /** Whether two location names are the same place (`us` = `US`). */
  sameLocation(a: string, b: string): boolean;
  /** Whether a query job in `datasetLocation` can read a bucket in `bucketLocation`. */
  colocated(datasetLocation: string, bucketLocation: string): boolean;
  /** The permissions on the project a first commit needs and the credentials lack (`bigquery.datasets.create` for `datasetsToCreate`). */
  missingProjectPermissions(permissions: readonly string[]): Promise<string[]>;
  /** The permissions on an existing table the credentials lack among `permissions`. */
  missingTablePermissions(spec: TableSpec, permissions: readonly string[]): Promise<string[]>;
  /** A dry run of a trivial query: proves the credentials may run jobs in the project and location. */
  dryRun(): Promise<unknown>;
  /** A dry run of the exact statement a commit of `spec` runs, reading `stagedKey`; throws BigQuery's error. */
  dryRunCommit(spec: TableSpec, stagedKey: string): Promise<unknown>;
  /** A dry run of the read a table gate makes of `spec` before each commit; throws BigQuery's error. */
  dryRunGateRead(spec: TableSpec): Promise<unknown>;
}

/** What a backend gives the doctor and migrate for an opened warehouse. */
export interface AdminView {
  admin: WarehouseAdmin;
  /** The warehouse's own line, e.g. the DuckDB file's path. @defaultValue none */
  summary?: string;
  /**
   * The warehouse adds the registry's missing columns itself at the first commit (DuckDB's
   * `ensureTable`), so a missing column does not stop a worker. @defaultValue false
   */
  addsMissingColumns?: boolean;
  /** Present for a cloud warehouse: its project, credentials, bucket and commit statement to check. */
  cloud?: CloudProject;
  /** Set when nothing further can be checked (a BigQuery warehouse without the GCS store). */
  problem?: AdminProblem;
}
