/**
 * The production warehouse. Every write is ONE query job per batch: a MERGE (or an INSERT …
 * SELECT for log tables) reading the staged NDJSON through a temporary external table. No
 * load job (a table modification, limited per table per day: limits.ts; DML is not one) and
 * never the streaming path,
 * whose rows stay immutable to UPDATE/DELETE/MERGE for ~30–90 minutes.
 */
import { randomUUID } from 'node:crypto';
import type { JobMetadata } from '@google-cloud/bigquery';
import { BigQuery } from '@google-cloud/bigquery';
import type { BigQueryErrorPayload } from '../../errors/classify.ts';
import { classifyWarehouseError } from '../../errors/classify.ts';
import { ConfigError } from '../../errors/config-error.ts';
import { InputError } from '../../errors/input-error.ts';
import { IntegrityGuardError } from '../../errors/integrity-guard-error.ts';
import { PhasegateError } from '../../errors/phasegate-error.ts';
import { WarehouseError } from '../../errors/warehouse-error.ts';
import { canMove, type Holding, holdingsToRead } from '../../integrity/holdings.ts';
import { BIGQUERY_LIMITS, countsAsDailyModification } from '../../limits/bigquery.ts';
import { type Column, type Row, type TableSpec, tableId } from '../../processors/types.ts';
import { validateKey, validatePrefix } from '../../storage/object-store.ts';
import type { WarehouseAdmin } from '../admin.ts';
import { streamingBufferOf } from '../buffered-slices.ts';
import { type ReportRunner, SqlReports } from '../reports/sql-reports.ts';
import type {
  CommitBatch,
  CommitResult,
  QueryParams,
  SliceRead,
  TableDescription,
  TableMetadata,
  Warehouse,
  WarehouseCapabilities,
  WarehouseReports,
} from '../types.ts';
import { BIGQUERY_DIALECT } from './dialect.ts';
import { deterministicJobId, type PollOptions, runJob } from './jobs.ts';
import { dateArrayParameter, guardStagedParameter, type QueryParameter, queryParameter, queryParameters, reportParameters } from './params.ts';
import { decodePartRows, decodeRows, type ResultField, type ResultPart, type ResultRow } from './rows.ts';
import { describeFields, nullableField, stagingDefinition, type TableFieldSchema, tableResource } from './schema.ts';
import {
  appendStatement,
  DRY_RUN_PROBE,
  deleteSlicesStatement,
  GUARD_MESSAGE,
  GUARD_SLICES_PARAM,
  GUARD_STAGED_PARAM,
  GUARD_UNITS_PARAM,
  isReadOnlyQuery,
  MOVE_UNITS_PARAM,
  mergeMoves,
  mergeStatement,
  partSlicesParam,
  presentSlicesStatement,
  qualifiedName,
  quoteIdent,
  readSlicesStatement,
  readTablesStatement,
  SCOPE_PARAM,
  SINCE_PARAM,
  SLICES_PARAM,
  slicesWithRowsSinceStatement,
  type TableLocation,
  UNITS_PARAM,
  unitHoldingsStatement,
  validateProjectId,
  validateSpec,
} from './sql.ts';

/** Who the client authenticates as, from application default credentials (or the client given). */
export interface Principal {
  /** A service account's e-mail; undefined for user credentials (`gcloud auth application-default login`). */
  email: string | undefined;
}

/** What a dry run said: the bytes the statement would scan. */
export interface DryRunResult {
  totalBytesProcessed: number;
}

export interface BigQueryWarehouseOptions {
  /** The project the tables live in and the jobs run in. */
  projectId: string;
  /** Where datasets are created and jobs run, e.g. `US` or `europe-west1`. */
  location: string;
  /** Added in front of every dataset name, e.g. `dev_` → `dev_nba_raw`. @defaultValue '' */
  datasetPrefix?: string;
  /** The GCS bucket holding the staged NDJSON objects. */
  bucket: string;
  /**
   * The object-store prefix the staged keys are relative to, when the GCS store was built
   * with one (`GcsObjectStore`'s `prefix`). @defaultValue ''
   */
  objectPrefix?: string;
  /** A ready client (tests, custom credentials). @defaultValue `new BigQuery({ projectId, location })` */
  client?: BigQuery;
  /** How `jobs.get` is polled while a job runs. @defaultValue 250 ms doubling to 5 s */
  poll?: PollOptions;
}

// A temporary external table takes a bounded number of source URIs (limits.ts).
const MAX_SOURCE_URIS = BIGQUERY_LIMITS.externalTableSourceUris;
// GCS bucket names: 3–222 characters of lowercase letters, digits, `-`, `_` and `.`.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
// Rows per `jobs.getQueryResults` page; the API also caps a page at ~10 MB.
const PAGE_ROWS = 10_000;
const RESOURCE_MANAGER = 'https://cloudresourcemanager.googleapis.com';
/** The slice a dry-run commit names: any date does, the statement only gets checked. */
const DRY_RUN_SLICE = '2000-01-01';
/** The unit a dry-run gate read names: any value does. */
const DRY_RUN_UNIT = 'doctor';

/** A commit's statement as a query job configuration, and where it writes. */
interface CommitQuery {
  where: TableLocation;
  append: boolean;
  query: Omit<NonNullable<NonNullable<JobMetadata['configuration']>['query']>, 'useLegacySql'>;
}

interface QueryResultsPage {
  jobComplete?: boolean;
  schema?: { fields?: ResultField[] };
  rows?: ResultRow[];
  pageToken?: string;
}

function int(value: string | number | null | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/** An ARRAY<STRING> parameter whatever its values look like (a unit like `2024-01-01` stays a STRING). */
function stringArrayParameter(name: string, values: readonly string[]): QueryParameter {
  return { name, parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } }, parameterValue: { arrayValues: values.map((value) => ({ value })) } };
}

function isNotFound(thrown: unknown): boolean {
  const p = thrown as BigQueryErrorPayload | null;
  return !!p && (p.code === 404 || p.errors?.some((e) => e.reason === 'notFound') === true);
}

function isAlreadyExists(thrown: unknown): boolean {
  const p = thrown as BigQueryErrorPayload | null;
  return !!p && (p.code === 409 || p.errors?.some((e) => e.reason === 'duplicate') === true);
}

export class BigQueryWarehouse implements Warehouse, WarehouseAdmin {
  /** BigQuery's own rules: loads spend daily modifications, DML does not; streamed rows block DML for a while. */
  readonly capabilities: WarehouseCapabilities = { countsAsDailyModification, streamingBuffer: streamingBufferOf(this) };
  readonly projectId: string;
  readonly location: string;
  readonly bucket: string;
  private readonly datasetPrefix: string;
  private readonly objectPrefix: string;
  private readonly client: BigQuery;
  private readonly poll: PollOptions | undefined;
  readonly reports: WarehouseReports = new SqlReports(this.reportRunner());

  constructor(options: BigQueryWarehouseOptions) {
    try {
      this.projectId = validateProjectId(options.projectId);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    if (!BUCKET.test(options.bucket)) throw new ConfigError(`not a valid GCS bucket name: ${JSON.stringify(options.bucket)}`);
    if (!/^[A-Za-z0-9_]*$/.test(options.datasetPrefix ?? '')) {
      throw new ConfigError(`dataset prefix may hold letters, digits and _ only: ${JSON.stringify(options.datasetPrefix)}`);
    }
    this.location = options.location;
    this.bucket = options.bucket;
    this.datasetPrefix = options.datasetPrefix ?? '';
    const prefix = validatePrefix(options.objectPrefix ?? '');
    this.objectPrefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.client = options.client ?? new BigQuery({ projectId: this.projectId, location: this.location });
    this.poll = options.poll;
  }

  private where(spec: TableSpec): TableLocation {
    const dataset = `${this.datasetPrefix}${spec.dataset}`;
    quoteIdent(dataset);
    return { projectId: this.projectId, dataset, table: spec.table };
  }

  /** `gs://bucket/prefix/key`: where the query job's external table reads a staged object. */
  private sourceUri(key: string): string {
    return `gs://${this.bucket}/${this.objectPrefix}${validateKey(key)}`;
  }

  /** Our own errors pass through; anything the client threw becomes a WarehouseError. */
  private fail(thrown: unknown, table?: string): never {
    if (thrown instanceof PhasegateError) throw thrown;
    throw classifyWarehouseError(thrown, table);
  }

  async ensureTable(spec: TableSpec): Promise<void> {
    const where = this.where(spec);
    const resource = tableResource(spec);
    try {
      const dataset = this.client.dataset(where.dataset, { location: this.location });
      // Look before creating: a reader's service account may lack datasets.create, and
      // tables.insert counts as a table metadata update (limits.ts, tableMetadataUpdatesPerWindow).
      if (!(await this.exists(() => dataset.getMetadata()))) {
        await this.tolerateExisting(() => this.client.createDataset(where.dataset, { location: this.location }));
      }
      if (!(await this.exists(() => dataset.table(where.table).getMetadata()))) {
        await this.tolerateExisting(() => dataset.createTable(where.table, resource));
      }
    } catch (err) {
      this.fail(err, tableId(spec));
    }
  }

  private async exists(get: () => Promise<unknown>): Promise<boolean> {
    try {
      await get();
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Another worker may create the same dataset or table between our look and our create. */
  private async tolerateExisting(create: () => Promise<unknown>): Promise<void> {
    try {
      await create();
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  /**
   * The one statement a commit of `batch` runs, with its parameters and the staged objects'
   * external table: what `commit` runs and what the doctor dry-runs (`dryRunCommit`), so the
   * prediction is the real shape. Undefined when the batch has nothing to do.
   */
  private commitQuery(batch: CommitBatch): CommitQuery | undefined {
    const spec = batch.table;
    const table = tableId(spec);
    validateSpec(spec);
    const where = this.where(spec);
    if (batch.objects.length > MAX_SOURCE_URIS) {
      throw new InputError(`${table}: a batch may read at most ${MAX_SOURCE_URIS} staged objects, got ${batch.objects.length}`);
    }
    if (batch.slices.length === 0 && batch.objects.length === 0) return undefined;
    const append = spec.writeMode === 'append';
    if (append && batch.objects.length === 0) return undefined;

    const slices = dateArrayParameter(SLICES_PARAM, batch.slices);
    const parameters = [slices];
    if (!append && batch.objects.length > 0 && mergeMoves(spec)) {
      // The partitions the statement may delete from: the batch's, plus an allowed move's sources.
      const moveFrom = [...new Set(batch.moveFrom ?? [])].filter((s) => !batch.slices.includes(s));
      const units = moveFrom.length > 0 ? [...new Set(batch.moveUnits ?? [])] : [];
      parameters.push(dateArrayParameter(SCOPE_PARAM, [...batch.slices, ...moveFrom]), stringArrayParameter(MOVE_UNITS_PARAM, units));
    }
    const guard = append ? undefined : batch.guard;
    if (guard) {
      const { slices: guarded, units } = holdingsToRead(spec, guard);
      parameters.push(guardStagedParameter(GUARD_STAGED_PARAM, guard), dateArrayParameter(GUARD_SLICES_PARAM, guarded));
      if (canMove(spec)) parameters.push(stringArrayParameter(GUARD_UNITS_PARAM, units));
    }
    // No staged object means the slices now hold no rows; an external table needs ≥ 1 URI.
    const query =
      batch.objects.length === 0
        ? { query: deleteSlicesStatement(where, spec, !!guard) }
        : {
            query: append ? appendStatement(where, spec) : mergeStatement(where, spec, !!guard),
            tableDefinitions: stagingDefinition(
              spec,
              batch.objects.map((k) => this.sourceUri(k)),
            ),
          };
    return { where, append, query: { ...query, parameterMode: 'NAMED', queryParameters: parameters } };
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const commit = this.commitQuery(batch);
    if (!commit) return { rowsAffected: 0, rowsStaged: 0 };
    const { where, append } = commit;
    let metadata: JobMetadata;
    try {
      metadata = await this.run(deterministicJobId(where.dataset, where.table, batch.batchId), commit.query, tableId(batch.table));
    } catch (err) {
      // The statement's own guard refused the batch: a verdict for the gate, not a failure.
      if (batch.guard && err instanceof WarehouseError && err.message.includes(GUARD_MESSAGE))
        throw new IntegrityGuardError(tableId(batch.table), { cause: err });
      throw err;
    }
    const stats = metadata.statistics?.query;
    const rowsAffected = int(stats?.numDmlAffectedRows);
    const dml = stats?.dmlStats;
    // The merge inserts every distinct staged key (ON FALSE: nothing matches) and deletes what
    // the slices held; an append inserts the new keys only.
    let rowsStaged = 0;
    if (batch.objects.length > 0) rowsStaged = append || !dml ? rowsAffected : int(dml.insertedRowCount);
    return { rowsAffected, rowsStaged };
  }

  /**
   * A dry run of the statement the first commit of `spec` would run — the MERGE (append: INSERT
   * … SELECT) over a temporary external table reading `stagedKey`, with one slice — which
   * BigQuery checks without running: the target's columns against the staged schema, access to
   * the table, a partition filter where the table requires one, and the job's read of the
   * bucket. A `dryRun: true` query job "returns statistics … if the query is valid, … an error"
   * otherwise (cloud.google.com/bigquery/docs/running-queries#dry-run; REST
   * JobConfiguration.dryRun). Failures come back as BigQuery's error text, classified. A merge
   * carries its integrity guard, as a clean batch's does, with a unit so the guard's read of
   * other slices is in.
   */
  async dryRunCommit(spec: TableSpec, stagedKey: string, slice = DRY_RUN_SLICE): Promise<DryRunResult> {
    const guard = [{ slice, units: { [spec.unitColumn === undefined ? '*' : DRY_RUN_UNIT]: 1 } }];
    const commit = this.commitQuery({ batchId: 'doctor', table: spec, slices: [slice], objects: [stagedKey], guard });
    if (!commit) return { totalBytesProcessed: 0 };
    return this.dryRunJob({ ...commit.query, useLegacySql: false }, tableId(spec));
  }

  /** One query job in GoogleSQL at our location, its failures classified for the table gate. */
  private async run(
    jobId: string,
    query: Omit<NonNullable<NonNullable<JobMetadata['configuration']>['query']>, 'useLegacySql'>,
    table?: string,
  ): Promise<JobMetadata> {
    try {
      return await runJob(this.client, { jobId, location: this.location, configuration: { query: { ...query, useLegacySql: false } } }, this.poll);
    } catch (err) {
      return this.fail(err, table);
    }
  }

  async query(sql: string, params?: QueryParams): Promise<Row[]> {
    if (!isReadOnlyQuery(sql)) throw new InputError('only a single SELECT or WITH query may be run through query()');
    return this.select(sql, queryParameters(params));
  }

  private async select(sql: string, parameters: QueryParameter[], table?: string): Promise<Row[]> {
    const rows: Row[] = [];
    await this.selectPages(sql, parameters, table, (fields, page) => {
      for (const row of decodeRows(fields, page)) rows.push(row);
    });
    return rows;
  }

  /** Runs one query job and hands its result a page at a time to `onPage`. */
  private async selectPages(
    sql: string,
    parameters: QueryParameter[],
    table: string | undefined,
    onPage: (fields: readonly ResultField[], rows: readonly ResultRow[]) => void,
  ): Promise<void> {
    const metadata = await this.run(deterministicJobId('query', randomUUID()), { query: sql, parameterMode: 'NAMED', queryParameters: parameters }, table);
    const jobId = metadata.jobReference?.jobId ?? '';
    let pageToken: string | undefined;
    try {
      do {
        const page = await this.resultsPage(jobId, metadata.jobReference?.location ?? this.location, pageToken);
        onPage(page.schema?.fields ?? [], page.rows ?? []);
        pageToken = page.pageToken;
      } while (pageToken);
    } catch (err) {
      this.fail(err, table);
    }
  }

  /** One `jobs.getQueryResults` page of a finished job, TIMESTAMPs as integer microseconds. */
  private resultsPage(jobId: string, location: string, pageToken?: string): Promise<QueryResultsPage> {
    const qs: Record<string, string | number | boolean> = {
      location,
      maxResults: PAGE_ROWS,
      'formatOptions.useInt64Timestamp': true,
    };
    if (pageToken) qs.pageToken = pageToken;
    return new Promise((resolve, reject) => {
      this.client.request({ uri: `/queries/${encodeURIComponent(jobId)}`, qs }, (err, body) => {
        if (err) reject(err);
        else resolve((body ?? {}) as QueryResultsPage);
      });
    });
  }

  async readSlices(spec: TableSpec, slices: readonly string[]): Promise<Row[]> {
    if (slices.length === 0) return [];
    return this.select(readSlicesStatement(this.where(spec), spec), [dateArrayParameter(SLICES_PARAM, slices)], tableId(spec));
  }

  /** Several tables' slices in one query job (`readTablesStatement`), each read's rows as `readSlices` returns them. */
  async readTables(reads: readonly SliceRead[]): Promise<Row[][]> {
    const asked = reads.map((r, i) => ({ ...r, i })).filter((r) => r.slices.length > 0);
    const out = reads.map((): Row[] => []);
    if (asked.length === 0) return out;
    const parts: ResultPart[] = [];
    let offset = 1;
    for (const { spec } of asked) {
      parts.push({ names: spec.columns.map((c) => c.name), offset });
      offset += spec.columns.length;
    }
    const sql = readTablesStatement(asked.map(({ spec }) => ({ where: this.where(spec), spec })));
    const parameters = asked.map((r, j) => dateArrayParameter(partSlicesParam(j), r.slices));
    await this.selectPages(sql, parameters, asked.map((r) => tableId(r.spec)).join(', '), (fields, page) => {
      decodePartRows(fields, page, parts).forEach((rows, j) => {
        const into = out[asked[j]?.i ?? -1];
        if (into) for (const row of rows) into.push(row);
      });
    });
    return out;
  }

  async presentSlices(spec: TableSpec, slices: readonly string[]): Promise<string[]> {
    if (slices.length === 0) return [];
    const rows = await this.select(presentSlicesStatement(this.where(spec), spec), [dateArrayParameter(SLICES_PARAM, slices)], tableId(spec));
    return rows.map((r) => String(r.slice));
  }

  async slicesWithRowsSince(spec: TableSpec, slices: readonly string[], since: Date, column: string): Promise<string[]> {
    if (slices.length === 0) return [];
    const rows = await this.select(
      slicesWithRowsSinceStatement(this.where(spec), spec, column),
      [dateArrayParameter(SLICES_PARAM, slices), { name: SINCE_PARAM, parameterType: { type: 'TIMESTAMP' }, parameterValue: { value: since.toISOString() } }],
      tableId(spec),
    );
    return rows.map((r) => String(r.slice));
  }

  private unitHoldingsQuery(spec: TableSpec, slices: readonly string[], units: readonly string[]): { sql: string; parameters: QueryParameter[] } {
    const withUnits = spec.unitColumn !== undefined && units.length > 0;
    const parameters = [dateArrayParameter(SLICES_PARAM, slices), ...(withUnits ? [queryParameter(UNITS_PARAM, units)] : [])];
    return { sql: unitHoldingsStatement(this.where(spec), spec, withUnits), parameters };
  }

  async unitHoldings(spec: TableSpec, slices: readonly string[], units: readonly string[]): Promise<Holding[]> {
    if (slices.length === 0 && units.length === 0) return [];
    const { sql, parameters } = this.unitHoldingsQuery(spec, slices, units);
    const rows = await this.select(sql, parameters, tableId(spec));
    return rows.map((r) => ({ slice: String(r.slice), unit: String(r.unit), rows: Number(r.n) }));
  }

  /**
   * A dry run of the read a table gate makes before every commit (`unitHoldings`, with a unit
   * so its other-dates branch is in): on a table with `requirePartitionFilter`, BigQuery refuses
   * it unless each reference to the table filters on the partitioning column.
   */
  async dryRunGateRead(spec: TableSpec, slice = DRY_RUN_SLICE): Promise<DryRunResult> {
    validateSpec(spec);
    const { sql, parameters } = this.unitHoldingsQuery(spec, [slice], spec.unitColumn === undefined ? [] : [DRY_RUN_UNIT]);
    return this.dryRunJob({ query: sql, parameterMode: 'NAMED', queryParameters: parameters, useLegacySql: false }, tableId(spec));
  }

  async tableMetadata(spec: TableSpec): Promise<TableMetadata> {
    const where = this.where(spec);
    try {
      const [meta] = await this.client.dataset(where.dataset, { location: this.location }).table(where.table).getMetadata();
      const result: TableMetadata = { numRows: int(meta.numRows) };
      const buffer = meta.streamingBuffer;
      // `tables.get` shows streamingBuffer only while streamed rows are still buffered; they
      // block UPDATE/DELETE/MERGE on their partitions until it empties (~30–90 min).
      if (buffer?.oldestEntryTime) {
        result.streamingBuffer = {
          oldestEntryTime: new Date(int(buffer.oldestEntryTime)),
          estimatedRows: int(buffer.estimatedRows),
        };
      }
      return result;
    } catch (err) {
      return this.fail(err, tableId(spec));
    }
  }

  /** The reports' way in: GoogleSQL query jobs with typed parameters, and the view through the tables API. */
  private reportRunner(): ReportRunner {
    return {
      dialect: BIGQUERY_DIALECT,
      tableName: (spec) => {
        validateSpec(spec);
        return qualifiedName(this.where(spec));
      },
      select: (statement, spec) => this.select(statement.sql, reportParameters(statement.params), tableId(spec)),
      ensureView: (log, view, query) => this.ensureView(log, view, query),
    };
  }

  /**
   * `tables.get` first: the view is created (`tables.insert` with a view resource) only when
   * missing and patched only when its query changed — each is a metadata update of the view,
   * and every worker ensures it.
   */
  private async ensureView(log: TableSpec, view: string, query: string): Promise<void> {
    const where = this.where(log);
    quoteIdent(view);
    const resource = { view: { query, useLegacySql: false } };
    try {
      const table = this.client.dataset(where.dataset, { location: this.location }).table(view);
      let current: { view?: { query?: string } } | undefined;
      try {
        [current] = await table.getMetadata();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (!current) await this.tolerateExisting(() => this.client.dataset(where.dataset, { location: this.location }).createTable(view, resource));
      else if (current.view?.query !== resource.view.query) await table.setMetadata(resource);
    } catch (err) {
      this.fail(err, `${where.dataset}.${view}`);
    }
  }

  datasetOf(spec: Pick<TableSpec, 'dataset'>): string {
    const dataset = `${this.datasetPrefix}${spec.dataset}`;
    quoteIdent(dataset);
    return dataset;
  }

  /** `tables.get`: the schema (legacy type names mapped to GoogleSQL), partitioning, clustering. */
  async describeTable(spec: TableSpec): Promise<TableDescription | null> {
    const where = this.where(spec);
    try {
      const [meta] = await this.client.dataset(where.dataset, { location: this.location }).table(where.table).getMetadata();
      return {
        columns: describeFields(meta.schema?.fields ?? []),
        partitioning: meta.timePartitioning ? { field: meta.timePartitioning.field ?? undefined, type: meta.timePartitioning.type ?? 'DAY' } : undefined,
        clustering: meta.clustering?.fields ?? [],
        requirePartitionFilter: meta.requirePartitionFilter === true || meta.timePartitioning?.requirePartitionFilter === true,
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      return this.fail(err, tableId(spec));
    }
  }

  /**
   * `tables.patch` with the table's current schema plus the new columns, NULLABLE: BigQuery
   * adds a column to a table with rows only as NULLABLE (or REPEATED), and a patch must list
   * every existing column (cloud.google.com/bigquery/docs/managing-table-schemas, "Add a column").
   * The schema is read right before the patch so a column added meanwhile is not dropped.
   */
  async addColumns(spec: TableSpec, columns: readonly Column[]): Promise<void> {
    if (columns.length === 0) return;
    validateSpec(spec);
    const where = this.where(spec);
    try {
      const table = this.client.dataset(where.dataset, { location: this.location }).table(where.table);
      const [meta] = await table.getMetadata();
      const fields = (meta.schema?.fields ?? []) as TableFieldSchema[];
      const have = new Set(fields.map((f) => String(f.name).toLowerCase()));
      const added = columns.filter((c) => !have.has(c.name.toLowerCase())).map(nullableField);
      if (added.length === 0) return;
      await table.setMetadata({ schema: { fields: [...fields, ...added] } });
    } catch (err) {
      this.fail(err, tableId(spec));
    }
  }

  /** `datasets.get`: the dataset's location, or null when the dataset does not exist yet. */
  async datasetLocation(dataset: string): Promise<string | null> {
    quoteIdent(dataset);
    try {
      const [meta] = await this.client.dataset(dataset).getMetadata();
      return String(meta.location ?? '');
    } catch (err) {
      if (isNotFound(err)) return null;
      return this.fail(err);
    }
  }

  /**
   * A dry-run query job at the configured location: it proves `bigquery.jobs.create` in the
   * project without scanning or billing anything (cloud.google.com/bigquery/docs/running-queries#dry-run).
   */
  async dryRun(sql: string = DRY_RUN_PROBE): Promise<DryRunResult> {
    return this.dryRunJob({ query: sql, useLegacySql: false });
  }

  private async dryRunJob(query: NonNullable<NonNullable<JobMetadata['configuration']>['query']>, table?: string): Promise<DryRunResult> {
    try {
      const [, metadata] = await this.client.createJob({ location: this.location, configuration: { dryRun: true, query } });
      return { totalBytesProcessed: int(metadata?.statistics?.totalBytesProcessed) };
    } catch (err) {
      return this.fail(err, table);
    }
  }

  /**
   * Which of `permissions` the credentials lack on the project, from Cloud Resource Manager's
   * `projects.testIamPermissions`, which needs no permission itself
   * (cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions). BigQuery
   * has no dry run of `datasets.insert`, and that needs `bigquery.datasets.create` on the
   * project (cloud.google.com/bigquery/docs/reference/rest/v2/datasets/insert).
   */
  async missingProjectPermissions(permissions: readonly string[]): Promise<string[]> {
    const res = await this.client.authClient.request<{ permissions?: string[] }>({
      url: `${RESOURCE_MANAGER}/v1/projects/${encodeURIComponent(this.projectId)}:testIamPermissions`,
      method: 'POST',
      data: { permissions: [...permissions] },
    });
    const granted = new Set(res.data?.permissions ?? []);
    return permissions.filter((p) => !granted.has(p));
  }

  /**
   * Which of `permissions` the credentials lack on a spec's table, from BigQuery's
   * `tables.testIamPermissions` (cloud.google.com/bigquery/docs/reference/rest/v2/tables/testIamPermissions:
   * a table that does not exist answers an empty set, not notFound).
   */
  async missingTablePermissions(spec: TableSpec, permissions: readonly string[]): Promise<string[]> {
    const where = this.where(spec);
    try {
      const [answer] = await this.client
        .dataset(where.dataset, { location: this.location })
        .table(where.table)
        .testIamPermissions([...permissions]);
      const granted = new Set(answer?.permissions ?? []);
      return permissions.filter((p) => !granted.has(p));
    } catch (err) {
      return this.fail(err, tableId(spec));
    }
  }

  /** The credentials the client resolved (application default credentials unless a client was given), and a fresh token from them. */
  async principal(): Promise<Principal> {
    const auth = this.client.authClient;
    const credentials = await auth.getCredentials();
    // A token proves the credentials work, not only that a key file was found.
    await auth.getAccessToken();
    return { email: credentials.client_email ?? undefined };
  }

  /** The client keeps no open connections of its own (HTTP keep-alive sockets idle out). */
  async close(): Promise<void> {}
}
