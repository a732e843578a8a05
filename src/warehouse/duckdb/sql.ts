/**
 * Every SQL statement the DuckDB warehouse runs, built by pure functions. Identifiers come
 * only from a TableSpec (the processor registry) and pass `quoteIdent`; values never appear
 * in the text — they are `$n` parameters bound by the caller.
 *
 * The specs handed in here are already resolved: `spec.dataset` is the DuckDB schema name,
 * i.e. the configured dataset prefix plus the registry's dataset.
 */
import { InputError } from '../../errors/input-error.ts';
import { type Column, type ColumnType, readOrder, type TableSpec } from '../../processors/types.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Double-quotes an identifier after checking it is a plain one; anything else is refused. */
export function quoteIdent(name: string): string {
  if (!IDENT.test(name)) throw new InputError(`not a valid SQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** BigQuery standard SQL type → DuckDB type. TIMESTAMP is absolute in BigQuery, hence TIMESTAMPTZ. */
export const DUCKDB_TYPES = {
  STRING: 'VARCHAR',
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  BOOL: 'BOOLEAN',
  DATE: 'DATE',
  TIMESTAMP: 'TIMESTAMPTZ',
  JSON: 'JSON',
} as const satisfies Record<ColumnType, string>;

export function qualifiedName(spec: Pick<TableSpec, 'dataset' | 'table'>): string {
  return `${quoteIdent(spec.dataset)}.${quoteIdent(spec.table)}`;
}

/**
 * Checks a spec's shape once, before any SQL is built from it: unique valid column names, a
 * non-empty primary key and a slice column that are columns of the table.
 */
export function validateSpec(spec: TableSpec): void {
  quoteIdent(spec.dataset);
  quoteIdent(spec.table);
  const names = new Set<string>();
  for (const col of spec.columns) {
    quoteIdent(col.name);
    if (names.has(col.name)) throw new InputError(`${spec.dataset}.${spec.table}: column ${col.name} declared twice`);
    names.add(col.name);
  }
  if (spec.primaryKey.length === 0) throw new InputError(`${spec.dataset}.${spec.table}: empty primary key`);
  for (const key of [...spec.primaryKey, spec.sliceColumn]) {
    if (!names.has(key)) throw new InputError(`${spec.dataset}.${spec.table}: ${key} is not a column`);
  }
}

function columnOf(spec: TableSpec, name: string): Column {
  const col = spec.columns.find((c) => c.name === name);
  if (!col) throw new InputError(`${spec.dataset}.${spec.table}: ${name} is not a column`);
  return col;
}

/** `CAST($from AS <slice type>), …` — slices travel as strings, cast to the column's type. */
export function sliceParamList(spec: TableSpec, count: number, from = 1): string {
  const type = DUCKDB_TYPES[columnOf(spec, spec.sliceColumn).type];
  return Array.from({ length: count }, (_, i) => `CAST($${from + i} AS ${type})`).join(', ');
}

function columnList(spec: TableSpec, alias?: string): string {
  return spec.columns.map((c) => (alias ? `${alias}.${quoteIdent(c.name)}` : quoteIdent(c.name))).join(', ');
}

function keyJoin(spec: TableSpec, left: string, right: string): string {
  return spec.primaryKey.map((k) => `${left}.${quoteIdent(k)} = ${right}.${quoteIdent(k)}`).join(' AND ');
}

export function createSchemaSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;
}

/**
 * No PRIMARY KEY constraint: BigQuery does not enforce one either, the MERGE's ON clause is
 * what keeps keys unique, and DuckDB's ART index would only slow bulk MERGEs down.
 */
export function createTableSql(spec: TableSpec): string {
  const cols = spec.columns.map((c) => `${quoteIdent(c.name)} ${DUCKDB_TYPES[c.type]}${c.nullable === false ? ' NOT NULL' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(spec)} (${cols.join(', ')})`;
}

/** The staging table has the target's columns without constraints: rows are validated before they are appended. */
export function createStagingSql(spec: TableSpec, stagingName: string): string {
  const cols = spec.columns.map((c) => `${quoteIdent(c.name)} ${DUCKDB_TYPES[c.type]}`);
  return `CREATE TEMP TABLE ${quoteIdent(stagingName)} (${cols.join(', ')})`;
}

/** Qualified with the temp catalog so a same-named permanent table can never be dropped instead. */
export function dropStagingSql(stagingName: string): string {
  return `DROP TABLE IF EXISTS temp.main.${quoteIdent(stagingName)}`;
}

/** How many move parameters follow the batch slices in `replaceSlicesSql`'s DELETE. */
export interface MergeMoveParams {
  /** Slices outside the batch an allowed move takes keys out of. */
  fromCount: number;
  /** The moved units (game ids). */
  unitCount: number;
}

/**
 * The group commit, in ONE transaction: delete the batch slices' rows, then insert every
 * staged row — the semantics of the BigQuery statement (../bigquery/sql.ts, mergeStatement: a
 * MERGE … ON FALSE that replaces the batch's partitions), as DuckDB runs it fastest (its MERGE
 * evaluates a slice filter row by row: ~2 s for 30k rows, against ~15 ms for DELETE + INSERT).
 * The DELETE's parameters: `$1..$sliceParamCount` the batch slices, then `move.fromCount`
 * slices an allowed move takes keys out of, then `move.unitCount` moved units, whose rows are
 * deleted there. The INSERT has none. Idempotent; the staging table holds one row per key.
 */
export function replaceSlicesSql(
  spec: TableSpec,
  stagingName: string,
  sliceParamCount: number,
  move: MergeMoveParams = { fromCount: 0, unitCount: 0 },
): { deleteSql: string | undefined; insertSql: string } {
  const slice = quoteIdent(spec.sliceColumn);
  let deleteSql: string | undefined;
  if (sliceParamCount > 0) {
    const slices = sliceParamList(spec, sliceParamCount);
    let scope = `${slice} IN (${slices})`;
    if (spec.unitColumn !== undefined && move.fromCount > 0 && move.unitCount > 0) {
      const unitsFrom = sliceParamCount + move.fromCount + 1;
      const units = Array.from({ length: move.unitCount }, (_, i) => `$${unitsFrom + i}`).join(', ');
      scope = `${slice} IN (${sliceParamList(spec, sliceParamCount + move.fromCount)}) AND (${slice} IN (${slices}) OR ${quoteIdent(spec.unitColumn)} IN (${units}))`;
    }
    deleteSql = `DELETE FROM ${qualifiedName(spec)} WHERE ${scope}`;
  }
  return { deleteSql, insertSql: insertSelectSql(spec, stagingName) };
}

export const BEGIN_SQL = 'BEGIN TRANSACTION';
export const COMMIT_SQL = 'COMMIT';

/**
 * Append-mode commit: inserts only rows whose key is not in the table yet, so a retried
 * commit of the same batch cannot duplicate log rows. Still one statement.
 *
 * The probe reads only the slices the staged rows are in, as BigQuery's is pruned to the
 * batch's partitions (bigquery/sql.ts `appendStatement`): a log table grows for ever (the run
 * log, a row per job run, appended in date order), and a probe of all of it cost each commit
 * more as it grew, holding DuckDB's one writer (every table's commits) meanwhile: a 34-row
 * append on a 1,000,000-row run log took 23–31 ms, now 8–9 ms as on 10,000 rows (`npm run
 * bench:commit`). The slices come from the staging table, not parameters: the statement stays
 * one call into DuckDB.
 */
export function appendSql(spec: TableSpec, stagingName: string): string {
  const slice = quoteIdent(spec.sliceColumn);
  const staging = quoteIdent(stagingName);
  return (
    `INSERT INTO ${qualifiedName(spec)} (${columnList(spec)}) SELECT ${columnList(spec, 's')} FROM ${staging} AS s ` +
    `WHERE NOT EXISTS (SELECT 1 FROM ${qualifiedName(spec)} AS t WHERE t.${slice} IN (SELECT ${slice} FROM ${staging}) AND ${keyJoin(spec, 't', 's')})`
  );
}

/** Plain INSERT … SELECT of every staged row, as a BigQuery load job (WRITE_APPEND) or streaming insert does. */
export function insertSelectSql(spec: TableSpec, stagingName: string): string {
  return `INSERT INTO ${qualifiedName(spec)} (${columnList(spec)}) SELECT ${columnList(spec)} FROM ${quoteIdent(stagingName)}`;
}

/** `DELETE … WHERE slice IN (…)`, narrowed to `column IN (…)` when given (a per-game delete: slice params first). */
export function deleteSlicesSql(spec: TableSpec, sliceParamCount: number, where?: { column: string; count: number }): string {
  const base = `DELETE FROM ${qualifiedName(spec)} WHERE ${quoteIdent(spec.sliceColumn)} IN (${sliceParamList(spec, sliceParamCount)})`;
  if (!where) return base;
  const type = DUCKDB_TYPES[columnOf(spec, where.column).type];
  const params = Array.from({ length: where.count }, (_, i) => `CAST($${sliceParamCount + 1 + i} AS ${type})`).join(', ');
  return `${base} AND ${quoteIdent(where.column)} IN (${params})`;
}

export function readSlicesSql(spec: TableSpec, sliceParamCount: number): string {
  const order = readOrder(spec).map(quoteIdent).join(', ');
  return `SELECT ${columnList(spec)} FROM ${qualifiedName(spec)} WHERE ${quoteIdent(spec.sliceColumn)} IN (${sliceParamList(spec, sliceParamCount)}) ORDER BY ${order}`;
}

export function presentSlicesSql(spec: TableSpec, sliceParamCount: number): string {
  const slice = quoteIdent(spec.sliceColumn);
  return `SELECT DISTINCT ${slice} AS slice FROM ${qualifiedName(spec)} WHERE ${slice} IN (${sliceParamList(spec, sliceParamCount)}) ORDER BY 1`;
}

/** Slices among `$1..$sliceParamCount` holding rows with `column >= $<sliceParamCount + 1>`. */
export function slicesWithRowsSinceSql(spec: TableSpec, sliceParamCount: number, column: string): string {
  const slice = quoteIdent(spec.sliceColumn);
  if (columnOf(spec, column).type !== 'TIMESTAMP') throw new InputError(`${spec.dataset}.${spec.table}: ${column} is not a TIMESTAMP`);
  return (
    `SELECT DISTINCT ${slice} AS slice FROM ${qualifiedName(spec)} WHERE ${slice} IN (${sliceParamList(spec, sliceParamCount)}) ` +
    `AND ${quoteIdent(column)} >= CAST($${sliceParamCount + 1} AS TIMESTAMPTZ) ORDER BY 1`
  );
}

/**
 * Rows per (slice, unit) among the slices `$1..$sliceParamCount` or, with `unitParamCount`
 * > 0, whose unit column is one of the next parameters (see `Warehouse.unitHoldings`).
 */
export function unitHoldingsSql(spec: TableSpec, sliceParamCount: number, unitParamCount: number): string {
  const slice = quoteIdent(spec.sliceColumn);
  const unit = spec.unitColumn === undefined ? `'*'` : `CAST(${quoteIdent(spec.unitColumn)} AS VARCHAR)`;
  const units =
    spec.unitColumn !== undefined && unitParamCount > 0
      ? ` OR ${quoteIdent(spec.unitColumn)} IN (${Array.from({ length: unitParamCount }, (_, i) => `$${sliceParamCount + 1 + i}`).join(', ')})`
      : '';
  return (
    `SELECT CAST(${slice} AS VARCHAR) AS slice, ${unit} AS unit, count(*) AS n FROM ${qualifiedName(spec)} ` +
    `WHERE ${slice} IN (${sliceParamList(spec, sliceParamCount)})${units} GROUP BY 1, 2 ORDER BY 1, 2`
  );
}

export function countRowsSql(spec: TableSpec): string {
  return `SELECT count(*) AS num_rows FROM ${qualifiedName(spec)}`;
}

/** `$1` schema, `$2` table. */
export function tableExistsSql(): string {
  return `SELECT count(*) AS n FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2`;
}

/** A table's columns in order: `$1` schema, `$2` table. */
export function describeColumnsSql(): string {
  return (
    'SELECT column_name, data_type, is_nullable FROM information_schema.columns ' +
    'WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2 ORDER BY ordinal_position'
  );
}

/** DuckDB's `information_schema` type names → the registry's GoogleSQL ones (DUCKDB_TYPES, reversed). */
export function googleSqlType(duckdbType: string): string {
  const upper = duckdbType.toUpperCase();
  if (upper === 'TIMESTAMP WITH TIME ZONE') return 'TIMESTAMP';
  const found = Object.entries(DUCKDB_TYPES).find(([, duck]) => duck === upper);
  return found ? found[0] : upper;
}

/** Adds one column, always nullable: a table with rows cannot take a NOT NULL column without a default. */
export function addColumnSql(spec: TableSpec, column: Column): string {
  return `ALTER TABLE ${qualifiedName(spec)} ADD COLUMN IF NOT EXISTS ${quoteIdent(column.name)} ${DUCKDB_TYPES[column.type]}`;
}

/** The view `name` reading `query`, replacing an older definition. */
export function createViewSql(name: Pick<TableSpec, 'dataset' | 'table'>, query: string): string {
  return `CREATE OR REPLACE VIEW ${qualifiedName(name)} AS\n${query}`;
}

/** Read-only transaction: the last guard behind `query()`'s statement check. */
export const BEGIN_READ_ONLY_SQL = 'BEGIN TRANSACTION READ ONLY';
export const ROLLBACK_SQL = 'ROLLBACK';
/**
 * A read-only open for people's queries: external access off (files, URLs, extensions), then
 * the configuration locked so no query turns it back on (duckdb.org/docs/stable/configuration/overview).
 */
export const LOCK_DOWN_SQL = ['SET enable_external_access = false', 'SET lock_configuration = true'] as const;
/** BigQuery reads zone-less timestamps as UTC; DuckDB uses the session time zone, so pin it. */
export const SET_UTC_SQL = `SET TimeZone = 'UTC'`;
