/**
 * What the source-coverage audit compares: the schedule against each source's raw player
 * box-score table, and against the analytics table in which phase 3 picks the best source
 * per game and tags it with a tier. A source whose processors the registry does not hold (a
 * trimmed test registry) is left out; with no fallback source, a game NBA.com lacks has no
 * source to be filled from.
 */
import type { Registry } from '../processors/registry.ts';
import { type TableSpec, type TransformDef, tableId } from '../processors/types.ts';

export interface CoverageSourceDef {
  /** The name rows carry in `primary_source`: `nbac`, `bdl`. */
  source: string;
  /** The phase-2 processor writing the source's player box scores. */
  processor: string;
  /** The phase-1 scraper feeding it. */
  scraper: string;
  /** `primary`: expected to hold every scheduled game. `fallback`: scraped only for what the primary lacks. */
  role: 'primary' | 'fallback';
}

/** The sources, primary first (seed 004: NBA.com, then balldontlie for what it lacks). */
export const COVERAGE_SOURCES: readonly CoverageSourceDef[] = [
  { source: 'nbac', processor: 'nbac_player_boxscore', scraper: 'nbac_player_boxscore_scraper', role: 'primary' },
  { source: 'bdl', processor: 'bdl_player_boxscore', scraper: 'bdl_player_boxscore_scraper', role: 'fallback' },
];

/** The phase-3 table whose rows carry each game's `primary_source` and `data_quality_tier`. */
export const COVERAGE_ANALYTICS_PROCESSOR = 'player_game_summary';

export interface CoverageSource extends CoverageSourceDef {
  def: TransformDef;
  table: TableSpec;
  tableName: string;
}

export interface CoverageTargets {
  /** Raw sources present in the registry, primary first. */
  sources: CoverageSource[];
  /** The fallback source, when the registry holds it (and its scraper). */
  fallback: CoverageSource | undefined;
  analytics: { def: TransformDef; table: TableSpec; tableName: string } | undefined;
}

function transform(registry: Registry, name: string): TransformDef | undefined {
  if (!registry.has(name)) return undefined;
  const def = registry.get(name);
  return def.kind === 'transform' && def.table.unitColumn !== undefined ? def : undefined;
}

export function coverageTargets(registry: Registry, defs: readonly CoverageSourceDef[] = COVERAGE_SOURCES): CoverageTargets {
  const sources: CoverageSource[] = [];
  for (const s of defs) {
    const def = transform(registry, s.processor);
    if (def) sources.push({ ...s, def, table: def.table, tableName: tableId(def.table) });
  }
  sources.sort((a, b) => (a.role === b.role ? 0 : a.role === 'primary' ? -1 : 1));
  const fallback = sources.find((s) => s.role === 'fallback' && registry.has(s.scraper));
  const analyticsDef = transform(registry, COVERAGE_ANALYTICS_PROCESSOR);
  return {
    sources,
    fallback,
    analytics: analyticsDef ? { def: analyticsDef, table: analyticsDef.table, tableName: tableId(analyticsDef.table) } : undefined,
  };
}

/** Scrapers of fallback sources: scraped on demand by the audit, never by the daily live run. */
export function fallbackScrapers(defs: readonly CoverageSourceDef[] = COVERAGE_SOURCES): Set<string> {
  return new Set(defs.filter((d) => d.role === 'fallback').map((d) => d.scraper));
}
