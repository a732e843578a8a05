/** `phasegate retry`: what it accepts and its help; the work is in actions/retry.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerRetry(program: Command): void {
  const cmd = program
    .command('retry')
    .description('commit deferred slices (kept after waiting on the streaming buffer) now; a running worker lands them')
    .option('--deferred', 'retry the slices deferred after the maximum streaming-buffer wait')
    .option('--table <dataset.table>', 'only this table')
    .option('--slices <dates>', 'only these slices (comma-separated dates)')
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/retry.ts').then((m) => m.runRetry)));
  withExamples(cmd, [
    ['phasegate retry --deferred', 'every deferred slice of every table'],
    ['phasegate retry --deferred --table nba_raw.nbac_player_boxscores --slices 2024-01-05,2024-01-06', 'two slices of one table'],
    ['phasegate backfill --retry-failed .phasegate/failed/failed_dates_<id>.json', 'failed dates are retried by backfill, not here'],
  ]);
}
