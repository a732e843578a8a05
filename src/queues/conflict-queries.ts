/**
 * Seed 002's two "Monitoring Dashboard" queries over `nba_orchestration.streaming_conflict_log`,
 * in each warehouse's dialect (DuckDB for the embedded default, GoogleSQL for BigQuery). The
 * table name comes from the registry's spec, quoted by the warehouse's own SQL module; the
 * time bound is a parameter.
 *
 * One change from the seed, because the log has a row per try plus a final row per conflict
 * (the seed's own logger wrote rows the same way): both queries count a conflict once — the
 * summary groups rows by `conflict_id` first, and "unresolved" shows the latest row of each
 * conflict that has no resolved row. Counting rows would call a conflict resolved on its
 * third try "4 conflicts, 3 unresolved".
 */
import type { Config } from '../config/index.ts';
import { InputError } from '../errors/input-error.ts';
import { WarehouseError } from '../errors/warehouse-error.ts';
import { streamingConflictLog } from '../processors/orchestration/streaming-conflict-log.ts';
import type { Row, TableSpec } from '../processors/types.ts';
import { qualifiedName as bigQueryName } from '../warehouse/bigquery/sql.ts';
import { qualifiedName as duckName } from '../warehouse/duckdb/sql.ts';
import type { Warehouse } from '../warehouse/types.ts';

type Dialect = Warehouse['kind'];

/** The log table's name in a warehouse's dialect, dataset prefix included. */
export function conflictLogName(config: Pick<Config, 'bigquery'>, dialect: Dialect, spec: TableSpec = streamingConflictLog.table): string {
  const dataset = `${config.bigquery.datasetPrefix}${spec.dataset}`;
  if (dialect === 'duckdb') return duckName({ dataset, table: spec.table });
  return bigQueryName({ projectId: config.bigquery.projectId ?? '', dataset, table: spec.table });
}

/** Daily streaming-conflict summary (seed 002), since `$since` / `@since`. */
export function dailySummarySql(dialect: Dialect, table: string): string {
  if (dialect === 'duckdb') {
    return `WITH conflicts AS (
  SELECT conflict_id, any_value(processor_name) AS processor_name, min("timestamp") AS first_at,
         max(retry_attempt) AS retries, bool_or(resolved) AS resolved,
         any_value(coalesce(game_id, CAST(game_date AS VARCHAR))) AS game
  FROM ${table}
  WHERE "timestamp" >= CAST($since AS TIMESTAMPTZ)
  GROUP BY conflict_id
)
SELECT
  CAST(first_at AS DATE) AS date,
  processor_name,
  count(*) AS total_conflicts,
  count(*) FILTER (WHERE resolved) AS resolved,
  count(*) FILTER (WHERE NOT resolved) AS unresolved,
  avg(retries) AS avg_retries,
  (array_agg(DISTINCT game ORDER BY game) FILTER (WHERE game IS NOT NULL))[1:10] AS sample_games
FROM conflicts
GROUP BY date, processor_name
ORDER BY date DESC, total_conflicts DESC`;
  }
  return `WITH conflicts AS (
  SELECT conflict_id, ANY_VALUE(processor_name) AS processor_name, MIN(\`timestamp\`) AS first_at,
         MAX(retry_attempt) AS retries, LOGICAL_OR(resolved) AS resolved,
         ANY_VALUE(COALESCE(game_id, CAST(game_date AS STRING))) AS game
  FROM ${table}
  WHERE \`timestamp\` >= TIMESTAMP(@since)
  GROUP BY conflict_id
)
SELECT
  DATE(first_at) AS date,
  processor_name,
  COUNT(*) AS total_conflicts,
  COUNTIF(resolved) AS resolved,
  COUNTIF(NOT resolved) AS unresolved,
  AVG(retries) AS avg_retries,
  ARRAY_AGG(DISTINCT game IGNORE NULLS LIMIT 10) AS sample_games
FROM conflicts
GROUP BY date, processor_name
ORDER BY date DESC, total_conflicts DESC`;
}

/** Unresolved conflicts requiring attention (seed 002): the latest row of each, since `since`. */
export function unresolvedSql(dialect: Dialect, table: string): string {
  const [ts, since] = dialect === 'duckdb' ? ['"timestamp"', 'CAST($since AS TIMESTAMPTZ)'] : ['`timestamp`', 'TIMESTAMP(@since)'];
  return `SELECT conflict_id, ${ts}, processor_name, game_id, game_date, retry_attempt, resolution_method, error_message
FROM ${table} AS c
WHERE NOT c.resolved
  AND c.${ts} >= ${since}
  AND NOT EXISTS (SELECT 1 FROM ${table} AS r WHERE r.conflict_id = c.conflict_id AND r.resolved)
QUALIFY ROW_NUMBER() OVER (PARTITION BY conflict_id ORDER BY ${ts} DESC, retry_attempt DESC) = 1
ORDER BY ${ts} DESC`;
}

const RELATIVE = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i;
const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/** `7d`, `24h`, `90m`, `30s`, `2w`, or an ISO date/time → the instant it names. */
export function parseSince(text: string, now = new Date()): Date {
  const rel = RELATIVE.exec(text.trim());
  if (rel) return new Date(now.getTime() - Number(rel[1]) * (UNIT_MS[(rel[2] as string).toLowerCase()] as number));
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const d = new Date(text.trim());
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new InputError(`--since: "${text}" is not a duration (7d, 24h, 90m) or an ISO date/time`);
}

export interface ConflictReport {
  /** False when no conflict was ever logged (the table does not exist yet). */
  logged: boolean;
  dailySince: string;
  unresolvedSince: string;
  /** Seed 002's daily summary. */
  daily: Row[];
  /** Seed 002's unresolved conflicts requiring attention. */
  unresolved: Row[];
}

/**
 * Both monitoring queries. Defaults are the seed's windows: 7 days for the summary, 24 hours
 * for the unresolved list; `since` sets both.
 */
export async function conflictReport(warehouse: Warehouse, config: Pick<Config, 'bigquery'>, opts: { since?: Date; now?: Date } = {}): Promise<ConflictReport> {
  const now = opts.now ?? new Date();
  const dailySince = opts.since ?? new Date(now.getTime() - 7 * DAY_MS);
  const unresolvedSince = opts.since ?? new Date(now.getTime() - DAY_MS);
  const base = { dailySince: dailySince.toISOString(), unresolvedSince: unresolvedSince.toISOString() };
  try {
    await warehouse.tableMetadata(streamingConflictLog.table);
  } catch (err) {
    if (err instanceof WarehouseError && err.reason === 'notFound') return { logged: false, ...base, daily: [], unresolved: [] };
    throw err;
  }
  const table = conflictLogName(config, warehouse.kind);
  const daily = await warehouse.query(dailySummarySql(warehouse.kind, table), { since: base.dailySince });
  const unresolved = await warehouse.query(unresolvedSql(warehouse.kind, table), { since: base.unresolvedSince });
  return { logged: true, ...base, daily, unresolved };
}
