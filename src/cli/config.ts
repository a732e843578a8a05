/**
 * `phasegate config show | apply`: the shared settings (table caps, batch sizes, time scale)
 * recorded in Redis for this pipeline, which every worker must agree with; the work is in
 * actions/config.ts.
 */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('the settings every worker must agree on (table caps, batch sizes, time scale), recorded in Redis: show, apply');
  config
    .command('show')
    .description("the recorded set, and where this environment's values differ from it")
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/config.ts').then((m) => m.runConfigShow)));
  config
    .command('apply')
    .description("record this environment's values as the set, and set every table gate's caps from them now")
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/config.ts').then((m) => m.runConfigApply)));
  withExamples(config, [
    ['phasegate config show', 'the recorded set and where this machine differs'],
    [
      `PHASEGATE_TABLE_LIMITS='{"nba_raw.nbac_player_boxscores":{"concurrency":2}}' phasegate config apply`,
      'raise one table to two commits at once, for every worker',
    ],
  ]);
}
