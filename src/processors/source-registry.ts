/**
 * The source registry: every source phasegate reads box scores from, declared once in its
 * own folder, one line here. The processor registry takes their scrapers and raw processors
 * from it; phase 3 reads their tables in this order (the primary first); the coverage audit
 * compares them; the runtime makes their clients.
 */

import { DefinitionError } from '../errors/definition-error.ts';
import { bdlSource } from './bdl/source.ts';
import { nbacSource } from './nbac/source.ts';
import type { SourceDef } from './source-def.ts';
import type { ProcessorDef, TransformDef } from './types.ts';

/** Every source, the primary first. */
export const SOURCES: readonly SourceDef[] = [nbacSource, bdlSource];

/** The one primary source of `sources`. */
export function primarySource(sources: readonly SourceDef[] = SOURCES): SourceDef {
  const primary = sources.filter((s) => s.role === 'primary');
  if (primary.length !== 1) throw new DefinitionError(`sources: exactly one must be primary (got ${primary.map((s) => s.name).join(', ') || 'none'})`);
  return primary[0] as SourceDef;
}

/** The source named `name` (what rows carry in `primary_source`). */
export function sourceNamed(name: string, sources: readonly SourceDef[] = SOURCES): SourceDef {
  const source = sources.find((s) => s.name === name);
  if (!source) throw new DefinitionError(`unknown source ${JSON.stringify(name)} (known: ${sources.map((s) => s.name).join(', ')})`);
  return source;
}

/** The raw processor of a source's player lines: every source has one (it is what *having* a game means). */
export function playerProcessor(source: SourceDef): TransformDef {
  const table = source.tables.find((t) => t.lines === 'player');
  if (!table) throw new DefinitionError(`source ${source.name} declares no player table: phase 3 reads each source's player lines`);
  return table.processor;
}

/** The fallback sources of `sources`, in the registry's order. */
export function fallbackSources(sources: readonly SourceDef[] = SOURCES): SourceDef[] {
  return sources.filter((s) => s.role === 'fallback');
}

/** A source's processors in the processor registry's order: its scrapers, then its raw processors. */
export function sourceProcessors(source: SourceDef): ProcessorDef[] {
  return [...source.tables.map((t) => t.scraper), ...source.tables.map((t) => t.processor)];
}

/** The raw processors holding the player lines of the fallback sources: phase 3's optional inputs. */
export function fallbackPlayerProcessors(sources: readonly SourceDef[] = SOURCES): string[] {
  return fallbackSources(sources).map((s) => playerProcessor(s).name);
}
