/**
 * More seasons than the fixture serves, for `bench:scale`: the incident's four seasons
 * (2021-22 … 2024-25, 853 game dates) repeated deterministically further back in time. Cycle k
 * moves every date back by k × 208 weeks (so weekdays, the All-Star break and back-to-backs
 * keep their shape, as the fixture itself derives its seasons) and every game id's season
 * digits back by 4 k years (0022100001 → 0021700001), so keys, schedule and raw files stay
 * consistent: a repeated game is a different game, on its own date, with the same box score.
 */

import type { BoxscoreSource, ScheduledGame } from '../../../src/processors/types.ts';
import { FixtureSource } from '../../../src/sources/fixture/fixture-source.ts';

/** The incident's range: the base cycle. */
export const BASE_START = '2021-10-19';
export const BASE_END = '2025-06-22';
/** 208 weeks: four years back, on the same weekday. */
const CYCLE_DAYS = 208 * 7;
const CYCLE_YEARS = 4;
const DAY_MS = 86_400_000;

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** `00 T SS NNNNN` with its season digits moved back by `years`. */
function shiftGameId(gameId: string, years: number): string {
  const season = Number(gameId.slice(3, 5)) - years;
  if (season < 0) throw new Error(`bench: cannot repeat ${gameId} ${years} years back`);
  return `${gameId.slice(0, 3)}${String(season).padStart(2, '0')}${gameId.slice(5)}`;
}

export class RepeatedSeasonsSource implements BoxscoreSource {
  private readonly base = new FixtureSource();
  private baseDates: Set<string> | undefined;

  private async baseSet(): Promise<Set<string>> {
    this.baseDates ??= new Set(await this.base.gameDates(BASE_START, BASE_END));
    return this.baseDates;
  }

  /** The base date and cycle a date belongs to (cycle 0: the fixture itself). */
  private async origin(date: string): Promise<{ date: string; k: number } | undefined> {
    const base = await this.baseSet();
    for (let k = 1; k <= 5; k++) {
      const original = addDays(date, k * CYCLE_DAYS);
      if (base.has(original)) return { date: original, k };
    }
    return undefined;
  }

  /** The first `n` game dates: the base cycle's 853, then cycle 1's latest dates, then cycle 2's… all ascending. */
  async firstDates(n: number): Promise<string[]> {
    const base = [...(await this.baseSet())].sort();
    const out = base.slice(0, n);
    for (let k = 1; out.length < n; k++) {
      const cycle = base.map((d) => addDays(d, -k * CYCLE_DAYS));
      out.unshift(...cycle.slice(Math.max(0, cycle.length - (n - out.length))));
    }
    return out.sort();
  }

  async gameDates(start: string, end: string): Promise<string[]> {
    const base = [...(await this.baseSet())].sort();
    const out = new Set(await this.base.gameDates(start, end));
    for (let k = 1; k <= 5; k++)
      for (const d of base) if (addDays(d, -k * CYCLE_DAYS) >= start && addDays(d, -k * CYCLE_DAYS) <= end) out.add(addDays(d, -k * CYCLE_DAYS));
    return [...out].sort();
  }

  async games(date: string): Promise<ScheduledGame[]> {
    const from = await this.origin(date);
    if (!from) return this.base.games(date);
    return (await this.base.games(from.date)).map((g) => ({ ...g, gameId: shiftGameId(g.gameId, from.k * CYCLE_YEARS), gameDate: date }));
  }

  async covers(date: string): Promise<boolean> {
    return (await this.origin(date)) !== undefined || this.base.covers(date);
  }

  async dateOfGame(gameId: string): Promise<string | undefined> {
    const season = Number(gameId.slice(3, 5));
    const known = await this.base.dateOfGame(gameId);
    if (known !== undefined) return known;
    for (let k = 1; k <= 5; k++) {
      if (season + k * CYCLE_YEARS > 24) break;
      const original = `${gameId.slice(0, 3)}${String(season + k * CYCLE_YEARS).padStart(2, '0')}${gameId.slice(5)}`;
      const date = await this.base.dateOfGame(original);
      if (date !== undefined) return addDays(date, -k * CYCLE_DAYS);
    }
    return undefined;
  }

  private async document(game: ScheduledGame, read: (g: ScheduledGame) => Promise<unknown | null>): Promise<unknown | null> {
    const from = await this.origin(game.gameDate);
    if (!from) return read(game);
    const originalId = shiftGameId(game.gameId, -from.k * CYCLE_YEARS);
    const doc = await read({ ...game, gameId: originalId, gameDate: from.date });
    return doc === null ? null : JSON.parse(JSON.stringify(doc).replaceAll(originalId, game.gameId));
  }

  playerBoxscore(game: ScheduledGame): Promise<unknown | null> {
    return this.document(game, (g) => this.base.playerBoxscore(g));
  }

  teamBoxscore(game: ScheduledGame): Promise<unknown | null> {
    return this.document(game, (g) => this.base.teamBoxscore(g));
  }
}
