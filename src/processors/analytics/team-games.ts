/**
 * Pairs the two team lines of each game: every team summary and the player summary's team
 * and opponent context read a team together with its opponent.
 */
import { nbacTeamBoxscore } from '../nbac/team-boxscore.ts';
import { type Row, tableId } from '../types.ts';
import type { Counts } from './formulas.ts';
import { count, countsOf, optBool, optNumber, optString, requiredNumber, requiredString } from './rows.ts';

export const TEAM_TABLE = tableId(nbacTeamBoxscore.table);

/** Regulation team minutes (5 × 48): used when a team line has no minutes. */
export const REGULATION_TEAM_MINUTES = 240;

export interface TeamSide {
  gameId: string;
  season: string | null;
  gameType: string | null;
  teamId: number;
  teamAbbr: string | null;
  isHome: boolean | null;
  /** Team minutes as a decimal: 240 in regulation, 265 after one overtime. */
  minutes: number;
  counts: Counts;
  reb: number;
  ast: number;
  stl: number;
  blk: number;
  pf: number;
}

export interface TeamGame {
  team: TeamSide;
  /** Absent only when the game's other team line is missing from the raw table. */
  opponent: TeamSide | undefined;
}

export function teamSideOf(row: Row): TeamSide {
  const seconds = optNumber(row, 'seconds_played', TEAM_TABLE);
  return {
    gameId: requiredString(row, 'game_id', TEAM_TABLE),
    season: optString(row, 'season'),
    gameType: optString(row, 'game_type'),
    teamId: requiredNumber(row, 'team_id', TEAM_TABLE),
    teamAbbr: optString(row, 'team_abbr'),
    isHome: optBool(row, 'is_home'),
    minutes: seconds !== null && seconds > 0 ? seconds / 60 : REGULATION_TEAM_MINUTES,
    counts: countsOf(row, TEAM_TABLE),
    reb: count(row, 'reb', TEAM_TABLE),
    ast: count(row, 'ast', TEAM_TABLE),
    stl: count(row, 'stl', TEAM_TABLE),
    blk: count(row, 'blk', TEAM_TABLE),
    pf: count(row, 'pf', TEAM_TABLE),
  };
}

/** One entry per team line, with the other team of its game as the opponent. */
export function teamGames(rows: readonly Row[]): TeamGame[] {
  const sides = rows.map(teamSideOf);
  const byGame = new Map<string, TeamSide[]>();
  for (const s of sides) {
    const list = byGame.get(s.gameId) ?? [];
    list.push(s);
    byGame.set(s.gameId, list);
  }
  return sides.map((team) => ({ team, opponent: byGame.get(team.gameId)?.find((o) => o.teamId !== team.teamId) }));
}

/** Team lines keyed `game_id/team_id`. */
export function teamIndex(games: readonly TeamGame[]): Map<string, TeamGame> {
  return new Map(games.map((g) => [`${g.team.gameId}/${g.team.teamId}`, g]));
}
