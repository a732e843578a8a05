/** `phasegate worker`: what it accepts and its help; the work is in actions/worker.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerWorker(program: Command): void {
  const cmd = program
    .command('worker')
    .description('run phase workers and/or the table commit gates until SIGINT/SIGTERM')
    .option('--phases <list>', 'phases to work, e.g. 1,2,commit (commit = the table gates; all = everything)', 'all')
    .option('--concurrency <n>', 'jobs at once per phase queue', '4')
    .action(lazyAction(() => import('./actions/worker.ts').then((m) => m.runWorker)));
  withExamples(cmd, [
    ['phasegate worker', 'every phase and the table gates in one process'],
    ['phasegate worker --phases 1,2 --concurrency 8', 'scrape and raw-load only (with the embedded DuckDB, one process runs commit)'],
    ['phasegate worker --phases commit', 'only the table gates'],
  ]);
}
