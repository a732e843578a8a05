/**
 * Phase 1: balldontlie player box scores, the fallback source for games NBA.com has nothing
 * for (seed 004's Play-In games). One file per game under the NBA.com game id it maps to,
 * holding balldontlie's own rows unchanged. It runs on its own queue, whose BullMQ rate
 * limiter is balldontlie's request budget (a 429 pauses that queue for its Retry-After).
 */
import { InputError } from '../../errors/input-error.ts';
import { log } from '../../log.ts';
import type { ScrapeResult, ScraperContext, ScraperDef } from '../types.ts';
import { bdlClient } from './client.ts';
import { groupByGame } from './games.ts';
import type { BdlGameFile } from './stats.ts';

export const BDL_PLAYER_BOXSCORE_PREFIX = (date: string) => `balldontlie/player-boxscores/${date}/`;

export async function scrapeBdlPlayerBoxscores(ctx: ScraperContext): Promise<ScrapeResult> {
  const expected = (await ctx.schedule.games(ctx.slice)).map((g) => g.gameId).sort();
  // The runtime's client: the API with the configured key, or the fixture's stand-in.
  const stats = await ctx.clients.of(bdlClient).bdlStats(ctx.slice);
  const { games, unknown } = await groupByGame(ctx.schedule, ctx.slice, stats);
  if (unknown.length > 0 && (await ctx.schedule.covers(ctx.slice))) {
    throw new InputError(`balldontlie games ${unknown.join(', ')} on ${ctx.slice} match no scheduled game (date, home, visitor)`);
  }
  const written: string[] = [];
  for (const [gameId, rows] of games) {
    const file: BdlGameFile = { source: 'balldontlie', gameId, bdlGameId: rows[0]?.game.id ?? 0, date: ctx.slice, stats: rows };
    const key = `${BDL_PLAYER_BOXSCORE_PREFIX(ctx.slice)}${gameId}.json`;
    await ctx.store.put(key, JSON.stringify(file));
    written.push(key);
  }
  const missing = expected.filter((id) => !games.has(id));
  if (missing.length > 0) log.debug(`bdl_player_boxscore_scraper ${ctx.slice}: balldontlie has nothing for ${missing.join(', ')}`);
  return { expected, written: written.sort(), missing };
}

export const bdlPlayerBoxscoreScraper: ScraperDef = {
  kind: 'scraper',
  name: 'bdl_player_boxscore_scraper',
  phase: 1,
  description: 'balldontlie player box scores (/nba/v1/stats), the fallback for games NBA.com has none for; one raw file per game',
  outputPrefix: BDL_PLAYER_BOXSCORE_PREFIX,
  // One job is one date: up to ~4 pages of 100 rows, so the queue admits a quarter of the budget.
  rateLimit: (config) => ({ queue: 'balldontlie', max: Math.max(1, Math.floor(config.bdl.requestsPerMinute / 4)), durationMs: 60_000 }),
  run: scrapeBdlPlayerBoxscores,
};
