/**
 * stats.nba.com `boxscoretraditionalv2`: `{resource, parameters, resultSets: [{name, headers,
 * rowSet}]}`. Columns are found by header name: NBA.com has added columns over the years
 * (NICKNAME from 2019-20), so a position never means the same column for long.
 */
import { InputError } from '../../../errors/input-error.ts';
import type { ParsedBoxscore, PlayerLine, StatLine, TeamLine } from './boxscore-types.ts';
import { parseComment } from './comment.ts';
import { FieldReader, isObject, toDocument } from './fields.ts';

const STAT_HEADERS = [
  ['fgm', 'FGM'],
  ['fga', 'FGA'],
  ['fg3m', 'FG3M'],
  ['fg3a', 'FG3A'],
  ['ftm', 'FTM'],
  ['fta', 'FTA'],
  ['oreb', 'OREB'],
  ['dreb', 'DREB'],
  ['reb', 'REB'],
  ['ast', 'AST'],
  ['stl', 'STL'],
  ['blk', 'BLK'],
  ['tov', 'TO'],
  ['pf', 'PF'],
  ['pts', 'PTS'],
] as const;
const RATE_HEADERS = [
  ['fgPct', 'FG_PCT'],
  ['fg3Pct', 'FG3_PCT'],
  ['ftPct', 'FT_PCT'],
  ['plusMinus', 'PLUS_MINUS'],
] as const;
const STATS = [...STAT_HEADERS.map(([, h]) => h), ...RATE_HEADERS.map(([, h]) => h), 'MIN'];

const PLAYER_REQUIRED = ['GAME_ID', 'TEAM_ID', 'TEAM_ABBREVIATION', 'PLAYER_ID', 'PLAYER_NAME', 'START_POSITION', 'COMMENT', ...STATS];
const TEAM_REQUIRED = ['GAME_ID', 'TEAM_ID', 'TEAM_ABBREVIATION', ...STATS];

interface Table {
  name: string;
  rows: unknown[][];
  /** Column index by header; lookups of optional headers return undefined. */
  col: Map<string, number>;
}

function table(doc: Record<string, unknown>, name: string, required: readonly string[], file: string): Table {
  const sets = doc.resultSets;
  if (!Array.isArray(sets)) throw new InputError('no resultSets array: not a boxscoretraditionalv2 response', { file });
  const set = sets.find((s) => isObject(s) && s.name === name);
  if (!isObject(set)) throw new InputError(`no ${name} result set`, { file });
  const { headers, rowSet } = set;
  if (!Array.isArray(headers) || !headers.every((h) => typeof h === 'string')) throw new InputError(`${name}.headers is not a list of names`, { file });
  if (!Array.isArray(rowSet)) throw new InputError(`${name}.rowSet is not a list`, { file });
  const col = new Map(headers.map((h, i) => [h as string, i]));
  const missing = required.filter((h) => !col.has(h));
  if (missing.length > 0) throw new InputError(`${name} lacks header${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, { file });
  rowSet.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== headers.length) {
      throw new InputError(`${name} row ${i + 1} is not a list of ${headers.length} cells`, { file });
    }
  });
  if (rowSet.length === 0) throw new InputError(`${name} has no rows`, { file });
  return { name, rows: rowSet as unknown[][], col };
}

function cell(t: Table, row: unknown[], header: string): unknown {
  const i = t.col.get(header);
  return i === undefined ? undefined : row[i];
}

function stats(t: Table, row: unknown[], r: FieldReader): StatLine {
  const out = {} as StatLine;
  for (const [key, header] of STAT_HEADERS) out[key] = r.optInt(header, cell(t, row, header));
  for (const [key, header] of RATE_HEADERS) out[key] = r.optNumber(header, cell(t, row, header));
  return out;
}

function minutesOf(t: Table, row: unknown[], r: FieldReader): { minutes: string | null; secondsPlayed: number | null } {
  const raw = cell(t, row, 'MIN');
  if (raw !== null && typeof raw !== 'string' && typeof raw !== 'number') r.fail(`MIN must be a string, number or null, got ${typeof raw}`);
  return { minutes: raw === null || raw === '' ? null : String(raw), secondsPlayed: r.seconds('MIN', raw) };
}

export function parseBoxscoreV2(json: unknown, sourceFile: string): ParsedBoxscore {
  const doc = toDocument(json, sourceFile);
  if (!isObject(doc)) throw new InputError('top level is not a JSON object', { file: sourceFile });
  const p = table(doc, 'PlayerStats', PLAYER_REQUIRED, sourceFile);
  const t = table(doc, 'TeamStats', TEAM_REQUIRED, sourceFile);

  const players: PlayerLine[] = p.rows.map((row, i) => {
    const r: FieldReader = new FieldReader(sourceFile, `PlayerStats row ${i + 1}`);
    const startPosition = r.optString('START_POSITION', cell(p, row, 'START_POSITION'))?.trim() || null;
    return {
      gameId: r.gameId('GAME_ID', cell(p, row, 'GAME_ID')),
      teamId: r.int('TEAM_ID', cell(p, row, 'TEAM_ID')),
      teamAbbr: r.string('TEAM_ABBREVIATION', cell(p, row, 'TEAM_ABBREVIATION')),
      teamCity: r.optString('TEAM_CITY', cell(p, row, 'TEAM_CITY')),
      playerId: r.int('PLAYER_ID', cell(p, row, 'PLAYER_ID')),
      playerName: r.string('PLAYER_NAME', cell(p, row, 'PLAYER_NAME')),
      nickname: r.optString('NICKNAME', cell(p, row, 'NICKNAME'))?.trim() || null,
      startPosition,
      isStarter: startPosition !== null,
      ...parseComment(r.optString('COMMENT', cell(p, row, 'COMMENT'))),
      ...minutesOf(p, row, r),
      ...stats(p, row, r),
    };
  });

  const teams: TeamLine[] = t.rows.map((row, i) => {
    const r: FieldReader = new FieldReader(sourceFile, `TeamStats row ${i + 1}`);
    return {
      gameId: r.gameId('GAME_ID', cell(t, row, 'GAME_ID')),
      teamId: r.int('TEAM_ID', cell(t, row, 'TEAM_ID')),
      teamAbbr: r.string('TEAM_ABBREVIATION', cell(t, row, 'TEAM_ABBREVIATION')),
      teamCity: r.optString('TEAM_CITY', cell(t, row, 'TEAM_CITY')),
      teamName: r.optString('TEAM_NAME', cell(t, row, 'TEAM_NAME')),
      ...minutesOf(t, row, r),
      ...stats(t, row, r),
    };
  });

  const gameId = players[0]?.gameId ?? '';
  const other = [...players, ...teams].find((l) => l.gameId !== gameId);
  if (other) throw new InputError(`rows of two games in one box score: ${gameId} and ${other.gameId}`, { file: sourceFile });
  const teamIds = [...new Set(players.map((l) => l.teamId))];
  if (teamIds.length !== 2) throw new InputError(`PlayerStats has ${teamIds.length} teams, expected 2`, { file: sourceFile });
  const unknownTeam = teams.find((l) => !teamIds.includes(l.teamId));
  if (unknownTeam) throw new InputError(`TeamStats team ${unknownTeam.teamId} has no players in PlayerStats`, { file: sourceFile });
  // v2 does not name the home team. stats.nba.com lists the visitors' players first, as its
  // box score page does (e.g. 0041600401, CLE at GSW, starts with CLE), so the order tells.
  const [awayTeamId = null, homeTeamId = null] = teamIds;
  return { format: 'boxscoretraditionalv2', gameId, homeTeamId, awayTeamId, players, teams };
}
