/** `phasegate cancel`: what it accepts and its help; the work is in actions/cancel.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerCancel(program: Command): void {
  const cmd = program
    .command('cancel')
    .description('cancel a run: its queued and delayed jobs are removed and their slices end cancelled; running jobs finish and what is staged lands')
    .argument('<run-id>', 'the run (backfill) id, as backfill and status print it')
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/cancel.ts').then((m) => m.runCancel)));
  withExamples(cmd, [
    ['phasegate cancel bf-20261201-101500-1a2b', 'stop a backfill (and its cascade)'],
    ['phasegate backfill --retry-failed .phasegate/failed/failed_dates_bf-20261201-101500-1a2b.json', 'run its cancelled slices again later'],
  ]);
}
