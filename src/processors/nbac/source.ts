/**
 * NBA.com, the primary source: every scheduled game's player and team box scores. Its
 * scrapers read the pipeline's box-score source (the fixture, or the scraper service), so it
 * declares no client of its own.
 */
import type { SourceDef } from '../source-def.ts';
import { nbacPlayerBoxscoreScraper, nbacTeamBoxscoreScraper } from './boxscore-scrapers.ts';
import { nbacPlayerBoxscore } from './player-boxscore.ts';
import { nbacTeamBoxscore } from './team-boxscore.ts';

export const nbacSource: SourceDef = {
  name: 'nbac',
  label: 'NBA.com',
  role: 'primary',
  tables: [
    { lines: 'player', scraper: nbacPlayerBoxscoreScraper, processor: nbacPlayerBoxscore },
    { lines: 'team', scraper: nbacTeamBoxscoreScraper, processor: nbacTeamBoxscore },
  ],
};
