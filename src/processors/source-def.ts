/**
 * The shape a source is declared with: where raw box scores come from (NBA.com, balldontlie…),
 * its role, the scraper and raw processor of each of its tables, and the client its scrapers
 * fetch through. Each source declares itself in its own folder (`processors/<source>/source.ts`)
 * and takes one line in `SOURCES` (source-registry.ts); coverage, analytics and the runtime
 * read it there.
 */
import type { ScraperDef, SourceClientDef, TransformDef } from './types.ts';

/** One raw table of a source: the scraper fetching its files, the processor loading them. */
export interface SourceTable {
  scraper: ScraperDef;
  processor: TransformDef;
  /**
   * The lines the table holds. A source *has* a game when it holds its player lines (phase 3's
   * player rows need them; its team rows are summed from the players when the team lines are
   * missing, `silver`), so only player tables decide whether a fallback is asked.
   */
  lines: 'player' | 'team';
}

export interface SourceDef {
  /** The name rows carry in `primary_source`: `nbac`, `bdl`. */
  name: string;
  /** How messages name it: `NBA.com`, `balldontlie`. */
  label: string;
  /**
   * `primary`: expected to hold every scheduled game, read first by phase 3. `fallback`: read
   * for the games the primary lacks, scraped only for those by the coverage audit (never by
   * the daily live run). Exactly one source is primary.
   */
  role: 'primary' | 'fallback';
  /** Its raw tables, player lines first. */
  tables: readonly SourceTable[];
  /**
   * The client its scrapers fetch through. @defaultValue none: its scrapers read the
   * pipeline's box-score source (`ctx.source`, the fixture or the scraper service)
   */
  client?: SourceClientDef<unknown>;
}
