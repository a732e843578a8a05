/**
 * balldontlie, the fallback source (seed 004): player box scores for the games NBA.com has
 * nothing for. Its players are numbered apart from NBA.com's (the crosswalk maps them).
 */
import type { SourceDef } from '../source-def.ts';
import { bdlClient } from './client.ts';
import { bdlPlayerBoxscore } from './player-boxscore.ts';
import { bdlPlayerBoxscoreScraper } from './player-boxscore-scraper.ts';

export const bdlSource: SourceDef = {
  name: 'bdl',
  label: 'balldontlie',
  role: 'fallback',
  tables: [{ lines: 'player', scraper: bdlPlayerBoxscoreScraper, processor: bdlPlayerBoxscore }],
  client: bdlClient,
};
