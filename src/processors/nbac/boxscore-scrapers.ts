/**
 * Phase 1: the NBA.com box-score scrapers. Each stores a slice's raw box scores, one file
 * per game, as the source returned them; rerunning a slice overwrites the same keys.
 */
import type { BoxscoreSource, ProcessorContext, ScheduledGame, ScrapeResult, ScraperDef } from '../types.ts';

export const PLAYER_BOXSCORE_PREFIX = (date: string) => `nba-com/player-boxscores/${date}/`;
export const TEAM_BOXSCORE_PREFIX = (date: string) => `nba-com/team-boxscore/${date}/`;

// A few requests in flight: the scraper service takes seconds per game, and NBA.com
// throttles clients that open many connections at once.
const CONCURRENCY = 4;

async function scrape(
  ctx: ProcessorContext & { source: BoxscoreSource },
  prefix: (date: string) => string,
  fetchOne: (source: BoxscoreSource, game: ScheduledGame) => Promise<unknown | null>,
): Promise<ScrapeResult> {
  const games = await ctx.source.games(ctx.slice);
  const written: string[] = [];
  const missing: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < games.length; i = next++) {
      const game = games[i] as ScheduledGame;
      const doc = await fetchOne(ctx.source, game);
      if (doc === null || doc === undefined) {
        missing.push(game.gameId);
        continue;
      }
      const key = `${prefix(ctx.slice)}${game.gameId}.json`;
      await ctx.store.put(key, JSON.stringify(doc));
      written.push(key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, games.length) }, worker));
  return { expected: games.map((g) => g.gameId).sort(), written: written.sort(), missing: missing.sort() };
}

export function scrapePlayerBoxscores(ctx: ProcessorContext & { source: BoxscoreSource }): Promise<ScrapeResult> {
  return scrape(ctx, PLAYER_BOXSCORE_PREFIX, (s, g) => s.playerBoxscore(g));
}

export function scrapeTeamBoxscores(ctx: ProcessorContext & { source: BoxscoreSource }): Promise<ScrapeResult> {
  return scrape(ctx, TEAM_BOXSCORE_PREFIX, (s, g) => s.teamBoxscore(g));
}

export const nbacPlayerBoxscoreScraper: ScraperDef = {
  kind: 'scraper',
  name: 'nbac_player_boxscore_scraper',
  phase: 1,
  description: 'NBA.com player box scores (boxscoretraditionalv2/v3), one raw file per game',
  outputPrefix: PLAYER_BOXSCORE_PREFIX,
  run: scrapePlayerBoxscores,
};

export const nbacTeamBoxscoreScraper: ScraperDef = {
  kind: 'scraper',
  name: 'nbac_team_boxscore_scraper',
  phase: 1,
  description: 'NBA.com team box scores (boxscoretraditionalv2/v3), one raw file per game',
  outputPrefix: TEAM_BOXSCORE_PREFIX,
  run: scrapeTeamBoxscores,
};
