/**
 * Reads the schedule the scraper service returns for `nbac_schedule`: NBA.com's
 * `scheduleLeagueV2` (`leagueSchedule.gameDates[].games[]`, a whole season), or a plain
 * list of games in our own ScheduledGame shape.
 */
import { InputError } from '../errors/input-error.ts';
import type { ScheduledGame } from '../processors/types.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "10/22/2024 00:00:00" (scheduleLeagueV2) or an ISO date/time → YYYY-MM-DD. */
function isoDate(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const us = /^(\d{2})\/(\d{2})\/(\d{4})/.exec(raw);
  if (us) return `${us[3]}-${us[1]}-${us[2]}`;
  const iso = /^(\d{4}-\d{2}-\d{2})/.exec(raw);
  return iso?.[1];
}

function leagueGame(g: unknown, date: string | undefined): ScheduledGame | undefined {
  if (!isObj(g) || !isObj(g.homeTeam) || !isObj(g.awayTeam) || typeof g.gameId !== 'string') return undefined;
  const gameDate = isoDate(g.gameDateEst) ?? date;
  const { homeTeam: h, awayTeam: a } = g;
  if (!gameDate || typeof h.teamId !== 'number' || typeof a.teamId !== 'number') return undefined;
  return {
    gameId: g.gameId,
    gameDate,
    homeTeamId: h.teamId,
    awayTeamId: a.teamId,
    homeAbbr: String(h.teamTricode ?? ''),
    awayAbbr: String(a.teamTricode ?? ''),
  };
}

function plainGame(g: unknown): ScheduledGame | undefined {
  if (!isObj(g) || typeof g.gameId !== 'string' || typeof g.homeTeamId !== 'number' || typeof g.awayTeamId !== 'number') return undefined;
  const gameDate = isoDate(g.gameDate);
  if (!gameDate) return undefined;
  return {
    gameId: g.gameId,
    gameDate,
    homeTeamId: g.homeTeamId,
    awayTeamId: g.awayTeamId,
    homeAbbr: String(g.homeAbbr ?? ''),
    awayAbbr: String(g.awayAbbr ?? ''),
  };
}

export function parseServiceSchedule(body: unknown, what: string): ScheduledGame[] {
  const games: (ScheduledGame | undefined)[] = [];
  if (isObj(body) && isObj(body.leagueSchedule) && Array.isArray(body.leagueSchedule.gameDates)) {
    for (const day of body.leagueSchedule.gameDates) {
      if (!isObj(day) || !Array.isArray(day.games)) throw new InputError(`${what}: a gameDates entry has no games list`);
      const date = isoDate(day.gameDate);
      for (const g of day.games) games.push(leagueGame(g, date));
    }
  } else {
    const list = Array.isArray(body) ? body : isObj(body) && Array.isArray(body.games) ? body.games : undefined;
    if (!list) throw new InputError(`${what}: neither leagueSchedule.gameDates nor a list of games`);
    for (const g of list) games.push(plainGame(g));
  }
  const bad = games.indexOf(undefined);
  if (bad >= 0) throw new InputError(`${what}: game ${bad + 1} lacks gameId, a date or team ids`);
  return (games as ScheduledGame[]).sort((a, b) => a.gameDate.localeCompare(b.gameDate) || a.gameId.localeCompare(b.gameId));
}
