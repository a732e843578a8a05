/**
 * Phase 3: `nba_analytics.team_offense_game_summary`, one row per team per game: the team's
 * possessions, offensive rating, the game's pace and Dean Oliver's four factors of its offense.
 */

import { col, key } from '../columns.ts';
import { scheduledGames } from '../expectations.ts';
import { nbacTeamBoxscore } from '../nbac/team-boxscore.ts';
import { fallbackPlayerProcessors } from '../source-registry.ts';
import { type Column, type Row, type TransformDef, tableReader } from '../types.ts';
import { offenseFourFactors, offensiveRating, pace, possessions, round, trueShootingPct } from './formulas.ts';
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
  key('minutes', 'FLOAT64', 'team minutes: 240 in regulation'),
  key('pts', 'INT64'),
  col('opponent_pts', 'INT64'),
  col('won', 'BOOL'),
  ...['fgm', 'fga', 'fg3m', 'fg3a', 'ftm', 'fta', 'oreb', 'dreb', 'reb', 'ast', 'tov'].map((n) => key(n, 'INT64')),
  key('possessions', 'FLOAT64', 'FGA + 0.44 FTA - OREB + TOV'),
  col('pace', 'FLOAT64', '48 ((Poss + OppPoss) / 2) / (TmMP / 5)'),
  col('offensive_rating', 'FLOAT64', '100 PTS / Poss'),
  col('ts_pct', 'FLOAT64', 'PTS / (2 (FGA + 0.44 FTA))'),
  col('efg_pct', 'FLOAT64', 'four factors: (FGM + 0.5 3PM) / FGA'),
  col('tov_pct', 'FLOAT64', 'four factors: TOV / (FGA + 0.44 FTA + TOV)'),
  col('oreb_pct', 'FLOAT64', 'four factors: OREB / (OREB + OppDREB)'),
  col('ft_rate', 'FLOAT64', 'four factors: FTM / FGA'),
  key('source_tables', 'STRING'),
  key('processed_at', 'TIMESTAMP'),
  ...QUALITY_COLUMNS,
];

/** The slice's team offense rows from its raw team rows. Pure. */
export function summarizeTeamOffense(slice: string, teamRows: readonly Row[], processedAt: string): Row[] {
  return teamGames(teamRows).map(({ team, opponent }) => {
    const poss = possessions(team.counts);
    const oppPoss = opponent ? possessions(opponent.counts) : null;
    const factors = opponent ? offenseFourFactors(team.counts, opponent.counts) : undefined;
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
      pts: team.counts.pts,
      opponent_pts: opponent?.counts.pts ?? null,
      won: opponent ? team.counts.pts > opponent.counts.pts : null,
      fgm: team.counts.fgm,
      fga: team.counts.fga,
      fg3m: team.counts.fg3m,
      fg3a: team.counts.fg3a,
      ftm: team.counts.ftm,
      fta: team.counts.fta,
      oreb: team.counts.oreb,
      dreb: team.counts.dreb,
      reb: team.reb,
      ast: team.ast,
      tov: team.counts.tov,
      possessions: round(poss),
      pace: oppPoss === null ? null : round(pace(poss, oppPoss, team.minutes)),
      offensive_rating: round(offensiveRating(team.counts.pts, poss)),
      ts_pct: round(trueShootingPct(team.counts)),
      efg_pct: round(factors?.efgPct ?? null),
      tov_pct: round(factors?.tovPct ?? null),
      oreb_pct: round(factors?.rebPct ?? null),
      ft_rate: round(factors?.ftRate ?? null),
      source_tables: TEAM_TABLE,
      processed_at: processedAt,
    };
  });
}

export const teamOffenseGameSummary: TransformDef = {
  kind: 'transform',
  name: 'team_offense_game_summary',
  phase: 3,
  description: 'per team per game: possessions, offensive rating, pace, offensive four factors',
  table: {
    dataset: 'nba_analytics',
    table: 'team_offense_game_summary',
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
    const readTable = tableReader(ctx, 'team_offense_game_summary');
    const inputs = await readBestSources(readTable, ctx.slice);
    return teamQuality(summarizeTeamOffense(ctx.slice, inputs.teams, new Date().toISOString()), inputs);
  },
};
