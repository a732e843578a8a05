/**
 * Every GoogleSQL statement the BigQuery warehouse runs, built by pure functions. Identifiers
 * (project, dataset, table, columns) come only from a TableSpec and the configured project,
 * pass a strict pattern and are backquoted; values never appear in the text — they travel as
 * named query parameters (`@slices`, see `params.ts`).
 */
import { InputError } from '../../errors/input-error.ts';
import { canMove } from '../../integrity/holdings.ts';
import type { Column, TableSpec } from '../../processors/types.ts';
import { readOrder, tableId } from '../../processors/types.ts';
import { EVERY_DATE } from '../reports/report-sql.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Google Cloud project ids: 6–30 characters, lowercase letters, digits and hyphens.
const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** The name the query job's temporary external table is declared under (`tableDefinitions`). */
export const STAGING_TABLE = 'staging';
/** The named parameter holding the batch slices, an `ARRAY<DATE>`. */
export const SLICES_PARAM = 'slices';
/** The named TIMESTAMP parameter of `slicesWithRowsSinceStatement`. */
export const SINCE_PARAM = 'since';
// Namespaced so it cannot collide with a registry column; it never reaches the target.
const ROW_NUMBER_COLUMN = '_phasegate_rn';

/** Backquotes an identifier after checking it is a plain one; anything else is refused. */
export function quoteIdent(name: string): string {
  if (!IDENT.test(name)) throw new InputError(`not a valid BigQuery identifier: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

export function validateProjectId(projectId: string): string {
  if (!PROJECT.test(projectId)) throw new InputError(`not a valid Google Cloud project id: ${JSON.stringify(projectId)}`);
  return projectId;
}

/** Where a spec's table lives in BigQuery: the dataset carries the configured prefix. */
export interface TableLocation {
  projectId: string;
  /** The BigQuery dataset name, i.e. the configured prefix plus `spec.dataset`. */
  dataset: string;
  table: string;
}

/** `` `project.dataset.table` ``: one backquoted path, since project ids may contain `-`. */
export function qualifiedName(where: TableLocation): string {
  validateProjectId(where.projectId);
  quoteIdent(where.dataset);
  quoteIdent(where.table);
  return `\`${where.projectId}.${where.dataset}.${where.table}\``;
}

/**
 * Checks a spec's shape once, before any SQL is built from it: unique valid column names, a
 * non-empty primary key and a DATE slice column that are columns of the table.
 */
export function validateSpec(spec: TableSpec): void {
  quoteIdent(spec.dataset);
  quoteIdent(spec.table);
  const names = new Map<string, Column>();
  for (const col of spec.columns) {
    quoteIdent(col.name);
    // BigQuery column names are case-insensitive, so `Pts` and `pts` collide.
    const folded = col.name.toLowerCase();
    if ([...names.keys()].some((n) => n.toLowerCase() === folded)) {
      throw new InputError(`${tableId(spec)}: column ${col.name} declared twice`);
    }
    names.set(col.name, col);
  }
  if (spec.primaryKey.length === 0) throw new InputError(`${tableId(spec)}: empty primary key`);
  for (const key of [...spec.primaryKey, ...(spec.clusterBy ?? []), spec.sliceColumn]) {
    if (!names.has(key)) throw new InputError(`${tableId(spec)}: ${key} is not a column`);
  }
  if (names.get(spec.sliceColumn)?.type !== 'DATE') {
    // The table is day-partitioned on the slice column and slices travel as ARRAY<DATE>.
    throw new InputError(`${tableId(spec)}: slice column ${spec.sliceColumn} must be a DATE`);
  }
  if ((spec.clusterBy?.length ?? 0) > 4) {
    throw new InputError(`${tableId(spec)}: BigQuery clusters on at most 4 columns`);
  }
}

function columnList(spec: TableSpec, alias?: string): string {
  return spec.columns.map((c) => (alias ? `${alias}.${quoteIdent(c.name)}` : quoteIdent(c.name))).join(', ');
}

function keyJoin(spec: TableSpec, left: string, right: string): string {
  return spec.primaryKey.map((k) => `${left}.${quoteIdent(k)} = ${right}.${quoteIdent(k)}`).join(' AND ');
}

/**
 * The staged rows with one row per primary key. Staged cells are plain NDJSON values, so a
 * JSON column is staged as JSON text (a STRING in the external table) and parsed here. When
 * a key appears twice in one batch (a game re-dated between two staged slices), the latest
 * slice wins: a MERGE whose source matches a target row twice fails outright.
 */
function dedupedStaging(spec: TableSpec): string {
  const projection = spec.columns
    .map((c) => (c.type === 'JSON' ? `PARSE_JSON(${quoteIdent(c.name)}) AS ${quoteIdent(c.name)}` : quoteIdent(c.name)))
    .join(', ');
  const partition = spec.primaryKey.map(quoteIdent).join(', ');
  const rn = quoteIdent(ROW_NUMBER_COLUMN);
  return (
    `SELECT * EXCEPT(${rn}) FROM (\n` +
    `    SELECT ${projection},\n` +
    `      ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY ${quoteIdent(spec.sliceColumn)} DESC) AS ${rn}\n` +
    `    FROM ${quoteIdent(STAGING_TABLE)}\n` +
    `  ) WHERE ${rn} = 1`
  );
}

/** The named ARRAY<DATE> of the partitions a merge may delete from: the batch slices plus any move sources. */
export const SCOPE_PARAM = 'scope';
/** The named ARRAY<STRING> of units (game ids) an allowed move takes out of their old slices. */
export const MOVE_UNITS_PARAM = 'move_units';

/** Whether a spec's merge statement carries the move parameters (`@scope`, `@move_units`). */
export function mergeMoves(spec: TableSpec): boolean {
  return spec.unitColumn !== undefined;
}

/**
 * The group commit: ONE MERGE that replaces the batch's slices with the staged rows — every
 * staged row is inserted, every target row of a batch slice is deleted — in one statement, one
 * job, atomically. `ON FALSE` is the point: no target row can match, so the only clause that
 * reads the target is the `NOT MATCHED BY SOURCE` delete, and its search condition is a
 * constant filter on the partitioning column (`@slices`, `@scope`: query parameters). BigQuery
 * prunes a MERGE by a filter in a when_clause's search_condition, while a keyed MERGE with both
 * `WHEN NOT MATCHED` and `WHEN NOT MATCHED BY SOURCE` "usually performs a full outer join, which
 * can't be pruned" (cloud.google.com/bigquery/docs/using-dml-with-partitioned-tables, "Pruning
 * partitions when using a MERGE statement"; the ON FALSE replace form is in the MERGE examples
 * of cloud.google.com/bigquery/docs/reference/standard-sql/dml-syntax). So a commit reads and
 * writes its own partitions only, however big the table grows.
 *
 * Moves: a key re-dated by an allowed move (`--allow-move`) still sits under its old slice. The
 * gate passes those slices (`moveFrom`, in `@scope`) and their units (`@move_units`): rows of a
 * moved unit are deleted there too, so the unit ends up under its new slice only. Without moves
 * `@scope` = `@slices` and `@move_units` is empty.
 *
 * Idempotent: run twice, the second run deletes what the first inserted and inserts it again.
 * `dmlStats.insertedRowCount` is the number of distinct staged keys.
 */
export function mergeStatement(where: TableLocation, spec: TableSpec, guarded = false): string {
  validateSpec(spec);
  const slice = `T.${quoteIdent(spec.sliceColumn)}`;
  const scope =
    mergeMoves(spec) && spec.unitColumn !== undefined
      ? `${slice} IN UNNEST(@${SCOPE_PARAM}) AND (${slice} IN UNNEST(@${SLICES_PARAM}) OR T.${quoteIdent(spec.unitColumn)} IN UNNEST(@${MOVE_UNITS_PARAM}))`
      : `${slice} IN UNNEST(@${SLICES_PARAM})`;
  // Guarded: every staged row passes the guard, so a batch with any row cannot land past it (a
  // batch with none is a DELETE, guarded on the rows it deletes).
  const source = guarded ? `SELECT * FROM (\n  ${dedupedStaging(spec)}\n  ) WHERE ${guardCondition(where, spec)}` : dedupedStaging(spec);
  return [
    `MERGE ${qualifiedName(where)} AS T`,
    `USING (\n  ${source}\n) AS S`,
    'ON FALSE',
    `WHEN NOT MATCHED BY TARGET THEN INSERT (${columnList(spec)}) VALUES (${columnList(spec, 'S')})`,
    `WHEN NOT MATCHED BY SOURCE AND ${scope} THEN DELETE`,
  ].join('\n');
}

/**
 * Append-mode commit (log tables): ONE INSERT … SELECT of the staged rows whose key is not in
 * the batch's slices yet, so a commit retried under a new job id cannot duplicate rows.
 * The NOT EXISTS probe is pruned to `@slices` to scan only those partitions.
 */
export function appendStatement(where: TableLocation, spec: TableSpec): string {
  validateSpec(spec);
  const target = qualifiedName(where);
  const slice = quoteIdent(spec.sliceColumn);
  return [
    `INSERT INTO ${target} (${columnList(spec)})`,
    `SELECT ${columnList(spec, 'S')} FROM (\n  ${dedupedStaging(spec)}\n) AS S`,
    `WHERE NOT EXISTS (SELECT 1 FROM ${target} AS T WHERE T.${slice} IN UNNEST(@${SLICES_PARAM}) AND ${keyJoin(spec, 'T', 'S')})`,
  ].join('\n');
}

/** A batch with no staged object: its slices hold no rows any more. */
export function deleteSlicesStatement(where: TableLocation, spec: TableSpec, guarded = false): string {
  validateSpec(spec);
  // Guarded: the guard is met by every row the DELETE would take, so none goes past it.
  const guard = guarded ? ` AND ${guardCondition(where, spec)}` : '';
  return `DELETE FROM ${qualifiedName(where)} WHERE ${quoteIdent(spec.sliceColumn)} IN UNNEST(@${SLICES_PARAM})${guard}`;
}

export function readSlicesStatement(where: TableLocation, spec: TableSpec): string {
  validateSpec(spec);
  const order = readOrder(spec).map(quoteIdent).join(', ');
  return `SELECT ${columnList(spec)} FROM ${qualifiedName(where)} ` + `WHERE ${quoteIdent(spec.sliceColumn)} IN UNNEST(@${SLICES_PARAM}) ORDER BY ${order}`;
}

/** The column naming the read a row of `readTablesStatement` belongs to: 0, 1, … in the order of the reads. */
export const PART_COLUMN = '_phasegate_part';

/** The named ARRAY<DATE> of the slices `readTablesStatement` reads of its `i`-th table. */
export function partSlicesParam(i: number): string {
  return `${SLICES_PARAM}_${i}`;
}

/** Where a column of the `i`-th table sits in `readTablesStatement`'s result: `p<i>_<k>`, whatever its name. */
function partColumn(i: number, k: number): string {
  return quoteIdent(`p${i}_${k}`);
}

/**
 * Several tables' slices in ONE statement, one query job: each table's rows as
 * `readSlicesStatement` reads them, under `UNION ALL`. The tables' columns differ, so each
 * branch fills the others' columns with NULLs of their type, and every column is named by its
 * place (`p<i>_<k>`: names of two tables may clash, with other types); `PART_COLUMN` says which
 * table a row is of. Each branch is pruned to its own slices' partitions (`@slices_<i>`).
 * Ordered by table, then each table's slice and key, as a read of its own is.
 */
export function readTablesStatement(parts: readonly { where: TableLocation; spec: TableSpec }[]): string {
  for (const { spec } of parts) validateSpec(spec);
  const branches = parts.map(({ where, spec }, i) => {
    const cells = parts.flatMap((other, j) =>
      other.spec.columns.map((c, k) => `${i === j ? quoteIdent(c.name) : `CAST(NULL AS ${c.type})`} AS ${partColumn(j, k)}`),
    );
    return (
      `SELECT ${i} AS ${quoteIdent(PART_COLUMN)}, ${cells.join(', ')} FROM ${qualifiedName(where)} ` +
      `WHERE ${quoteIdent(spec.sliceColumn)} IN UNNEST(@${partSlicesParam(i)})`
    );
  });
  const order = parts.flatMap(({ spec }, i) =>
    readOrder(spec).map((name) =>
      partColumn(
        i,
        spec.columns.findIndex((c) => c.name === name),
      ),
    ),
  );
  return `${branches.join('\nUNION ALL\n')}\nORDER BY ${[quoteIdent(PART_COLUMN), ...order].join(', ')}`;
}

export function presentSlicesStatement(where: TableLocation, spec: TableSpec): string {
  validateSpec(spec);
  const slice = quoteIdent(spec.sliceColumn);
  return `SELECT DISTINCT ${slice} AS slice FROM ${qualifiedName(where)} WHERE ${slice} IN UNNEST(@${SLICES_PARAM}) ORDER BY slice`;
}

/** The named parameter holding the units (game ids) of `unitHoldingsStatement`, an `ARRAY<STRING>`. */
export const UNITS_PARAM = 'units';

/**
 * Rows per (slice, unit) among `@slices` or whose unit column is in `@units` (see
 * `Warehouse.unitHoldings`), as two reads that cannot overlap. The slice branch is pruned to
 * the batch's partitions. The unit branch cannot be pruned by partition — a game may sit under
 * any date — but it filters on the unit column alone, which leads the table's clustering (the
 * primary key), so BigQuery reads only the blocks whose game-id range holds a batch game
 * (block pruning, cloud.google.com/bigquery/docs/clustered-tables) rather than the whole
 * table; an OR across both columns would defeat both prunings. The unit branch still names
 * the partitioning column with a constant bound (`EVERY_DATE`, every date there is): a table
 * with `requirePartitionFilter` refuses a query over it without "a filter over column(s) …
 * that can be used for partition elimination" (cloud.google.com/bigquery/docs/querying-partitioned-tables,
 * "Require a partition filter in queries"), and `NOT IN` is none.
 */
export function unitHoldingsStatement(where: TableLocation, spec: TableSpec, withUnits: boolean): string {
  validateSpec(spec);
  return `${holdingsQuery(where, spec, withUnits, { slices: SLICES_PARAM, units: UNITS_PARAM, sliceType: 'STRING' })} ORDER BY slice, unit`;
}

/** `unitHoldingsStatement`'s read, its slices and units from the named parameters, the slice as a STRING or a DATE. */
function holdingsQuery(
  where: TableLocation,
  spec: TableSpec,
  withUnits: boolean,
  names: { slices: string; units: string; sliceType: 'STRING' | 'DATE' },
): string {
  const table = qualifiedName(where);
  const slice = quoteIdent(spec.sliceColumn);
  const sliceValue = names.sliceType === 'STRING' ? `CAST(${slice} AS STRING)` : slice;
  const unit = spec.unitColumn === undefined ? `'*'` : `CAST(${quoteIdent(spec.unitColumn)} AS STRING)`;
  const branches = [`SELECT ${sliceValue} AS slice, ${unit} AS unit FROM ${table} WHERE ${slice} IN UNNEST(@${names.slices})`];
  if (spec.unitColumn !== undefined && withUnits) {
    branches.push(
      `SELECT ${sliceValue} AS slice, ${unit} AS unit FROM ${table} ` +
        `WHERE ${quoteIdent(spec.unitColumn)} IN UNNEST(@${names.units}) AND ${slice} NOT IN UNNEST(@${names.slices}) AND ${slice} >= ${EVERY_DATE}`,
    );
  }
  return `SELECT slice, unit, COUNT(*) AS n FROM (${branches.join(' UNION ALL ')}) GROUP BY slice, unit`;
}

/** A guarded commit's staged units: `ARRAY<STRUCT<slice DATE, unit STRING, n INT64>>`, one per (slice, unit). */
export const GUARD_STAGED_PARAM = 'guard_staged';
/** The guarded slices (`ARRAY<DATE>`). */
export const GUARD_SLICES_PARAM = 'guard_slices';
/** The staged units whose holdings under other slices the guard reads (`ARRAY<STRING>`; empty where no key can move). */
export const GUARD_UNITS_PARAM = 'guard_units';
/** What a tripped guard's `ERROR()` says; the warehouse knows its own refusal by it. */
export const GUARD_MESSAGE = 'phasegate integrity guard: the batch would shrink or move committed rows';

/**
 * The integrity guard inside a commit's statement (`CommitBatch.guard`): TRUE, or the statement
 * fails with `GUARD_MESSAGE` and writes nothing. It reads what the gate's `unitHoldings` read
 * would, in the same statement and snapshot as the write, and finds what `judgeBatch` would
 * refuse (src/integrity/holdings.ts): a guarded slice holding more rows of a unit than staged
 * (a shrink), or a staged unit held under another slice (a move, where a key can sit under
 * another slice). `ERROR` is evaluated only in `IF`'s unchosen branch, and a conditional
 * expression evaluates only the branch it chooses ("ERROR is treated like any other expression";
 * "conditional expressions … only evaluate the output value that was chosen":
 * cloud.google.com/bigquery/docs/reference/standard-sql/debugging_functions,
 * …/conditional_expressions). A statement that fails changes nothing.
 */
function guardCondition(where: TableLocation, spec: TableSpec): string {
  const moves = canMove(spec);
  const held = holdingsQuery(where, spec, moves, { slices: GUARD_SLICES_PARAM, units: GUARD_UNITS_PARAM, sliceType: 'DATE' });
  const shrink =
    `(H.slice IN UNNEST(@${GUARD_SLICES_PARAM}) AND H.n > ` +
    `IFNULL((SELECT SUM(G.n) FROM UNNEST(@${GUARD_STAGED_PARAM}) AS G WHERE G.slice = H.slice AND G.unit = H.unit), 0))`;
  const move = `EXISTS (SELECT 1 FROM UNNEST(@${GUARD_STAGED_PARAM}) AS G WHERE G.unit = H.unit AND G.unit != '*' AND G.slice != H.slice)`;
  const harm = moves ? `${shrink} OR ${move}` : shrink;
  return `IF((SELECT COUNT(*) FROM (${held}) AS H WHERE ${harm}) = 0, TRUE, ERROR('${GUARD_MESSAGE}'))`;
}

/** Slices among `@slices` holding rows with `column >= @since` (a TIMESTAMP parameter). */
export function slicesWithRowsSinceStatement(where: TableLocation, spec: TableSpec, column: string): string {
  validateSpec(spec);
  if (spec.columns.find((c) => c.name === column)?.type !== 'TIMESTAMP') throw new InputError(`${tableId(spec)}: ${column} is not a TIMESTAMP column`);
  const slice = quoteIdent(spec.sliceColumn);
  return (
    `SELECT DISTINCT ${slice} AS slice FROM ${qualifiedName(where)} ` +
    `WHERE ${slice} IN UNNEST(@${SLICES_PARAM}) AND ${quoteIdent(column)} >= @${SINCE_PARAM} ORDER BY slice`
  );
}

/** The doctor's dry run: proves `bigquery.jobs.create` in the project and location, scans nothing. */
export const DRY_RUN_PROBE = 'SELECT 1';

/**
 * The statement with comments, string literals and quoted identifiers blanked out, so that
 * keywords and `;` are only found where they are SQL.
 */
function codeOnly(sql: string): string {
  return sql.replace(
    /--[^\n]*|#[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|'''[\s\S]*?(?:'''|$)|"""[\s\S]*?(?:"""|$)|'(?:\\.|[^'\\])*'?|"(?:\\.|[^"\\])*"?|`(?:\\.|[^`\\])*`?/g,
    ' ',
  );
}

/**
 * Whether a statement is a single read-only query: it starts with SELECT or WITH (after
 * comments and opening parentheses) and is not a script — a `;` followed by more SQL would
 * make BigQuery run a multi-statement script, which may hold DML.
 */
export function isReadOnlyQuery(sql: string): boolean {
  const code = codeOnly(sql).trim().replace(/;\s*$/, '');
  if (code.includes(';')) return false;
  return /^\(*\s*(SELECT|WITH)\b/i.test(code);
}
