/**
 * balldontlie numbers the 30 teams 1–30 in alphabetical order of their full names; NBA.com
 * uses ten-digit ids. One table maps both ways, so everything downstream of phase 2 speaks
 * NBA.com's ids whatever source a game came from.
 */
import { InputError } from '../../errors/input-error.ts';

/** [balldontlie id, abbreviation, NBA.com id], in balldontlie's order. */
const TEAMS: readonly (readonly [number, string, number])[] = [
  [1, 'ATL', 1610612737],
  [2, 'BOS', 1610612738],
  [3, 'BKN', 1610612751],
  [4, 'CHA', 1610612766],
  [5, 'CHI', 1610612741],
  [6, 'CLE', 1610612739],
  [7, 'DAL', 1610612742],
  [8, 'DEN', 1610612743],
  [9, 'DET', 1610612765],
  [10, 'GSW', 1610612744],
  [11, 'HOU', 1610612745],
  [12, 'IND', 1610612754],
  [13, 'LAC', 1610612746],
  [14, 'LAL', 1610612747],
  [15, 'MEM', 1610612763],
  [16, 'MIA', 1610612748],
  [17, 'MIL', 1610612749],
  [18, 'MIN', 1610612750],
  [19, 'NOP', 1610612740],
  [20, 'NYK', 1610612752],
  [21, 'OKC', 1610612760],
  [22, 'ORL', 1610612753],
  [23, 'PHI', 1610612755],
  [24, 'PHX', 1610612756],
  [25, 'POR', 1610612757],
  [26, 'SAC', 1610612758],
  [27, 'SAS', 1610612759],
  [28, 'TOR', 1610612761],
  [29, 'UTA', 1610612762],
  [30, 'WAS', 1610612764],
];

const TO_NBA = new Map(TEAMS.map(([bdl, , nba]) => [bdl, nba]));
const TO_BDL = new Map(TEAMS.map(([bdl, , nba]) => [nba, bdl]));
const ABBR = new Map(TEAMS.map(([bdl, abbr]) => [bdl, abbr]));

/** NBA.com's id of a balldontlie team id; InputError for an id outside 1–30. */
export function nbaTeamId(bdlTeamId: number): number {
  const id = TO_NBA.get(bdlTeamId);
  if (id === undefined) throw new InputError(`balldontlie team id ${bdlTeamId} is not one of the 30 teams (1–30)`);
  return id;
}

export function bdlTeamId(nbaTeamId: number): number {
  const id = TO_BDL.get(nbaTeamId);
  if (id === undefined) throw new InputError(`NBA.com team id ${nbaTeamId} is not one of the 30 teams`);
  return id;
}

export function bdlTeamAbbr(bdlTeamId: number): string {
  return ABBR.get(bdlTeamId) ?? '';
}

/** Every pair, for tests and the fixture. */
export function bdlTeams(): readonly { bdlId: number; abbr: string; nbaId: number }[] {
  return TEAMS.map(([bdlId, abbr, nbaId]) => ({ bdlId, abbr, nbaId }));
}
