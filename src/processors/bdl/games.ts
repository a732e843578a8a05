/**
 * balldontlie's games → NBA.com game ids: the same date, the same home and visiting teams
 * (through the team table), on the schedule. Everything downstream keys games by NBA.com's id.
 */
import { InputError } from '../../errors/input-error.ts';
import type { Schedule, ScheduledGame } from '../types.ts';
import { type BdlStat, homeOf, visitorOf } from './stats.ts';
import { nbaTeamId } from './teams.ts';

/** The scheduled game a balldontlie game is, or undefined when the schedule has no such game. */
export function matchGame(scheduled: readonly ScheduledGame[], game: BdlStat['game']): ScheduledGame | undefined {
  const home = homeOf(game);
  const visitor = visitorOf(game);
  if (home === undefined || visitor === undefined) throw new InputError(`balldontlie game ${game.id} names no home or visiting team`);
  const [h, v] = [nbaTeamId(home), nbaTeamId(visitor)];
  const date = game.date.slice(0, 10);
  return scheduled.find((g) => g.gameDate === date && g.homeTeamId === h && g.awayTeamId === v);
}

/** A date's stats rows grouped by the NBA.com game they belong to; rows of games the schedule does not know are returned apart. */
export async function groupByGame(schedule: Schedule, date: string, stats: readonly BdlStat[]): Promise<{ games: Map<string, BdlStat[]>; unknown: number[] }> {
  const scheduled = await schedule.games(date);
  const games = new Map<string, BdlStat[]>();
  const unknown = new Set<number>();
  for (const s of stats) {
    const game = matchGame(scheduled, s.game);
    if (!game) {
      unknown.add(s.game.id);
      continue;
    }
    const list = games.get(game.gameId) ?? [];
    list.push(s);
    games.set(game.gameId, list);
  }
  return { games, unknown: [...unknown].sort((a, b) => a - b) };
}
