/**
 * Phase 3: `nba_analytics.team_defense_game_summary`, one row per team per game: what the
 * team allowed — the opponent's possessions and scoring (defensive rating), the game's pace,
 * and the four factors of its defense (opponent eFG%, TOV%, FT rate; its own DRB%).
 */

import { col, key } from '../columns.ts';
import { scheduledGames } from '../expectations.ts';
import { nbacTeamBoxscore } from '../nbac/team-boxscore.ts';
import { fallbackPlayerProcessors } from '../source-registry.ts';
import { type Column, type Row, type TransformDef, tableReader } from '../types.ts';
import { defenseFourFactors, defensiveRating, pace, possessions, round } from './formulas.ts';
import { QUALITY_COLUMNS, readBestSources, teamQuality } from './sources.ts';
import { TEAM_TABLE, teamGames } from './team-games.ts';

const COLUMNS: readonly Column[] = [
  key('game_id', 'STRING'),
  key('game_date', 'DATE'),
  col('season', 'STRING'),
  col('game_type', 'STRING'),
  key('team_id', 'INT64'),
  col('team_abbr', 'STRING'),
  col('opponent_team_id', 'INT64'),
  col('opponent_team_abbr', 'STRING'),
  col('is_home', 'BOOL'),
  key('minutes', 'FLOAT64'),
  col('points_allowed', 'INT64'),
  col('won', 'BOOL'),
  ...['opp_fgm', 'opp_fga', 'opp_fg3m', 'opp_fg3a', 'opp_ftm', 'opp_fta', 'opp_oreb', 'opp_tov'].map((n) => col(n, 'INT64')),
  ...['dreb', 'stl', 'blk', 'pf'].map((n) => key(n, 'INT64')),
  col('defensive_possessions', 'FLOAT64', "the opponent's possessions: OppFGA + 0.44 OppFTA - OppOREB + OppTOV"),
  col('pace', 'FLOAT64', '48 ((Poss + OppPoss) / 2) / (TmMP / 5)'),
  col('defensive_rating', 'FLOAT64', '100 OppPTS / OppPoss'),
  col('opp_efg_pct', 'FLOAT64', 'four factors: (OppFGM + 0.5 Opp3PM) / OppFGA'),
  col('opp_tov_pct', 'FLOAT64', 'four factors: OppTOV / (OppFGA + 0.44 OppFTA + OppTOV)'),
  col('dreb_pct', 'FLOAT64', 'four factors: DREB / (DREB + OppOREB)'),
  col('opp_ft_rate', 'FLOAT64', 'four factors: OppFTM / OppFGA'),
  key('source_tables', 'STRING'),
  key('processed_at', 'TIMESTAMP'),
  ...QUALITY_COLUMNS,
];

/**
 * The slice's team defense rows from its raw team rows. Pure. A game missing the other team's
 * line still gets its row, with the opponent's figures null: one row per team-game, always.
 */
export function summarizeTeamDefense(slice: string, teamRows: readonly Row[], processedAt: string): Row[] {
  return teamGames(teamRows).map(({ team, opponent }) => {
    const o = opponent?.counts;
    const oppPoss = o ? possessions(o) : null;
    const factors = o ? defenseFourFactors(team.counts, o) : undefined;
    return {
      game_id: team.gameId,
      game_date: slice,
      season: team.season,
      game_type: team.gameType,
      team_id: team.teamId,
      team_abbr: team.teamAbbr,
      opponent_team_id: opponent?.teamId ?? null,
      opponent_team_abbr: opponent?.teamAbbr ?? null,
      is_home: team.isHome,
      minutes: round(team.minutes),
      points_allowed: o?.pts ?? null,
      won: o ? team.counts.pts > o.pts : null,
      opp_fgm: o?.fgm ?? null,
      opp_fga: o?.fga ?? null,
      opp_fg3m: o?.fg3m ?? null,
      opp_fg3a: o?.fg3a ?? null,
      opp_ftm: o?.ftm ?? null,
      opp_fta: o?.fta ?? null,
      opp_oreb: o?.oreb ?? null,
      opp_tov: o?.tov ?? null,
      dreb: team.counts.dreb,
      stl: team.stl,
      blk: team.blk,
      pf: team.pf,
      defensive_possessions: round(oppPoss),
      pace: oppPoss === null ? null : round(pace(possessions(team.counts), oppPoss, team.minutes)),
      defensive_rating: o && oppPoss !== null ? round(defensiveRating(o.pts, oppPoss)) : null,
      opp_efg_pct: round(factors?.efgPct ?? null),
      opp_tov_pct: round(factors?.tovPct ?? null),
      dreb_pct: round(factors?.rebPct ?? null),
      opp_ft_rate: round(factors?.ftRate ?? null),
      source_tables: TEAM_TABLE,
      processed_at: processedAt,
    };
  });
}

export const teamDefenseGameSummary: TransformDef = {
  kind: 'transform',
  name: 'team_defense_game_summary',
  phase: 3,
  description: 'per team per game: defensive possessions and rating, pace, defensive four factors',
  table: {
    dataset: 'nba_analytics',
    table: 'team_defense_game_summary',
    sliceColumn: 'game_date',
    primaryKey: ['game_id', 'team_id'],
    columns: COLUMNS,
    unitColumn: 'game_id',
  },
  dependsOn: [nbacTeamBoxscore.name],
  // A game NBA.com has nothing for is summed from balldontlie's player lines; its commit re-runs
  // this. (NBA.com's own player table is read too when a team line is missing, but is not a
  // trigger: every backfill date would then run twice.)
  optionalInputs: fallbackPlayerProcessors(),
  readsWarehouse: true,
  expects: scheduledGames,
  run: async (ctx) => {
    const readTable = tableReader(ctx, 'team_defense_game_summary');
    const inputs = await readBestSources(readTable, ctx.slice);
    return teamQuality(summarizeTeamDefense(ctx.slice, inputs.teams, new Date().toISOString()), inputs);
  },
};
