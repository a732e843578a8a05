/**
 * The source-coverage SQL of the DuckDB warehouse, built by pure functions like `sql.ts`:
 * identifiers only from a (resolved) TableSpec, values as `$n` parameters.
 */

import { InputError } from '../../errors/input-error.ts';
import type { TableSpec } from '../../processors/types.ts';
import { OBSERVATION_EVENTS } from '../../tables/source-coverage-log.ts';
import { qualifiedName, quoteIdent, sliceParamList } from './sql.ts';

/** The columns phase 3+ tables tag every row with (the lead's part 2 of the source-coverage issue). */
export const TIER_COLUMN = 'data_quality_tier';
export const SOURCE_COLUMN = 'primary_source';

function hasColumn(spec: TableSpec, name: string): boolean {
  return spec.columns.some((c) => c.name === name);
}

/**
 * Per (slice, unit) among the slices `$1..$sliceParamCount`: rows, and the distinct tiers and
 * sources as comma-joined sorted text ('' when the table has no such column).
 */
export function gameHoldingsSql(spec: TableSpec, sliceParamCount: number): string {
  if (spec.unitColumn === undefined) throw new InputError(`${spec.dataset}.${spec.table} has no unit column to count games by`);
  const slice = quoteIdent(spec.sliceColumn);
  const unit = quoteIdent(spec.unitColumn);
  const distinct = (column: string) =>
    hasColumn(spec, column) ? `coalesce(string_agg(DISTINCT ${quoteIdent(column)}, ',' ORDER BY ${quoteIdent(column)}), '')` : `''`;
  return (
    `SELECT CAST(${slice} AS VARCHAR) AS slice, CAST(${unit} AS VARCHAR) AS unit, count(*) AS n, ` +
    `${distinct(TIER_COLUMN)} AS tiers, ${distinct(SOURCE_COLUMN)} AS sources FROM ${qualifiedName(spec)} ` +
    `WHERE ${slice} IN (${sliceParamList(spec, sliceParamCount)}) GROUP BY 1, 2 ORDER BY 1, 2`
  );
}

/**
 * The game-level view over the coverage log: one row per game the log knows. The latest
 * observation per (game, table) says what that table holds now; raw tables give the sources
 * present and missing, the analytics observation the tier and the source phase 3 picked.
 * `fallback_used`: phase 3 picked the fallback for the game (or, before phase 3 has it, only
 * fallback sources hold it) — not merely that the fallback also holds it.
 * `CREATE OR REPLACE` is cheap in DuckDB, so the view is simply rewritten on every ensure.
 */
export function coverageViewSql(log: TableSpec, view: string, observationEvents: readonly string[] = OBSERVATION_EVENTS): string {
  const logName = qualifiedName(log);
  const viewName = qualifiedName({ dataset: log.dataset, table: view });
  // Event types are the registry's own constants, never input; checked all the same.
  for (const e of observationEvents) if (!/^[a-z_]+$/.test(e)) throw new InputError(`not an event type: ${JSON.stringify(e)}`);
  const observed = observationEvents.map((e) => `'${e}'`).join(', ');
  return `CREATE OR REPLACE VIEW ${viewName} AS
WITH latest AS (
  SELECT * FROM (
    SELECT *, row_number() OVER (PARTITION BY game_id, table_name ORDER BY event_time DESC, event_id DESC) AS rn
    FROM ${logName} WHERE event_type IN (${observed})
  ) WHERE rn = 1
),
raw AS (
  SELECT game_id,
    -- A source has several raw tables (NBA.com: players, teams): named once.
    string_agg(DISTINCT source, ',' ORDER BY source) FILTER (WHERE found) AS sources_present,
    string_agg(DISTINCT source, ',' ORDER BY source) FILTER (WHERE NOT found AND expected) AS sources_missing,
    bool_and(fallback_used) FILTER (WHERE found) AS only_fallback
  FROM latest WHERE layer = 'raw' GROUP BY game_id
),
analytics AS (
  SELECT game_id, arg_max(source, event_time) AS primary_source, arg_max(data_quality_tier, event_time) AS data_quality_tier,
    arg_max(fallback_used, event_time) AS fallback_used
  FROM latest WHERE layer = 'analytics' GROUP BY game_id
),
games AS (
  SELECT game_id, max(game_date) AS game_date, count(*) AS events,
    arg_max(event_type, (event_time, event_id)) AS last_event_type,
    max(event_time) AS last_event_time,
    arg_max(severity, (event_time, event_id)) AS last_severity,
    arg_max(audit_run_id, (event_time, event_id)) AS last_audit_run_id
  FROM ${logName} GROUP BY game_id
)
SELECT g.game_id, g.game_date, r.sources_present, r.sources_missing, coalesce(a.fallback_used, r.only_fallback, false) AS fallback_used,
  a.primary_source, a.data_quality_tier, g.last_event_type, g.last_event_time, g.last_severity, g.last_audit_run_id, g.events
FROM games g LEFT JOIN raw r USING (game_id) LEFT JOIN analytics a USING (game_id)`;
}
