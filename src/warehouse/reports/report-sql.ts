/**
 * The SQL of every report, written once for all warehouses: pure functions of a `Dialect`,
 * a table's qualified name (the warehouse resolves it) and its registry spec. Identifiers
 * come only from the spec and pass `dialect.quoteIdent`; values travel as typed parameters.
 * The text BigQuery's dialect gives is the GoogleSQL the BigQuery warehouse always sent.
 */
import { InputError } from '../../errors/input-error.ts';
import type { ColumnType, TableSpec } from '../../processors/types.ts';
import { tableId } from '../../processors/types.ts';
import { OBSERVATION_EVENTS } from '../../tables/source-coverage-log.ts';
import type { Dialect } from './dialect.ts';

/** One typed parameter of a report statement; a list when `value` is an array. */
export interface ReportParam {
  type: ColumnType;
  value: string | readonly string[];
}

/** A report's statement and its named parameters, in the order the statement names them. */
export interface ReportStatement {
  sql: string;
  params: Record<string, ReportParam>;
}

/** The list parameter holding the slices a report reads. */
export const SLICES_PARAM = 'slices';
/** The TIMESTAMP parameter a conflict report reads from. */
export const SINCE_PARAM = 'since';
/** The DATE parameters bounding a range of slices. */
export const START_PARAM = 'start';
export const END_PARAM = 'end';

/** The columns phase 3+ tables tag every row with. */
export const TIER_COLUMN = 'data_quality_tier';
export const SOURCE_COLUMN = 'primary_source';

function columnOf(d: Dialect, spec: TableSpec, name: string): string {
  const col = spec.columns.find((c) => c.name === name);
  if (!col) throw new InputError(`${tableId(spec)}: ${name} is not a column`);
  return d.quoteIdent(col.name);
}

function typeOf(spec: TableSpec, name: string): ColumnType {
  const col = spec.columns.find((c) => c.name === name);
  if (!col) throw new InputError(`${tableId(spec)}: ${name} is not a column`);
  return col.type;
}

/**
 * Per (slice, unit) among the slices: rows, and the distinct tiers and sources as comma-joined
 * sorted text ('' when the table has no such column). Pruned to the slices' partitions.
 */
export function gameHoldingsSql(d: Dialect, table: string, spec: TableSpec, slices: readonly string[]): ReportStatement {
  if (spec.unitColumn === undefined) throw new InputError(`${spec.dataset}.${spec.table} has no unit column to count games by`);
  const slice = d.quoteIdent(spec.sliceColumn);
  const unit = d.quoteIdent(spec.unitColumn);
  const text = d.typeName('STRING');
  const distinct = (column: string) =>
    spec.columns.some((c) => c.name === column) ? `IFNULL(STRING_AGG(DISTINCT ${d.quoteIdent(column)}, ',' ORDER BY ${d.quoteIdent(column)}), '')` : `''`;
  const sliceType = typeOf(spec, spec.sliceColumn);
  return {
    sql:
      `SELECT CAST(${slice} AS ${text}) AS slice, CAST(${unit} AS ${text}) AS unit, COUNT(*) AS n, ` +
      `${distinct(TIER_COLUMN)} AS tiers, ${distinct(SOURCE_COLUMN)} AS sources FROM ${table} ` +
      `WHERE ${d.inListParam(slice, SLICES_PARAM, sliceType)} GROUP BY slice, unit ORDER BY slice, unit`,
    params: { [SLICES_PARAM]: { type: sliceType, value: slices } },
  };
}

/**
 * The game-level view over the coverage log: one row per game the log knows. The latest
 * observation per (game, table) says what that table holds now; raw tables give the sources
 * present and missing, the analytics observation the tier and the source phase 3 picked.
 * `fallback_used`: phase 3 picked the fallback for the game (or, before phase 3 has it, only
 * fallback sources hold it) — not merely that the fallback also holds it. A view reads the
 * whole log (no partition filter): the log is small, a few rows per game.
 */
export function coverageViewSql(d: Dialect, logName: string, observationEvents: readonly string[] = OBSERVATION_EVENTS): string {
  // Event types are the registry's own constants, never input; checked all the same.
  for (const e of observationEvents) if (!/^[a-z_]+$/.test(e)) throw new InputError(`not an event type: ${JSON.stringify(e)}`);
  const observed = observationEvents.map((e) => `'${e}'`).join(', ');
  const pick = d.firstRow(
    [
      ['source', 'primary_source'],
      ['data_quality_tier', 'data_quality_tier'],
      ['fallback_used', 'fallback_used'],
    ],
    'event_time DESC',
  );
  const last = d.firstRow(
    [
      ['event_type', 'event_type'],
      ['severity', 'severity'],
      ['audit_run_id', 'audit_run_id'],
    ],
    'event_time DESC, event_id DESC',
  );
  return `WITH latest AS (
  SELECT * FROM ${logName} WHERE event_type IN (${observed})
  QUALIFY ROW_NUMBER() OVER (PARTITION BY game_id, table_name ORDER BY event_time DESC, event_id DESC) = 1
),
raw AS (
  SELECT game_id,
    -- A source has several raw tables (NBA.com: players, teams): named once. With DISTINCT,
    -- BigQuery sorts only by the aggregated expression itself.
    STRING_AGG(DISTINCT IF(found, source, NULL), ',' ORDER BY IF(found, source, NULL)) AS sources_present,
    STRING_AGG(DISTINCT IF(NOT found AND expected, source, NULL), ',' ORDER BY IF(NOT found AND expected, source, NULL)) AS sources_missing,
    ${d.allTrue('IF(found, fallback_used, NULL)')} AS only_fallback
  FROM latest WHERE layer = 'raw' GROUP BY game_id
),
analytics AS (
  SELECT game_id, ${pick} AS pick
  FROM latest WHERE layer = 'analytics' GROUP BY game_id
),
games AS (
  SELECT game_id, MAX(game_date) AS game_date, COUNT(*) AS events, MAX(event_time) AS last_event_time,
    ${last} AS last
  FROM ${logName} GROUP BY game_id
)
SELECT g.game_id, g.game_date, r.sources_present, r.sources_missing, COALESCE(a.pick.fallback_used, r.only_fallback, FALSE) AS fallback_used,
  a.pick.primary_source AS primary_source, a.pick.data_quality_tier AS data_quality_tier,
  g.last.event_type AS last_event_type, g.last_event_time, g.last.severity AS last_severity, g.last.audit_run_id AS last_audit_run_id, g.events
FROM games g LEFT JOIN raw r USING (game_id) LEFT JOIN analytics a USING (game_id)`;
}

/** Rows, slices, units and rows with quality issues between `start` and `end`: pruned to those partitions. */
export function tableSummarySql(
  d: Dialect,
  table: string,
  spec: TableSpec,
  qualityColumn: string | undefined,
  range: { start: string; end: string },
): ReportStatement {
  const slice = d.quoteIdent(spec.sliceColumn);
  const type = typeOf(spec, spec.sliceColumn);
  const games = spec.unitColumn === undefined ? '0' : `COUNT(DISTINCT ${columnOf(d, spec, spec.unitColumn)})`;
  const warnings = qualityColumn === undefined ? '0' : `COUNT(${columnOf(d, spec, qualityColumn)})`;
  return {
    sql:
      `SELECT COUNT(*) AS n, COUNT(DISTINCT ${slice}) AS dates, ${games} AS games, ${warnings} AS warnings FROM ${table} ` +
      `WHERE ${slice} BETWEEN ${d.param(START_PARAM, type)} AND ${d.param(END_PARAM, type)}`,
    params: { [START_PARAM]: { type, value: range.start }, [END_PARAM]: { type, value: range.end } },
  };
}

/** The latest predicted slice between `start` and `end`: its biggest predictions joined to what the players scored. */
export function samplePredictionsSql(
  d: Dialect,
  predictions: { table: string; spec: TableSpec },
  actuals: { table: string; spec: TableSpec },
  range: { start: string; end: string },
  limit: number,
): ReportStatement {
  if (!Number.isInteger(limit) || limit < 1) throw new InputError(`sample size must be a positive integer, got ${limit}`);
  const p = (name: string) => `P.${columnOf(d, predictions.spec, name)}`;
  const a = (name: string) => `A.${columnOf(d, actuals.spec, name)}`;
  const pSlice = predictions.spec.sliceColumn;
  const between = `BETWEEN ${d.param(START_PARAM, 'DATE')} AND ${d.param(END_PARAM, 'DATE')}`;
  return {
    sql:
      `SELECT CAST(${p(pSlice)} AS ${d.typeName('STRING')}) AS game_date, ${p('player_name')} AS player_name, ${p('team_abbr')} AS team_abbr, ` +
      `${p('predicted_points')} AS predicted_points, ${p('prediction_basis')} AS prediction_basis, ${a('pts')} AS pts ` +
      `FROM ${predictions.table} AS P JOIN ${actuals.table} AS A ON ${a(actuals.spec.sliceColumn)} = ${p(pSlice)} AND ${a('player_id')} = ${p('player_id')} ` +
      `WHERE ${p(pSlice)} = (SELECT MAX(${d.quoteIdent(pSlice)}) FROM ${predictions.table} WHERE ${d.quoteIdent(pSlice)} ${between}) ` +
      // Constant bounds on both tables' partitioning columns: the subquery's value is not one.
      `AND ${p(pSlice)} ${between} AND ${a(actuals.spec.sliceColumn)} ${between} ` +
      `ORDER BY ${p('predicted_points')} DESC, ${p('player_id')} LIMIT ${limit}`,
    params: { [START_PARAM]: { type: 'DATE', value: range.start }, [END_PARAM]: { type: 'DATE', value: range.end } },
  };
}

/** The conflict log's columns seed 002's queries read, checked against its spec. */
function conflictColumns(d: Dialect, spec: TableSpec) {
  const c = (name: string) => columnOf(d, spec, name);
  return {
    id: c('conflict_id'),
    ts: c('timestamp'),
    processor: c('processor_name'),
    attempt: c('retry_attempt'),
    resolved: c('resolved'),
    gameId: c('game_id'),
    gameDate: c('game_date'),
    method: c('resolution_method'),
    error: c('error_message'),
  };
}

/**
 * A filter on a DATE partitioning column that keeps every row (the smallest DATE both dialects
 * know). The conflict log is partitioned by the game's date, but its reports select by the
 * time a conflict happened: a table with `requirePartitionFilter` refuses a query without "a
 * filter over column(s) … that can be used for partition elimination", for each reference to
 * it (cloud.google.com/bigquery/docs/querying-partitioned-tables), so each carries this one.
 */
export const EVERY_DATE = "DATE '0001-01-01'";

const sinceParam = (since: Date): Record<string, ReportParam> => ({ [SINCE_PARAM]: { type: 'TIMESTAMP', value: since.toISOString() } });

/**
 * Seed 002's daily streaming-conflict summary since `since`, a conflict counted once: rows are
 * grouped by conflict id first (the log has a row per try plus one when it ends).
 */
export function conflictSummarySql(d: Dialect, table: string, spec: TableSpec, since: Date): ReportStatement {
  const c = conflictColumns(d, spec);
  return {
    sql: `WITH conflicts AS (
  SELECT ${c.id}, ANY_VALUE(${c.processor}) AS processor_name, MIN(${c.ts}) AS first_at,
         MAX(${c.attempt}) AS retries, ${d.anyTrue(c.resolved)} AS resolved,
         ANY_VALUE(COALESCE(${c.gameId}, CAST(${c.gameDate} AS ${d.typeName('STRING')}))) AS game
  FROM ${table}
  WHERE ${c.ts} >= ${d.param(SINCE_PARAM, 'TIMESTAMP')} AND ${c.gameDate} >= ${EVERY_DATE}
  GROUP BY ${c.id}
)
SELECT
  DATE(first_at) AS date,
  processor_name,
  COUNT(*) AS total_conflicts,
  ${d.countIf('resolved')} AS resolved,
  ${d.countIf('NOT resolved')} AS unresolved,
  AVG(retries) AS avg_retries,
  ${d.distinctSample('game', 10)} AS sample_games
FROM conflicts
GROUP BY date, processor_name
ORDER BY date DESC, total_conflicts DESC`,
    params: sinceParam(since),
  };
}

/** Seed 002's unresolved conflicts since `since`: the latest row of each conflict with no resolved row. */
export function unresolvedConflictsSql(d: Dialect, table: string, spec: TableSpec, since: Date): ReportStatement {
  const c = conflictColumns(d, spec);
  return {
    sql: `SELECT ${c.id}, ${c.ts}, ${c.processor}, ${c.gameId}, ${c.gameDate}, ${c.attempt}, ${c.method}, ${c.error}
FROM ${table} AS c
WHERE NOT c.${c.resolved}
  AND c.${c.ts} >= ${d.param(SINCE_PARAM, 'TIMESTAMP')} AND c.${c.gameDate} >= ${EVERY_DATE}
  AND NOT EXISTS (SELECT 1 FROM ${table} AS r WHERE r.${c.id} = c.${c.id} AND r.${c.resolved} AND r.${c.gameDate} >= ${EVERY_DATE})
QUALIFY ROW_NUMBER() OVER (PARTITION BY ${c.id} ORDER BY ${c.ts} DESC, ${c.attempt} DESC) = 1
ORDER BY ${c.ts} DESC`,
    params: sinceParam(since),
  };
}
