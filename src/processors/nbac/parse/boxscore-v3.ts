/**
 * stats.nba.com `boxscoretraditionalv3` (2025-26 on): `{meta, boxScoreTraditional: {gameId,
 * homeTeamId, awayTeamId, homeTeam, awayTeam}}`, each team carrying `players[]` with a
 * camel-cased `statistics` object and its own team `statistics`.
 */
import { InputError } from '../../../errors/input-error.ts';
import type { ParsedBoxscore, PlayerLine, StatLine, TeamLine } from './boxscore-types.ts';
import { parseComment } from './comment.ts';
import { FieldReader, isObject, toDocument } from './fields.ts';

const COUNTS = [
  ['fgm', 'fieldGoalsMade'],
  ['fga', 'fieldGoalsAttempted'],
  ['fg3m', 'threePointersMade'],
  ['fg3a', 'threePointersAttempted'],
  ['ftm', 'freeThrowsMade'],
  ['fta', 'freeThrowsAttempted'],
  ['oreb', 'reboundsOffensive'],
  ['dreb', 'reboundsDefensive'],
  ['reb', 'reboundsTotal'],
  ['ast', 'assists'],
  ['stl', 'steals'],
  ['blk', 'blocks'],
  ['tov', 'turnovers'],
  ['pf', 'foulsPersonal'],
  ['pts', 'points'],
] as const;
const RATES = [
  ['fgPct', 'fieldGoalsPercentage'],
  ['fg3Pct', 'threePointersPercentage'],
  ['ftPct', 'freeThrowsPercentage'],
  ['plusMinus', 'plusMinusPoints'],
] as const;

const NO_STATS: StatLine = {
  fgm: null,
  fga: null,
  fg3m: null,
  fg3a: null,
  ftm: null,
  fta: null,
  oreb: null,
  dreb: null,
  reb: null,
  ast: null,
  stl: null,
  blk: null,
  tov: null,
  pf: null,
  pts: null,
  fgPct: null,
  fg3Pct: null,
  ftPct: null,
  plusMinus: null,
};

function statsOf(s: Record<string, unknown>, r: FieldReader, where: string): StatLine {
  const out = { ...NO_STATS };
  for (const [key, field] of COUNTS) {
    if (!(field in s)) r.fail(`${where}.${field} is missing`);
    out[key] = r.optInt(field, s[field]);
  }
  for (const [key, field] of RATES) out[key] = r.optNumber(field, s[field]);
  return out;
}

function object(value: unknown, r: FieldReader, name: string): Record<string, unknown> {
  if (!isObject(value)) r.fail(`${name} is not an object`);
  return value;
}

interface TeamLines {
  team: TeamLine;
  players: PlayerLine[];
}

function parseTeam(value: unknown, gameId: string, side: 'homeTeam' | 'awayTeam', file: string): TeamLines {
  const r: FieldReader = new FieldReader(file, side);
  const t = object(value, r, side);
  const teamId = r.int('teamId', t.teamId);
  const teamAbbr = r.string('teamTricode', t.teamTricode);
  const teamCity = r.optString('teamCity', t.teamCity);
  if (!Array.isArray(t.players)) r.fail('players is not a list');
  const players = t.players.map((raw, i): PlayerLine => {
    const pr: FieldReader = new FieldReader(file, `${side}.players[${i}]`);
    const p = object(raw, pr, 'player');
    const s = object(p.statistics, pr, 'statistics');
    const minutesRaw = pr.optString('minutes', s.minutes);
    const secondsPlayed = pr.seconds('minutes', minutesRaw);
    const startPosition = pr.optString('position', p.position)?.trim() || null;
    const first = pr.optString('firstName', p.firstName) ?? '';
    const family = pr.optString('familyName', p.familyName) ?? '';
    const playerName = `${first} ${family}`.trim();
    if (playerName === '') pr.fail('firstName and familyName are both empty');
    return {
      gameId,
      teamId,
      teamAbbr,
      teamCity,
      playerId: pr.int('personId', p.personId),
      playerName,
      // v3 has no nickname field.
      nickname: null,
      startPosition,
      isStarter: startPosition !== null,
      ...parseComment(pr.optString('comment', p.comment)),
      minutes: minutesRaw?.trim() || null,
      secondsPlayed,
      // v3 writes zeros, not nulls, for a player who did not play; a zero would count as
      // an appearance downstream, so such a line gets no stats, as in v2.
      ...(secondsPlayed === null ? NO_STATS : statsOf(s, pr, 'statistics')),
    };
  });
  const s = object(t.statistics, r, 'statistics');
  const minutes = r.optString('statistics.minutes', s.minutes);
  const team: TeamLine = {
    gameId,
    teamId,
    teamAbbr,
    teamCity,
    teamName: r.optString('teamName', t.teamName),
    minutes: minutes?.trim() || null,
    secondsPlayed: r.seconds('statistics.minutes', minutes),
    ...statsOf(s, r, 'statistics'),
  };
  return { team, players };
}

export function parseBoxscoreV3(json: unknown, sourceFile: string): ParsedBoxscore {
  const doc = toDocument(json, sourceFile);
  if (!isObject(doc) || !isObject(doc.boxScoreTraditional)) {
    throw new InputError('no boxScoreTraditional object: not a boxscoretraditionalv3 response', { file: sourceFile });
  }
  const b = doc.boxScoreTraditional;
  const r: FieldReader = new FieldReader(sourceFile, 'boxScoreTraditional');
  const gameId = r.gameId('gameId', b.gameId);
  const homeTeamId = r.int('homeTeamId', b.homeTeamId);
  const awayTeamId = r.int('awayTeamId', b.awayTeamId);
  const home = parseTeam(b.homeTeam, gameId, 'homeTeam', sourceFile);
  const away = parseTeam(b.awayTeam, gameId, 'awayTeam', sourceFile);
  if (home.team.teamId !== homeTeamId) r.fail(`homeTeam.teamId ${home.team.teamId} is not homeTeamId ${homeTeamId}`);
  if (away.team.teamId !== awayTeamId) r.fail(`awayTeam.teamId ${away.team.teamId} is not awayTeamId ${awayTeamId}`);
  // Away first, as v2 lists them, so both versions yield rows in the same order.
  return {
    format: 'boxscoretraditionalv3',
    gameId,
    homeTeamId,
    awayTeamId,
    players: [...away.players, ...home.players],
    teams: [away.team, home.team],
  };
}
