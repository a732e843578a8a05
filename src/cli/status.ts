/** `phasegate status`: what it accepts and its help; the work is in actions/status.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .description('queues, table gates and backfills (per processor: pending, running, staged, committed, incomplete, empty, waiting, deferred, failed)')
    .option('--backfill <id>', 'one backfill in detail')
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/status.ts').then((m) => m.runStatus)));
  withExamples(cmd, [
    ['phasegate status', 'queues, table gates, breakers and the last 10 backfills'],
    ['phasegate status --backfill bf-20261201-101500-1a2b', 'one backfill, with up to 50 slices that need a look'],
    ['phasegate status --json | jq .tables', 'the same as JSON'],
  ]);
}
