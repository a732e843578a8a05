/** `phasegate processors`: what it accepts and its help; the work is in actions/processors.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerProcessors(program: Command): void {
  const cmd = program
    .command('processors')
    .description('every processor by phase: what it writes, what it reads, what it waits for (the names --processors takes)')
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/processors.ts').then((m) => m.runProcessors)));
  withExamples(cmd, [
    ['phasegate processors', 'the pipeline, phase by phase'],
    ["phasegate processors --json | jq -r '.[] | select(.phase == 2) | .name'", 'the raw-load processors'],
  ]);
}
