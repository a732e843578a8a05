/**
 * Phase 4: `nba_precompute.player_rolling_features`, one row per player per game date: the
 * player's form going into that game, from his earlier games of the same season only.
 *
 * Window: the season to date (July 1 of the season's start year up to the day before). It is
 * what "games played in season" needs, and it bounds what a correction costs: recommitting
 * date D re-runs this processor for the later dates of D's season, never beyond.
 */

import { col, key } from '../analytics/columns.ts';
import { round } from '../analytics/formulas.ts';
import { playerGameSummary } from '../analytics/player-game-summary.ts';
import { optBool, optNumber, optString, projection, requiredNumber, requiredString } from '../analytics/rows.ts';
import { scheduledGames } from '../expectations.ts';
import { type Column, type Row, tableId, tableReader } from '../types.ts';
import { datesIn, seasonToDate, type WindowedTransformDef } from './lookback.ts';
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
];

function pastGameOf(row: Row): PastGame {
  return {
    gameDate: requiredString(row, 'game_date', SOURCE),
    pts: requiredNumber(row, 'pts', SOURCE),
    minutes: requiredNumber(row, 'minutes', SOURCE),
    usageRate: optNumber(row, 'usage_rate', SOURCE),
  };
}

/** The slice's feature rows from the player summaries of the season to date. Pure. */
export function playerFeatures(slice: string, summaries: readonly Row[], processedAt: string): Row[] {
  const history = new Map<number, PastGame[]>();
  const today: Row[] = [];
  for (const r of summaries) {
    const date = requiredString(r, 'game_date', SOURCE);
    if (date === slice) today.push(r);
    else if (date < slice) {
      const id = requiredNumber(r, 'player_id', SOURCE);
      const list = history.get(id) ?? [];
      list.push(pastGameOf(r));
      history.set(id, list);
    }
  }
  return today.map((r) => {
    const playerId = requiredNumber(r, 'player_id', SOURCE);
    const f = rollingFeatures(slice, history.get(playerId) ?? []);
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
    };
  });
}

const lookback = seasonToDate(playerGameSummary.name);

/** What an earlier game contributes, read for the whole season to date: four columns, not forty. */
const HISTORY = projection(playerGameSummary.table, ['pts', 'minutes', 'usage_rate']);
/** What the day's own rows carry into the feature rows. */
const TODAY = projection(playerGameSummary.table, [
  'season',
  'player_name',
  'team_id',
  'team_abbr',
  'opponent_team_id',
  'is_home',
  'pts',
  'minutes',
  'usage_rate',
]);

export const playerRollingFeatures: WindowedTransformDef = {
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
    const [history, today] = await Promise.all([readTable(HISTORY, datesIn(lookback.earlier(ctx.slice))), readTable(TODAY, [ctx.slice])]);
    return playerFeatures(ctx.slice, [...history, ...today], new Date().toISOString());
  },
};
