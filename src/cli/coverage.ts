/** `phasegate coverage`: what it accepts and its help; the work is in actions/coverage.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerCoverage(program: Command): void {
  const cmd = program
    .command('coverage')
    .description('per game date: scheduled games, games found per source, tier counts, games no source has')
    .option('--start <date>', 'first date (YYYY-MM-DD; default: 7 days ago)')
    .option('--end <date>', 'last date (YYYY-MM-DD; default: yesterday)')
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/coverage.ts').then((m) => m.runCoverage)));
  withExamples(cmd, [
    ['phasegate coverage', 'the last 7 days'],
    [
      'phasegate coverage --start 2025-04-15 --end 2025-04-18 --json',
      "the 2024-25 Play-In games NBA.com has no box score for, with each game's source and tier",
    ],
  ]);
}
