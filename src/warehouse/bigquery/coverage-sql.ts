/**
 * The source-coverage GoogleSQL of the BigQuery warehouse, built by pure functions like
 * `sql.ts`: identifiers from a TableSpec and the configured project, values as named
 * parameters (`@slices`).
 */

import { InputError } from '../../errors/input-error.ts';
import type { TableSpec } from '../../processors/types.ts';
import { OBSERVATION_EVENTS } from '../../tables/source-coverage-log.ts';
import { qualifiedName, quoteIdent, SLICES_PARAM, type TableLocation, validateSpec } from './sql.ts';

/** The columns phase 3+ tables tag every row with. */
export const TIER_COLUMN = 'data_quality_tier';
export const SOURCE_COLUMN = 'primary_source';

function hasColumn(spec: TableSpec, name: string): boolean {
  return spec.columns.some((c) => c.name === name);
}

/**
 * Per (slice, unit) among `@slices`: rows, and the distinct tiers and sources as comma-joined
 * sorted text ('' when the table has no such column). Pruned to the slices' partitions.
 */
export function gameHoldingsStatement(where: TableLocation, spec: TableSpec): string {
  validateSpec(spec);
  if (spec.unitColumn === undefined) throw new InputError(`${spec.dataset}.${spec.table} has no unit column to count games by`);
  const slice = quoteIdent(spec.sliceColumn);
  const unit = quoteIdent(spec.unitColumn);
  const distinct = (column: string) =>
    hasColumn(spec, column) ? `IFNULL(STRING_AGG(DISTINCT ${quoteIdent(column)}, ',' ORDER BY ${quoteIdent(column)}), '')` : `''`;
  return (
    `SELECT CAST(${slice} AS STRING) AS slice, CAST(${unit} AS STRING) AS unit, COUNT(*) AS n, ` +
    `${distinct(TIER_COLUMN)} AS tiers, ${distinct(SOURCE_COLUMN)} AS sources FROM ${qualifiedName(where)} ` +
    `WHERE ${slice} IN UNNEST(@${SLICES_PARAM}) GROUP BY slice, unit ORDER BY slice, unit`
  );
}

/**
 * The query of the game-level view over the coverage log (see the DuckDB twin in
 * `duckdb/coverage-sql.ts`): the latest observation per (game, table); raw tables give the
 * sources present and missing, the analytics observation the tier and the picked source.
 * A view reads the whole log (no partition filter): the log is small, a few rows per game.
 */
export function coverageViewQuery(log: TableLocation, observationEvents: readonly string[] = OBSERVATION_EVENTS): string {
  const logName = qualifiedName(log);
  for (const e of observationEvents) if (!/^[a-z_]+$/.test(e)) throw new InputError(`not an event type: ${JSON.stringify(e)}`);
  const observed = observationEvents.map((e) => `'${e}'`).join(', ');
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
    LOGICAL_AND(IF(found, fallback_used, NULL)) AS only_fallback
  FROM latest WHERE layer = 'raw' GROUP BY game_id
),
analytics AS (
  SELECT game_id, ARRAY_AGG(STRUCT(source AS primary_source, data_quality_tier, fallback_used) ORDER BY event_time DESC LIMIT 1)[OFFSET(0)] AS pick
  FROM latest WHERE layer = 'analytics' GROUP BY game_id
),
games AS (
  SELECT game_id, MAX(game_date) AS game_date, COUNT(*) AS events, MAX(event_time) AS last_event_time,
    ARRAY_AGG(STRUCT(event_type, severity, audit_run_id) ORDER BY event_time DESC, event_id DESC LIMIT 1)[OFFSET(0)] AS last
  FROM ${logName} GROUP BY game_id
)
SELECT g.game_id, g.game_date, r.sources_present, r.sources_missing, COALESCE(a.pick.fallback_used, r.only_fallback, FALSE) AS fallback_used,
  a.pick.primary_source AS primary_source, a.pick.data_quality_tier AS data_quality_tier,
  g.last.event_type AS last_event_type, g.last_event_time, g.last.severity AS last_severity, g.last.audit_run_id AS last_audit_run_id, g.events
FROM games g LEFT JOIN raw r USING (game_id) LEFT JOIN analytics a USING (game_id)`;
}
