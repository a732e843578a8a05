/** `phasegate processors`: the registry, by phase — name, table, inputs, dependencies. */
import type { Registry } from '../../processors/registry.ts';
import { type ProcessorDef, tableId } from '../../processors/types.ts';
import { defaultRegistry } from '../../runtime.ts';
import { wrap } from '../render/text.ts';

const PHASE_NAMES: Record<number, string> = { 1: 'scrape', 2: 'raw load', 3: 'analytics', 4: 'precompute', 5: 'predictions' };

export interface ProcessorInfo {
  phase: number;
  name: string;
  description: string;
  /** The table it writes (`dataset.table`); a scraper writes files. */
  table?: string | undefined;
  /** Object-store prefix of the files a scraper writes, for a date. */
  files?: string | undefined;
  /** What it reads: the source, raw files, or tables. */
  inputs: string;
  /** Processors whose slice must land first. */
  dependsOn: string[];
  /** Processors it reads when they are there, without waiting for them. */
  optionalInputs: string[];
}

const DATE = '{date}';

function tableOf(registry: Registry, name: string): string {
  const def = registry.has(name) ? registry.get(name) : undefined;
  return def?.kind === 'transform' ? tableId(def.table) : name;
}

export function describeProcessor(registry: Registry, def: ProcessorDef): ProcessorInfo {
  const base = { phase: def.phase, name: def.name, description: def.description };
  if (def.kind === 'scraper') {
    return { ...base, files: def.outputPrefix(DATE), inputs: `the schedule's games of the date, from the scraper's source`, dependsOn: [], optionalInputs: [] };
  }
  const optional = [...(def.optionalInputs ?? [])];
  let inputs: string;
  if (def.inputPrefix) inputs = `files under ${def.inputPrefix(DATE)}`;
  else inputs = [...def.dependsOn, ...optional].map((d) => tableOf(registry, d)).join(', ');
  return { ...base, table: tableId(def.table), inputs, dependsOn: [...def.dependsOn], optionalInputs: optional };
}

export function processorLines(infos: readonly ProcessorInfo[], width: number): string[] {
  const lines: string[] = [];
  const field = (label: string, value: string) => {
    for (const [i, part] of wrap(value, width - 14, 0).entries()) lines.push(`    ${(i === 0 ? label : '').padEnd(10)}${part}`);
  };
  for (const phase of [...new Set(infos.map((p) => p.phase))].sort()) {
    lines.push(`phase ${phase} · ${PHASE_NAMES[phase] ?? ''}`);
    for (const p of infos.filter((x) => x.phase === phase)) {
      lines.push(`  ${p.name}`);
      for (const part of wrap(p.description, width - 4, 0)) lines.push(`    ${part}`);
      field('writes', p.table ?? `files ${p.files ?? ''}`);
      field('reads', p.inputs);
      if (p.dependsOn.length > 0) field('waits for', p.dependsOn.join(', '));
      if (p.optionalInputs.length > 0) field('also', `${p.optionalInputs.join(', ')} (read when present, not waited for)`);
    }
  }
  return lines;
}

export async function runProcessors(flags: { json?: boolean }): Promise<void> {
  const registry = defaultRegistry();
  const infos = registry
    .all()
    .map((def) => describeProcessor(registry, def))
    .sort((a, b) => a.phase - b.phase);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(infos, null, 2)}\n`);
    return;
  }
  const width = Math.max(60, Math.min(100, process.stdout.columns ?? 80) - 1);
  for (const line of processorLines(infos, width)) process.stdout.write(`${line}\n`);
}
