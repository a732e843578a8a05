/**
 * The embedded default warehouse: one DuckDB database (a file, or `:memory:`). A dataset is a
 * DuckDB schema, a table a table; a commit stages the batch's NDJSON into a temp table and
 * lands it with ONE MERGE (or one INSERT … SELECT in append mode), like the BigQuery adapter.
 *
 * BigQuery's per-table limits are not enforced here; wrap it in `BigQueryRulesWarehouse`.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance, StatementType } from '@duckdb/node-api';
import { InputError } from '../../errors/input-error.ts';
import { PermanentError } from '../../errors/permanent-error.ts';
import { TransientError } from '../../errors/transient-error.ts';
import type { Holding } from '../../integrity/holdings.ts';
import type { Row, TableSpec } from '../../processors/types.ts';
import { tableId } from '../../processors/types.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { CommitBatch, CommitResult, QueryParams, TableMetadata, Warehouse } from '../types.ts';
import { fromDuckDBError } from './duckdb-errors.ts';
import { Mutex } from './mutex.ts';
import { checkReadOnlySql } from './read-only.ts';
import {
  appendSql,
  BEGIN_READ_ONLY_SQL,
  countRowsSql,
  createSchemaSql,
  createStagingSql,
  createTableSql,
  deleteSlicesSql,
  dropStagingSql,
  insertSelectSql,
  mergeSql,
  presentSlicesSql,
  qualifiedName,
  ROLLBACK_SQL,
  readSlicesSql,
  SET_UTC_SQL,
  slicesWithRowsSinceSql,
  tableExistsSql,
  unitHoldingsSql,
  validateSpec,
} from './sql.ts';
import { dedupeByKey, parseNdjson, parseObjectRows, type StagedRow } from './staged-rows.ts';
import { bindParams, toCell, toRow } from './values.ts';

export interface DuckDBWarehouseOptions {
  /** Database file (parent folders are created), or `:memory:`. */
  path: string;
  /** Where staged NDJSON objects are read from. */
  store: ObjectStore;
  /**
   * Prefix added to every dataset name, e.g. `dev_` → schema `dev_nba_raw`.
   * @defaultValue ''
   */
  datasetPrefix?: string;
}

const DEFAULTS = { datasetPrefix: '' } satisfies Partial<DuckDBWarehouseOptions>;

export class DuckDBWarehouse implements Warehouse {
  readonly kind = 'duckdb';
  readonly datasetPrefix: string;
  private readonly instance: DuckDBInstance;
  // Writes and reads get a connection each so a long read never waits behind a MERGE (DuckDB
  // is MVCC: a read sees the last committed state); each connection runs one statement at a time.
  private readonly writer: DuckDBConnection;
  private readonly reader: DuckDBConnection;
  private readonly writeLock = new Mutex();
  private readonly readLock = new Mutex();
  private readonly store: ObjectStore;
  private stagingSeq = 0;
  private closed = false;

  private constructor(instance: DuckDBInstance, writer: DuckDBConnection, reader: DuckDBConnection, store: ObjectStore, datasetPrefix: string) {
    this.instance = instance;
    this.writer = writer;
    this.reader = reader;
    this.store = store;
    this.datasetPrefix = datasetPrefix;
  }

  static async open(opts: DuckDBWarehouseOptions): Promise<DuckDBWarehouse> {
    const datasetPrefix = opts.datasetPrefix ?? DEFAULTS.datasetPrefix;
    if (datasetPrefix !== '' && !/^[A-Za-z0-9_]+$/.test(datasetPrefix)) {
      throw new InputError(`dataset prefix must be letters, digits and _ only: ${JSON.stringify(datasetPrefix)}`);
    }
    if (opts.path !== ':memory:') await mkdir(path.dirname(path.resolve(opts.path)), { recursive: true });
    const instance = await DuckDBInstance.create(opts.path);
    const writer = await instance.connect();
    const reader = await instance.connect();
    for (const conn of [writer, reader]) await conn.run(SET_UTC_SQL);
    return new DuckDBWarehouse(instance, writer, reader, opts.store, datasetPrefix);
  }

  /** The DuckDB schema a spec's dataset lives in: the dataset prefix plus the dataset. */
  schemaOf(spec: Pick<TableSpec, 'dataset'>): string {
    return `${this.datasetPrefix}${spec.dataset}`;
  }

  /** The quoted, qualified DuckDB name of a spec's table, for hand-written queries. */
  tableName(spec: Pick<TableSpec, 'dataset' | 'table'>): string {
    return qualifiedName({ dataset: this.schemaOf(spec), table: spec.table });
  }

  /** The spec with its dataset replaced by the DuckDB schema, validated for SQL building. */
  private resolve(spec: TableSpec): TableSpec {
    const resolved = { ...spec, dataset: this.schemaOf(spec) };
    validateSpec(resolved);
    return resolved;
  }

  private assertOpen(): void {
    if (this.closed) throw new TransientError('DuckDB warehouse is closed', { reason: 'stopped' });
  }

  async ensureTable(spec: TableSpec): Promise<void> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    await this.write(spec, async (conn) => {
      await conn.run(createSchemaSql(resolved.dataset));
      await conn.run(createTableSql(resolved));
    });
  }

  async tableExists(spec: TableSpec): Promise<boolean> {
    const resolved = this.resolve(spec);
    const rows = await this.read(spec, (conn) => conn.runAndReadAll(tableExistsSql(), [resolved.dataset, resolved.table]));
    return Number(rows.getRowObjects()[0]?.n ?? 0) > 0;
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const spec = this.resolve(batch.table);
    this.assertOpen();
    const staged = await this.readStaged(batch.table, batch.objects, new Set(batch.slices));
    const unique = dedupeByKey(spec, staged);
    const rowsAffected = await this.withStaging(batch.table, spec, unique, (stagingName) =>
      spec.writeMode === 'append'
        ? { sql: appendSql(spec, stagingName), params: [] }
        : { sql: mergeSql(spec, stagingName, batch.slices.length), params: [...batch.slices] },
    );
    return { rowsAffected, rowsStaged: staged.length };
  }

  /**
   * Appends staged objects as they are, like a BigQuery load job with WRITE_APPEND: no
   * dedupe, no slice ownership. For the rules layer's `loadJob` (naive/benchmark modes).
   */
  async load(spec: TableSpec, objects: readonly string[]): Promise<CommitResult> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    const staged = await this.readStaged(spec, objects);
    const rowsAffected = await this.withStaging(spec, resolved, staged, (stagingName) => ({ sql: insertSelectSql(resolved, stagingName), params: [] }));
    return { rowsAffected, rowsStaged: staged.length };
  }

  /** Inserts rows handed in directly (the rules layer's streaming insert); returns rows inserted. */
  async insertRows(spec: TableSpec, rows: readonly Row[]): Promise<number> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    const staged = parseObjectRows(
      spec,
      'streaming insert',
      rows.map((record, i) => ({ line: i + 1, record })),
    );
    return this.withStaging(spec, resolved, staged, (stagingName) => ({ sql: insertSelectSql(resolved, stagingName), params: [] }));
  }

  /** `DELETE … WHERE slice IN (…)`; returns rows deleted. */
  async deleteSlices(spec: TableSpec, slices: readonly string[]): Promise<number> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0) return 0;
    return this.write(spec, async (conn) => (await conn.run(deleteSlicesSql(resolved, slices.length), [...slices])).rowsChanged);
  }

  async query(sql: string, params: QueryParams = {}): Promise<Row[]> {
    checkReadOnlySql(sql);
    this.assertOpen();
    return this.read(undefined, async (conn) => {
      const extracted = await conn.extractStatements(sql);
      if (extracted.count !== 1) throw new InputError(`query must be exactly one statement, got ${extracted.count}`);
      const prepared = await extracted.prepare(0);
      try {
        // DESCRIBE/SHOW/SUMMARIZE/PRAGMA table_info plan as SELECT; anything else (a CTE in
        // front of a DELETE, say) is refused here, and the read-only transaction backs it up.
        if (prepared.statementType !== StatementType.SELECT && prepared.statementType !== StatementType.EXPLAIN) {
          throw new InputError('query accepts read-only statements only (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)');
        }
        if (Object.keys(params).length > 0) {
          const bound = bindParams(params);
          prepared.bind(bound.values, bound.types);
        }
        await conn.run(BEGIN_READ_ONLY_SQL);
        try {
          const reader = await prepared.runAndReadAll();
          return reader.getRowObjects().map(toRow);
        } finally {
          await conn.run(ROLLBACK_SQL);
        }
      } finally {
        prepared.destroySync();
      }
    });
  }

  async readSlices(spec: TableSpec, slices: readonly string[]): Promise<Row[]> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0) return [];
    const reader = await this.read(spec, (conn) => conn.runAndReadAll(readSlicesSql(resolved, slices.length), [...slices]));
    return reader.getRowObjects().map(toRow);
  }

  async presentSlices(spec: TableSpec, slices: readonly string[]): Promise<string[]> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0) return [];
    const reader = await this.read(spec, (conn) => conn.runAndReadAll(presentSlicesSql(resolved, slices.length), [...slices]));
    return reader.getRowObjects().map((r) => String(toCell(r.slice ?? null)));
  }

  async slicesWithRowsSince(spec: TableSpec, slices: readonly string[], since: Date, column: string): Promise<string[]> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0) return [];
    const sql = slicesWithRowsSinceSql(resolved, slices.length, column);
    const reader = await this.read(spec, (conn) => conn.runAndReadAll(sql, [...slices, since.toISOString()]));
    return reader.getRowObjects().map((r) => String(toCell(r.slice ?? null)));
  }

  async unitHoldings(spec: TableSpec, slices: readonly string[], units: readonly string[]): Promise<Holding[]> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0 && units.length === 0) return [];
    const unitParams = spec.unitColumn === undefined ? [] : [...units];
    const sql = unitHoldingsSql(resolved, slices.length, unitParams.length);
    const reader = await this.read(spec, (conn) => conn.runAndReadAll(sql, [...slices, ...unitParams]));
    return reader.getRowObjects().map((r) => ({ slice: String(r.slice), unit: String(r.unit), rows: Number(r.n) }));
  }

  async tableMetadata(spec: TableSpec): Promise<TableMetadata> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    const reader = await this.read(spec, (conn) => conn.runAndReadAll(countRowsSql(resolved)));
    return { numRows: Number(reader.getRowObjects()[0]?.num_rows ?? 0) };
  }

  /** Waits for running statements, then releases the connections and the database, in reverse order of opening. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.writeLock.run(async () => undefined), this.readLock.run(async () => undefined)]);
    this.reader.closeSync();
    this.writer.closeSync();
    this.instance.closeSync();
  }

  private async write<T>(spec: TableSpec | undefined, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    try {
      return await this.writeLock.run(() => fn(this.writer));
    } catch (err) {
      throw fromDuckDBError(err, spec && tableId(spec));
    }
  }

  private async read<T>(spec: TableSpec | undefined, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    try {
      return await this.readLock.run(() => fn(this.reader));
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw fromDuckDBError(err, spec && tableId(spec));
    }
  }

  /** Reads and checks the staged objects, in batch order (a later object's row wins the dedupe). */
  private async readStaged(spec: TableSpec, objects: readonly string[], allowedSlices?: ReadonlySet<string>): Promise<StagedRow[]> {
    const bodies = await Promise.all(
      objects.map(async (key) => {
        const body = await this.store.get(key);
        if (body === null) throw new PermanentError(`${key}: staged object not found`, { reason: 'notFound', table: tableId(spec) });
        return { key, body };
      }),
    );
    const rows: StagedRow[] = [];
    for (const { key, body } of bodies) {
      const parsed = parseObjectRows(spec, key, parseNdjson(spec, key, body), allowedSlices ? { allowedSlices } : {});
      for (const row of parsed) rows.push(row);
    }
    return rows;
  }

  /**
   * Appends rows into a fresh temp table with DuckDB's appender (the fast path: ~30k rows in
   * tens of milliseconds), runs the statement built from the staging table's name, drops it.
   * Returns the statement's changed-row count.
   */
  private async withStaging(
    spec: TableSpec,
    resolved: TableSpec,
    rows: readonly StagedRow[],
    statement: (stagingName: string) => { sql: string; params: string[] },
  ): Promise<number> {
    const stagingName = `_phasegate_stage_${++this.stagingSeq}`;
    return this.write(spec, async (conn) => {
      await conn.run(createStagingSql(resolved, stagingName));
      try {
        const appender = await conn.createAppender(stagingName, 'main', 'temp');
        try {
          for (const row of rows) {
            for (const value of row) {
              if (value === null) appender.appendNull();
              else if (typeof value === 'bigint') appender.appendBigInt(value);
              else if (typeof value === 'number') appender.appendDouble(value);
              else if (typeof value === 'boolean') appender.appendBoolean(value);
              // DATE, TIMESTAMP and JSON go in as text: the appender casts to the column type.
              else appender.appendVarchar(value);
            }
            appender.endRow();
          }
        } finally {
          appender.closeSync();
        }
        const { sql, params } = statement(stagingName);
        const result = await conn.run(sql, params);
        return result.rowsChanged;
      } finally {
        await conn.run(dropStagingSql(stagingName));
      }
    });
  }
}
