/**
 * Phase 4: `nba_precompute.player_rolling_features`, one row per player per game date: the
 * player's form going into that game, from his earlier games of the same season only.
 *
 * Window: the season to date (July 1 of the season's start year up to the day before). It is
 * what "games played in season" needs, and it bounds what a correction costs: recommitting
 * date D re-runs this processor for the later dates of D's season, never beyond.
 */

import { round } from '../analytics/formulas.ts';
import { playerGameSummary } from '../analytics/player-game-summary.ts';
import { optBool, optNumber, optString, projection, requiredNumber, requiredString } from '../analytics/rows.ts';
import { QUALITY_COLUMNS } from '../analytics/sources.ts';
import { col, key } from '../columns.ts';
import { scheduledGames } from '../expectations.ts';
import { recordedIssues } from '../plausibility-rules.ts';
import { primarySource } from '../source-registry.ts';
import { worstTier } from '../tiers.ts';
import {
  type Cell,
  type Column,
  type Lookback,
  QUALITY_ISSUES_COLUMN,
  type QualityIssue,
  type Row,
  type TransformDef,
  tableId,
  tableReader,
} from '../types.ts';
import { datesIn, seasonToDate } from './lookback.ts';
import { type PastGame, rollingFeatures } from './rolling.ts';

const SOURCE = tableId(playerGameSummary.table);

const COLUMNS: readonly Column[] = [
  key('game_date', 'DATE'),
  key('player_id', 'INT64'),
  key('game_id', 'STRING'),
  col('season', 'STRING'),
  col('player_name', 'STRING'),
  col('team_id', 'INT64'),
  col('team_abbr', 'STRING'),
  col('opponent_team_id', 'INT64'),
  col('is_home', 'BOOL'),
  key('games_played_season', 'INT64', 'games the player played earlier in the season'),
  key('last5_games', 'INT64', 'games behind the last-5 averages (< 5 early in the season)'),
  key('last10_games', 'INT64'),
  col('pts_avg_last5', 'FLOAT64'),
  col('pts_avg_last10', 'FLOAT64'),
  col('pts_avg_season', 'FLOAT64'),
  col('minutes_avg_last5', 'FLOAT64'),
  col('minutes_avg_last10', 'FLOAT64'),
  col('usage_avg_last5', 'FLOAT64'),
  col('usage_avg_last10', 'FLOAT64'),
  col('previous_game_date', 'DATE'),
  col('days_rest', 'INT64', 'full days off since the previous game; 0 on a back-to-back; null for the first game'),
  key('back_to_back', 'BOOL'),
  key('source_tables', 'STRING'),
  key('processed_at', 'TIMESTAMP'),
  ...QUALITY_COLUMNS,
];

/**
 * Season-aware: early in a season every player has few games behind him, and that is not a
 * flaw of the data. Only once the season is this old does a feature built on fewer than
 * `FEW_GAMES` earlier games carry a `few_games` issue (silver), never bronze for being early.
 */
const SEASON_SETTLED_DAYS = 21;
const FEW_GAMES = 3;
const DAY_MS = 86_400_000;

/*
 * A season to date is ~20,000 rows, read by every date of it, so the cells read for each of them
 * are read by name at this site (`row.game_date`), where every row of one read has the same shape
 * and V8 keeps the property's place: through rows.ts's helpers, one call site for every column
 * of every table, each read was a dictionary lookup — 1.7 s of `optString` alone in a profile of
 * the commit-gate process at 853 dates. A cell of the expected type is taken as the helper would
 * take it; anything else goes through the helper, which decides what it means (or refuses it).
 */

function dateCell(row: Row): string {
  const v = row.game_date;
  return typeof v === 'string' ? v : requiredString(row, 'game_date', SOURCE);
}

/** `value`, the row's `column` read by name at the caller, when it is a finite number; else what `requiredNumber` makes of it. */
function numberCell(value: Cell | undefined, row: Row, column: string): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : requiredNumber(row, column, SOURCE);
}

function playerCell(row: Row): number {
  return numberCell(row.player_id, row, 'player_id');
}

function pastGameOf(row: Row): PastGame & { tier: string | null } {
  const { data_quality_tier: tier, usage_rate: usage } = row;
  return {
    tier: typeof tier === 'string' ? tier : optString(row, 'data_quality_tier'),
    gameDate: dateCell(row),
    pts: numberCell(row.pts, row, 'pts'),
    minutes: numberCell(row.minutes, row, 'minutes'),
    usageRate: usage === null || (typeof usage === 'number' && Number.isFinite(usage)) ? usage : optNumber(row, 'usage_rate', SOURCE),
  };
}

/** The slice's feature rows from the player summaries of the season to date. Pure. */
export function playerFeatures(slice: string, summaries: readonly Row[], processedAt: string): Row[] {
  // Each player's earlier rows as they are: only the day's players' become past games. A season
  // to date is ~20,000 rows, read by every date of it, and about half its players do not play
  // on the day.
  const earlier = new Map<number, Row[]>();
  const today: Row[] = [];
  let seasonStart = slice;
  for (const r of summaries) {
    const date = dateCell(r);
    if (date < seasonStart) seasonStart = date;
    if (date === slice) today.push(r);
    else if (date < slice) {
      const id = playerCell(r);
      const list = earlier.get(id);
      if (list) list.push(r);
      else earlier.set(id, [r]);
    }
  }
  return today.map((r) => {
    const playerId = playerCell(r);
    const past = (earlier.get(playerId) ?? []).map(pastGameOf);
    const f = rollingFeatures(slice, past);
    // The lowest tier of what the row is built on: the day's summary and the last ten games.
    const window = [...past].sort((a, b) => (a.gameDate < b.gameDate ? 1 : -1)).slice(0, 10);
    const issues: QualityIssue[] = [];
    const inputTier = worstTier(window.map((g) => g.tier));
    if (inputTier !== 'gold') issues.push({ rule: 'input_tier', level: 'warn', detail: `an earlier game in the window is ${inputTier}` });
    const settled = (Date.parse(slice) - Date.parse(seasonStart)) / DAY_MS >= SEASON_SETTLED_DAYS;
    if (settled && f.last10Games < FEW_GAMES) issues.push({ rule: 'few_games', level: 'warn', detail: `${f.last10Games} earlier games this season` });
    const own = recordedIssues(r[QUALITY_ISSUES_COLUMN]);
    const quality = {
      primary_source: optString(r, 'primary_source') ?? primarySource().name,
      data_quality_tier: worstTier([optString(r, 'data_quality_tier'), inputTier, issues.length > 0 ? 'silver' : 'gold']),
      [QUALITY_ISSUES_COLUMN]: own.length + issues.length > 0 ? JSON.stringify([...own, ...issues]) : null,
    };
    return {
      game_date: slice,
      player_id: playerId,
      game_id: requiredString(r, 'game_id', SOURCE),
      season: optString(r, 'season'),
      player_name: optString(r, 'player_name'),
      team_id: optNumber(r, 'team_id', SOURCE),
      team_abbr: optString(r, 'team_abbr'),
      opponent_team_id: optNumber(r, 'opponent_team_id', SOURCE),
      is_home: optBool(r, 'is_home'),
      games_played_season: f.gamesPlayedSeason,
      last5_games: f.last5Games,
      last10_games: f.last10Games,
      pts_avg_last5: round(f.ptsAvgLast5),
      pts_avg_last10: round(f.ptsAvgLast10),
      pts_avg_season: round(f.ptsAvgSeason),
      minutes_avg_last5: round(f.minutesAvgLast5),
      minutes_avg_last10: round(f.minutesAvgLast10),
      usage_avg_last5: round(f.usageAvgLast5),
      usage_avg_last10: round(f.usageAvgLast10),
      previous_game_date: f.previousGameDate,
      days_rest: f.daysRest,
      back_to_back: f.backToBack,
      source_tables: SOURCE,
      processed_at: processedAt,
      ...quality,
    };
  });
}

const lookback = seasonToDate(playerGameSummary.name);

/**
 * What the day's own rows carry into the feature rows, and what an earlier game contributes
 * (pts, minutes, usage_rate, data_quality_tier): twelve columns, not forty, read for the whole
 * season to date and the day in ONE read. Two reads (four columns for the earlier games) made
 * two query jobs per gathered batch on BigQuery, where each job is billed at least 10 MB per
 * table it reads (cloud.google.com/bigquery/pricing#on_demand_pricing) — more than a season of
 * these twelve columns — and two scans on DuckDB.
 */
const READ = projection(playerGameSummary.table, [
  'season',
  'player_name',
  'team_id',
  'team_abbr',
  'opponent_team_id',
  'is_home',
  'pts',
  'minutes',
  'usage_rate',
  'primary_source',
  'data_quality_tier',
  QUALITY_ISSUES_COLUMN,
]);

export const playerRollingFeatures: TransformDef & { lookback: Lookback } = {
  kind: 'transform',
  name: 'player_rolling_features',
  phase: 4,
  description: "per player per game date: last-5/10 and season averages, rest, back-to-back, from the player's earlier games only",
  table: {
    dataset: 'nba_precompute',
    table: 'player_rolling_features',
    sliceColumn: 'game_date',
    primaryKey: ['game_date', 'player_id'],
    columns: COLUMNS,
    unitColumn: 'game_id',
  },
  dependsOn: [playerGameSummary.name],
  readsWarehouse: true,
  expects: scheduledGames,
  lookback,
  run: async (ctx) => {
    const readTable = tableReader(ctx, 'player_rolling_features');
    // By date, the day last: the earlier games in the order a read of their own returned them.
    const rows = await readTable(READ, [...datesIn(lookback.earlier(ctx.slice)), ctx.slice]);
    return playerFeatures(ctx.slice, rows, new Date().toISOString());
  },
};
