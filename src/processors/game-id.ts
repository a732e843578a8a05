/**
 * NBA.com game ids: ten digits `00 T SS NNNNN`. The id alone says which season a game
 * belongs to and what kind of game it is, so processors derive `season` and `game_type`
 * from it instead of trusting a second, possibly disagreeing, field.
 */
import { InputError } from '../errors/input-error.ts';

export const GAME_TYPES = {
  '1': 'preseason',
  '2': 'regular_season',
  '4': 'playoffs',
  '5': 'play_in',
  '6': 'ist_final',
} as const;

export type GameTypeDigit = keyof typeof GAME_TYPES;
export type GameType = (typeof GAME_TYPES)[GameTypeDigit];

export interface GameIdInfo {
  gameId: string;
  /** The calendar year the season starts in: 2024 for 2024-25. */
  seasonStartYear: number;
  /** `2024-25`. */
  season: string;
  gameType: GameType;
  /** The last five digits; for playoffs they encode round, series and game (`00RSG`). */
  number: number;
}

const GAME_ID = /^00([0-9])([0-9]{2})([0-9]{5})$/;

/** `2024` → `2024-25`. */
export function seasonLabel(startYear: number): string {
  return `${startYear}-${String((startYear + 1) % 100).padStart(2, '0')}`;
}

/** The two season digits mean 19SS from 46 on: the league's first season was 1946-47. */
function startYearOf(ss: number): number {
  return ss >= 46 ? 1900 + ss : 2000 + ss;
}

export function parseGameId(gameId: string): GameIdInfo {
  if (typeof gameId !== 'string') throw new InputError(`game id must be a string, got ${JSON.stringify(gameId)}`);
  const m = GAME_ID.exec(gameId);
  if (!m) throw new InputError(`game id ${JSON.stringify(gameId)} is not 10 digits of the form 00TSSNNNNN`);
  const [, t = '', ss = '', nnnnn = ''] = m;
  const gameType = (GAME_TYPES as Record<string, GameType | undefined>)[t];
  if (!gameType) throw new InputError(`game id ${gameId} has unknown game type digit ${t} (known: 1, 2, 4, 5, 6)`);
  const seasonStartYear = startYearOf(Number(ss));
  return { gameId, seasonStartYear, season: seasonLabel(seasonStartYear), gameType, number: Number(nnnnn) };
}

/** Builds an id; the inverse of `parseGameId`. */
export function formatGameId(type: GameTypeDigit, seasonStartYear: number, number: number): string {
  if (!Number.isInteger(number) || number < 0 || number > 99_999) throw new InputError(`game number ${number} is outside 0–99999`);
  return `00${type}${String(seasonStartYear % 100).padStart(2, '0')}${String(number).padStart(5, '0')}`;
}

/**
 * The season a calendar date falls in. A season starts in the autumn and its Finals end by
 * late June, so July–December belong to the season starting that year.
 */
export function seasonStartYearOfDate(date: string): number {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  return month >= 7 ? year : year - 1;
}
