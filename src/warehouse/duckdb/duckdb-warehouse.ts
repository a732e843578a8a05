/**
 * The embedded default warehouse: one DuckDB database (a file, or `:memory:`). A dataset is a
 * DuckDB schema, a table a table; a commit stages the batch's NDJSON into a temp table and
 * lands it in ONE transaction that replaces the batch's slices (or one INSERT … SELECT in
 * append mode), the semantics of the BigQuery adapter's one MERGE.
 *
 * BigQuery's per-table limits are not enforced here; wrap it in `BigQueryRulesWarehouse`.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../../errors/input-error.ts';
import { IntegrityGuardError } from '../../errors/integrity-guard-error.ts';
import { PermanentError } from '../../errors/permanent-error.ts';
import { TransientError } from '../../errors/transient-error.ts';
import { type GuardedSlice, type Holding, holdingsToRead, wouldHarm } from '../../integrity/holdings.ts';
import { type Column, type Row, type TableSpec, tableId } from '../../processors/types.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { ReportRunner } from '../reports/sql-reports.ts';
import { SqlReports } from '../reports/sql-reports.ts';
import { missingColumns } from '../schema-diff.ts';
import type {
  CommitBatch,
  CommitResult,
  EmulatedWarehouse,
  QueryParams,
  TableDescription,
  TableMetadata,
  WarehouseCapabilities,
  WarehouseReports,
} from '../types.ts';
import { DuckDBDatabase } from './database.ts';
import { DUCKDB_DIALECT } from './dialect.ts';
import type { GuestReader } from './guest-reader.ts';
import { checkReadOnlySql } from './read-only.ts';
import { type ReadOnlyResult, readAllInOneSnapshot, readRowsInOneSnapshot, runReadOnlyQuery } from './read-only-query.ts';
import {
  addColumnSql,
  appendSql,
  BEGIN_SQL,
  COMMIT_SQL,
  countRowsSql,
  createSchemaSql,
  createStagingSql,
  createTableSql,
  createViewSql,
  deleteSlicesSql,
  describeColumnsSql,
  dropStagingSql,
  googleSqlType,
  insertSelectSql,
  presentSlicesSql,
  qualifiedName,
  ROLLBACK_SQL,
  readSlicesSql,
  replaceSlicesSql,
  slicesWithRowsSinceSql,
  tableExistsSql,
  unitHoldingsSql,
  validateSpec,
} from './sql.ts';
import { firstPerKey, parseNdjson, parseObjectRows, type StagedRow } from './staged-rows.ts';
import { readStatement, runStatement } from './statement.ts';
import { bindParams, toCell } from './values.ts';

/**
 * Rows per (slice, unit) of `slices`, and of `units` wherever they are (`Warehouse.unitHoldings`),
 * read on `conn` by `read`: in a snapshot of its own, or inside the caller's transaction.
 */
async function holdingsOn(
  read: typeof readStatement,
  conn: DuckDBConnection,
  resolved: TableSpec,
  slices: readonly string[],
  units: readonly string[],
): Promise<Holding[]> {
  const reader = await read(conn, unitHoldingsSql(resolved, slices.length, units.length), [...slices, ...units]);
  return reader.getRowObjects().map((r) => ({ slice: String(r.slice), unit: String(r.unit), rows: Number(r.n) }));
}

/** A staged object's bytes and its key (named in errors). */
interface StagedBody {
  key: string;
  body: Buffer;
}

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
  /**
   * Open for reading only, with external access (files, URLs, extensions) disabled and the
   * configuration locked: what `phasegate sql` runs people's queries on. The file must exist.
   * @defaultValue false
   */
  readOnly?: boolean;
  /**
   * DuckDB's `memory_limit`, e.g. `256MB` (PHASEGATE_DUCKDB_MEMORY_LIMIT).
   * @defaultValue DuckDB's own: 80 % of the machine's RAM
   */
  memoryLimit?: string | undefined;
  /**
   * DuckDB's `threads` (PHASEGATE_DUCKDB_THREADS).
   * @defaultValue DuckDB's own: one per core
   */
  threads?: number | undefined;
  /**
   * DuckDB's `checkpoint_threshold`, e.g. `16MB` (PHASEGATE_DUCKDB_CHECKPOINT_THRESHOLD).
   * @defaultValue DuckDB's own: 16MB
   */
  checkpointThreshold?: string | undefined;
}

const DEFAULTS = { datasetPrefix: '', readOnly: false } satisfies Partial<DuckDBWarehouseOptions>;

/** A read-only open (duckdb.org/docs/stable/configuration/overview); external access is shut right after (see `open`). */
const READ_ONLY_SETTINGS = { access_mode: 'READ_ONLY' } as const;

export class DuckDBWarehouse implements EmulatedWarehouse {
  /** No quotas and no streaming buffer of its own: the rules layer (`rules/`) adds BigQuery's. */
  readonly capabilities: WarehouseCapabilities = { countsAsDailyModification: () => false };
  readonly datasetPrefix: string;
  // Writes and reads run on a connection each (see DuckDBDatabase) so a long read never waits
  // behind a MERGE (DuckDB is MVCC: a read sees the last committed state). A read given values
  // is prepared and run in one transaction (`readAllInOneSnapshot`): a commit landing between
  // the two could otherwise read back wrong. (The writer needs no such care: no other
  // connection commits between its prepare and its run.)
  private readonly db: DuckDBDatabase;
  private readonly store: ObjectStore;
  private readonly readOnly: boolean;
  private stagingSeq = 0;
  private closed = false;
  readonly reports: WarehouseReports = new SqlReports(this.reportRunner());

  private constructor(db: DuckDBDatabase, store: ObjectStore, datasetPrefix: string, readOnly: boolean) {
    this.db = db;
    this.store = store;
    this.datasetPrefix = datasetPrefix;
    this.readOnly = readOnly;
  }

  static async open(opts: DuckDBWarehouseOptions): Promise<DuckDBWarehouse> {
    const datasetPrefix = opts.datasetPrefix ?? DEFAULTS.datasetPrefix;
    if (datasetPrefix !== '' && !/^[A-Za-z0-9_]+$/.test(datasetPrefix)) {
      throw new InputError(`dataset prefix must be letters, digits and _ only: ${JSON.stringify(datasetPrefix)}`);
    }
    const readOnly = opts.readOnly ?? DEFAULTS.readOnly;
    if (opts.path !== ':memory:' && !readOnly) await mkdir(path.dirname(path.resolve(opts.path)), { recursive: true });
    // Given at creation: a read-only open locks the configuration right after (LOCK_DOWN_SQL).
    const settings = {
      ...(readOnly ? READ_ONLY_SETTINGS : {}),
      ...(opts.memoryLimit === undefined ? {} : { memory_limit: opts.memoryLimit }),
      ...(opts.threads === undefined ? {} : { threads: String(opts.threads) }),
      ...(opts.checkpointThreshold === undefined ? {} : { checkpoint_threshold: opts.checkpointThreshold }),
    };
    const db = await DuckDBDatabase.open({ path: opts.path, settings, readOnly });
    return new DuckDBWarehouse(db, opts.store, datasetPrefix, readOnly);
  }

  /** The DuckDB schema a spec's dataset lives in: the dataset prefix plus the dataset. */
  schemaOf(spec: Pick<TableSpec, 'dataset'>): string {
    return `${this.datasetPrefix}${spec.dataset}`;
  }

  datasetOf(spec: Pick<TableSpec, 'dataset'>): string {
    return this.schemaOf(spec);
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

  /**
   * Creates the schema and table if missing, and adds the registry's columns an older table
   * lacks (nullable): a DuckDB file from an earlier phasegate version keeps working.
   */
  async ensureTable(spec: TableSpec): Promise<void> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    const described = await this.describeTable(spec);
    await this.write(spec, async (conn) => {
      if (!described) {
        await conn.run(createSchemaSql(resolved.dataset));
        await conn.run(createTableSql(resolved));
        return;
      }
      for (const column of missingColumns(spec, described)) await conn.run(addColumnSql(resolved, column));
    });
  }

  async describeTable(spec: TableSpec): Promise<TableDescription | null> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    const reader = await this.read(spec, (conn) => readAllInOneSnapshot(conn, describeColumnsSql(), [resolved.dataset, resolved.table]));
    const rows = reader.getRowObjects();
    if (rows.length === 0) return null;
    return {
      columns: rows.map((r) => ({ name: String(r.column_name), type: googleSqlType(String(r.data_type)), nullable: String(r.is_nullable) === 'YES' })),
    };
  }

  async addColumns(spec: TableSpec, columns: readonly Column[]): Promise<void> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (columns.length === 0) return;
    await this.write(spec, async (conn) => {
      for (const column of columns) await conn.run(addColumnSql(resolved, column));
    });
  }

  async tableExists(spec: TableSpec): Promise<boolean> {
    const resolved = this.resolve(spec);
    const rows = await this.read(spec, (conn) => readAllInOneSnapshot(conn, tableExistsSql(), [resolved.dataset, resolved.table]));
    return Number(rows.getRowObjects()[0]?.n ?? 0) > 0;
  }

  /**
   * Lands a batch streamed: its objects are fetched first, then parsed one at a time under the
   * write lock, newest first, each row appended to the staging table as it passes the dedupe.
   * So only one object's rows are in the heap at once, and only for the commit that is writing:
   * commits of other tables wait holding their objects' bytes (outside the heap), not their rows.
   */
  async commit(batch: CommitBatch): Promise<CommitResult> {
    const spec = this.resolve(batch.table);
    this.assertOpen();
    const bodies = await this.fetchStaged(batch.table, batch.objects);
    const allowedSlices = new Set(batch.slices);
    const moveFrom = spec.unitColumn === undefined ? [] : [...new Set(batch.moveFrom ?? [])].filter((s) => !batch.slices.includes(s));
    const moveUnits = moveFrom.length > 0 ? [...new Set(batch.moveUnits ?? [])] : [];
    let rowsStaged = 0;
    const fill = (append: (row: StagedRow) => void) => {
      const fresh = firstPerKey(spec);
      for (let o = bodies.length - 1; o >= 0; o--) {
        const { key, body } = bodies[o] as StagedBody;
        const rows = parseObjectRows(spec, key, parseNdjson(spec, key, body), { allowedSlices });
        rowsStaged += rows.length;
        for (let i = rows.length - 1; i >= 0; i--) if (fresh(rows[i] as StagedRow)) append(rows[i] as StagedRow);
      }
    };
    const { guard } = batch;
    // Under the write lock, in the statements' own transaction: no commit lands in between.
    const judge = guard && spec.writeMode !== 'append' ? (conn: DuckDBConnection) => this.judgeGuard(conn, batch.table, spec, guard) : undefined;
    const rowsAffected = await this.withStaging(
      batch.table,
      spec,
      fill,
      (stagingName) => {
        if (spec.writeMode === 'append') return [{ sql: appendSql(spec, stagingName), params: [] }];
        const { deleteSql, insertSql } = replaceSlicesSql(spec, stagingName, batch.slices.length, { fromCount: moveFrom.length, unitCount: moveUnits.length });
        return [...(deleteSql ? [{ sql: deleteSql, params: [...batch.slices, ...moveFrom, ...moveUnits] }] : []), { sql: insertSql, params: [] }];
      },
      judge,
    );
    return { rowsAffected, rowsStaged };
  }

  /**
   * A guarded commit's judgement, on the writer inside the commit's transaction: the holdings
   * the gate's read would see, judged the same way.
   */
  private async judgeGuard(conn: DuckDBConnection, declared: TableSpec, resolved: TableSpec, guard: readonly GuardedSlice[]): Promise<void> {
    const { slices, units } = holdingsToRead(resolved, guard);
    if (slices.length === 0) return;
    if (wouldHarm(resolved, guard, await holdingsOn(readStatement, conn, resolved, slices, units))) throw new IntegrityGuardError(tableId(declared));
  }

  /**
   * Appends staged objects as they are, like a BigQuery load job with WRITE_APPEND: no
   * dedupe, no slice ownership. For the rules layer's `loadJob` (naive/benchmark modes).
   */
  async load(spec: TableSpec, objects: readonly string[]): Promise<CommitResult> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    const bodies = await this.fetchStaged(spec, objects);
    let rowsStaged = 0;
    const fill = (append: (row: StagedRow) => void) => {
      for (const { key, body } of bodies) {
        const rows = parseObjectRows(spec, key, parseNdjson(spec, key, body));
        rowsStaged += rows.length;
        for (const row of rows) append(row);
      }
    };
    const rowsAffected = await this.withStaging(spec, resolved, fill, (stagingName) => [{ sql: insertSelectSql(resolved, stagingName), params: [] }]);
    return { rowsAffected, rowsStaged };
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
    const fill = (append: (row: StagedRow) => void) => {
      for (const row of staged) append(row);
    };
    return this.withStaging(spec, resolved, fill, (stagingName) => [{ sql: insertSelectSql(resolved, stagingName), params: [] }]);
  }

  /** `DELETE … WHERE slice IN (…)` (and `column IN (…)` when `where` is given); returns rows deleted. */
  async deleteSlices(spec: TableSpec, slices: readonly string[], where?: { column: string; values: readonly string[] }): Promise<number> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0 || where?.values.length === 0) return 0;
    const narrowed = where ? { column: where.column, count: where.values.length } : undefined;
    return this.write(
      spec,
      async (conn) => (await runStatement(conn, deleteSlicesSql(resolved, slices.length, narrowed), [...slices, ...(where?.values ?? [])])).rowsChanged,
    );
  }

  async query(sql: string, params: QueryParams = {}): Promise<Row[]> {
    checkReadOnlySql(sql);
    this.assertOpen();
    return (await this.read(undefined, (conn) => runReadOnlyQuery(conn, sql, params))).rows;
  }

  /**
   * The reader the read relay runs other processes' queries on: its own connection, which shuts
   * external access for the whole database when it opens (see `DuckDBDatabase.guestReader`).
   */
  async openGuestReader(): Promise<GuestReader> {
    this.assertOpen();
    if (this.readOnly) throw new InputError('a read-only DuckDB warehouse does not hold its file: it has no reads to serve');
    return this.db.guestReader(() => this.assertOpen());
  }

  /**
   * A person's query bounded as the read relay bounds it: at most `maxRows` rows read, stopped
   * (DuckDB's interrupt) at `deadline`. What `phasegate sql` runs when it opened the file itself,
   * so it lets go of the file by the deadline like a read through the holder. A read-only
   * warehouse is locked down already and runs it on its read connection; a writable one on the
   * guest connection.
   */
  async boundedQuery(sql: string, params: QueryParams, bounds: { maxRows: number; deadline: number }): Promise<ReadOnlyResult> {
    this.assertOpen();
    return (await this.db.guestReader(() => this.assertOpen())).query(sql, params, bounds);
  }

  async readSlices(spec: TableSpec, slices: readonly string[]): Promise<Row[]> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0) return [];
    return this.read(spec, (conn) => readRowsInOneSnapshot(conn, readSlicesSql(resolved, slices.length), [...slices]));
  }

  async presentSlices(spec: TableSpec, slices: readonly string[]): Promise<string[]> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0) return [];
    const reader = await this.read(spec, (conn) => readAllInOneSnapshot(conn, presentSlicesSql(resolved, slices.length), [...slices]));
    return reader.getRowObjects().map((r) => String(toCell(r.slice ?? null)));
  }

  async slicesWithRowsSince(spec: TableSpec, slices: readonly string[], since: Date, column: string): Promise<string[]> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0) return [];
    const sql = slicesWithRowsSinceSql(resolved, slices.length, column);
    const reader = await this.read(spec, (conn) => readAllInOneSnapshot(conn, sql, [...slices, since.toISOString()]));
    return reader.getRowObjects().map((r) => String(toCell(r.slice ?? null)));
  }

  async unitHoldings(spec: TableSpec, slices: readonly string[], units: readonly string[]): Promise<Holding[]> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    if (slices.length === 0 && units.length === 0) return [];
    const unitParams = spec.unitColumn === undefined ? [] : units;
    return this.read(spec, (conn) => holdingsOn(readAllInOneSnapshot, conn, resolved, slices, unitParams));
  }

  async tableMetadata(spec: TableSpec): Promise<TableMetadata> {
    const resolved = this.resolve(spec);
    this.assertOpen();
    const reader = await this.read(spec, (conn) => conn.runAndReadAll(countRowsSql(resolved)));
    return { numRows: Number(reader.getRowObjects()[0]?.num_rows ?? 0) };
  }

  /** The reports' way in: report statements on the reader connection, their parameters bound as text (the dialect casts them). */
  private reportRunner(): ReportRunner {
    return {
      dialect: DUCKDB_DIALECT,
      tableName: (spec) => qualifiedName(this.resolve(spec)),
      select: async (statement, spec) => {
        this.assertOpen();
        const params = Object.fromEntries(Object.entries(statement.params).map(([name, p]) => [name, p.value]));
        const bound = bindParams(params);
        return this.read(spec, (conn) => readRowsInOneSnapshot(conn, statement.sql, bound.values, bound.types));
      },
      // `CREATE OR REPLACE` is cheap in DuckDB, so the view is simply rewritten on every ensure.
      ensureView: async (log, view, query) => {
        const resolved = this.resolve(log);
        this.assertOpen();
        await this.write(log, async (conn) => {
          await conn.run(createViewSql({ dataset: resolved.dataset, table: view }, query));
        });
      },
    };
  }

  /** Waits for running statements, then releases the connections and the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  private write<T>(spec: TableSpec | undefined, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.db.write(spec && tableId(spec), fn);
  }

  private read<T>(spec: TableSpec | undefined, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.db.read(spec && tableId(spec), fn);
  }

  /** The staged objects' bytes, in batch order; a missing one fails the batch before anything is written. */
  private async fetchStaged(spec: TableSpec, objects: readonly string[]): Promise<StagedBody[]> {
    return Promise.all(
      objects.map(async (key) => {
        const body = await this.store.get(key);
        if (body === null) throw new PermanentError(`${key}: staged object not found`, { reason: 'notFound', table: tableId(spec) });
        return { key, body };
      }),
    );
  }

  /**
   * Appends rows into a fresh temp table with DuckDB's appender (the fast path: ~30k rows in
   * tens of milliseconds) as `fill` hands them over, runs the statements built from the staging
   * table's name after `judge` if given, drops it. Returns the rows they changed.
   *
   * All of it is one transaction, from the staging table's creation to its drop: the statements
   * land all or none, a `fill` or `judge` that throws (a bad row, a refused guard) leaves every
   * table as it was, and a rollback takes the staging table with it. So the transaction's ends
   * ride on the calls next to them (BEGIN with the creation, COMMIT with the drop): each call
   * into DuckDB costs a busy process 1–2 ms of waiting for the event loop (statement.ts), and a
   * group commit made seven of them, now five (a log table's append three, as before).
   */
  private async withStaging(
    spec: TableSpec,
    resolved: TableSpec,
    fill: (append: (row: StagedRow) => void) => void,
    statements: (stagingName: string) => { sql: string; params: string[] }[],
    judge?: (conn: DuckDBConnection) => Promise<void>,
  ): Promise<number> {
    const stagingName = `_phasegate_stage_${++this.stagingSeq}`;
    return this.write(spec, async (conn) => {
      try {
        await conn.run(`${BEGIN_SQL}; ${createStagingSql(resolved, stagingName)}`);
        const appender = await conn.createAppender(stagingName, 'main', 'temp');
        try {
          fill((row) => {
            for (const value of row) {
              if (value === null) appender.appendNull();
              else if (typeof value === 'bigint') appender.appendBigInt(value);
              else if (typeof value === 'number') appender.appendDouble(value);
              else if (typeof value === 'boolean') appender.appendBoolean(value);
              // DATE, TIMESTAMP and JSON go in as text: the appender casts to the column type.
              else appender.appendVarchar(value);
            }
            appender.endRow();
          });
        } finally {
          appender.closeSync();
        }
        // A read in the same transaction: what the statements will change, and no snapshot of its own.
        await judge?.(conn);
        let changed = 0;
        for (const step of statements(stagingName)) changed += (await runStatement(conn, step.sql, step.params)).rowsChanged;
        await conn.run(`${dropStagingSql(stagingName)}; ${COMMIT_SQL}`);
        return changed;
      } catch (err) {
        await conn.run(ROLLBACK_SQL).catch(() => undefined);
        throw err;
      }
    });
  }
}
