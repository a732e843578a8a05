/**
 * The trivial processors of bench:overhead (and of tests that need phase jobs with no inputs):
 * one row `{d: slice}` into a one-column table at phase 2, and one that depends on it at phase 3.
 */
import { Registry } from '../../src/processors/registry.ts';
import type { ProcessorContext, TableSpec, TransformDef } from '../../src/processors/types.ts';

export function trivialRegistry(): { registry: Registry; up: TransformDef; down: TransformDef } {
  const table = (name: string): TableSpec => ({ dataset: 'bench', table: name, columns: [{ name: 'd', type: 'DATE' }], primaryKey: ['d'], sliceColumn: 'd' });
  const run = async (ctx: ProcessorContext) => [{ d: ctx.slice }];
  const up: TransformDef = {
    kind: 'transform',
    name: 'bench_noop',
    phase: 2,
    description: 'one row per slice',
    table: table('overhead_noop'),
    dependsOn: [],
    run,
  };
  const down: TransformDef = {
    kind: 'transform',
    name: 'bench_noop_down',
    phase: 3,
    description: 'one row per slice, after bench_noop',
    table: table('overhead_noop_down'),
    dependsOn: [up.name],
    run,
  };
  return { registry: new Registry([up, down]), up, down };
}
