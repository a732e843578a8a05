/**
 * What the source-coverage audit compares: the schedule against each source's raw box-score
 * tables (its player lines, and NBA.com's team lines), and against the analytics table in
 * which phase 3 picks the best source per game and tags it with a tier. A source whose
 * processors the registry does not hold (a trimmed test registry) is left out; with no
 * fallback source, a game NBA.com lacks has no source to be filled from.
 */
import type { Registry } from '../processors/registry.ts';
import type { SourceDef, SourceTable } from '../processors/source-def.ts';
import { SOURCES } from '../processors/source-registry.ts';
import { type TableSpec, type TransformDef, tableId } from '../processors/types.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** One raw table of a source, as the audit compares it (see `SourceDef`, `SourceTable`). */
export interface CoverageSourceDef {
  /** The name rows carry in `primary_source`: `nbac`, `bdl`. */
  source: string;
  /** The phase-2 processor writing one of the source's raw tables. */
  processor: string;
  /** The phase-1 scraper feeding it. */
  scraper: string;
  role: SourceDef['role'];
  lines: SourceTable['lines'];
}

/** The sources' raw tables, primary first, from the source registry. */
export const COVERAGE_SOURCES: readonly CoverageSourceDef[] = SOURCES.flatMap((s) =>
  s.tables.map((t) => ({ source: s.name, processor: t.processor.name, scraper: t.scraper.name, role: s.role, lines: t.lines })),
);

/** The phase-3 table whose rows carry each game's `primary_source` and `data_quality_tier`. */
export const COVERAGE_ANALYTICS_PROCESSOR = 'player_game_summary';

export interface CoverageSource extends CoverageSourceDef {
  def: TransformDef;
  table: TableSpec;
  tableName: string;
}

export interface CoverageTargets {
  /** Raw tables of the sources present in the registry, primary first (one entry per table). */
  sources: CoverageSource[];
  /** The sources' names, primary first, once each (`nbac`, `bdl`): what a game is found in. */
  names: string[];
  /** The primary source's player table: what the fallback stands in for. */
  primary: CoverageSource | undefined;
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
  const fallback = sources.find((s) => s.role === 'fallback' && s.lines === 'player' && registry.has(s.scraper));
  const analyticsDef = transform(registry, COVERAGE_ANALYTICS_PROCESSOR);
  return {
    sources,
    names: [...new Set(sources.map((s) => s.source))],
    primary: sources.find((s) => s.role === 'primary' && s.lines === 'player'),
    fallback,
    analytics: analyticsDef ? { def: analyticsDef, table: analyticsDef.table, tableName: tableId(analyticsDef.table) } : undefined,
  };
}

/** Scrapers of fallback sources: scraped on demand by the audit, never by the daily live run. */
export function fallbackScrapers(defs: readonly CoverageSourceDef[] = COVERAGE_SOURCES): Set<string> {
  return new Set(defs.filter((d) => d.role === 'fallback').map((d) => d.scraper));
}

/** The source holds the game's player lines: it *has* the game (see `CoverageSourceDef.lines`). */
export function sourceHas(targets: Pick<CoverageTargets, 'sources'>, raw: Readonly<Record<string, number>>, source: string): boolean {
  return targets.sources.some((s) => s.source === source && s.lines === 'player' && (raw[s.tableName] ?? 0) > 0);
}

// Every raw file is one game, named after it: `<prefix><game_id>.json` (the scrapers write
// them so, and the raw processors refuse any other name).
const GAME_FILE = /^(\w+)\.json$/;

/**
 * The games whose raw files for a table are in the object store for a date: what a re-run of
 * the table's processor would load. A table whose processor reads no files has none.
 */
export async function gamesWithFiles(store: Pick<ObjectStore, 'list'>, source: Pick<CoverageSource, 'def'>, date: string): Promise<Set<string>> {
  const prefix = source.def.inputPrefix?.(date);
  if (!prefix) return new Set();
  const games = new Set<string>();
  for (const key of await store.list(prefix)) {
    const id = GAME_FILE.exec(key.slice(prefix.length))?.[1];
    if (id) games.add(id);
  }
  return games;
}
