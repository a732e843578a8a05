/** `phasegate fixtures`: what it accepts and its help; the work is in actions/fixtures.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerFixtures(program: Command): void {
  const cmd = program
    .command('fixtures')
    .description('show the fixture source: seasons derived from the real 2023-24 data, game dates and games')
    .option('--start <date>', 'first date', '2021-10-01')
    .option('--end <date>', 'last date', '2026-06-30')
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/fixtures.ts').then((m) => m.runFixtures)));
  withExamples(cmd, [
    ['phasegate fixtures', 'every season the fixture source serves'],
    ['phasegate fixtures --start 2023-10-24 --end 2024-04-14 --json', 'the real 2023-24 regular season, as JSON'],
  ]);
}
