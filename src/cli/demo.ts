/** `phasegate demo`: what it accepts and its help; the work is in actions/demo.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

// The demo's season (DEMO_SEASON in src/cli/demo-run.ts, which the help does not import: it loads the pipeline).
const SEASON = { start: '2023-10-24', end: '2024-04-14' } as const;

export function registerDemo(program: Command): void {
  const cmd = program
    .command('demo')
    .description('run the real 2023-24 season through the pipeline on the embedded default and report')
    .option('--concurrency <n>', 'phase jobs at once per queue', '4')
    .option('--start <date>', `first date (default ${SEASON.start}, the season's first night)`)
    .option('--end <date>', `last date (default ${SEASON.end}, its last)`)
    .option('--json', 'print the report as JSON')
    .option('--verbose', 'with the bars, print every info log line (each commit) above them')
    .option('--dashboard [port]', 'serve the dashboard while the demo runs, and after it until Ctrl-C (default port: PHASEGATE_DASHBOARD_PORT)')
    .action(lazyAction(() => import('./actions/demo.ts').then((m) => m.runDemoCommand)));
  withExamples(cmd, [
    ['npm run demo', 'the whole season and the 2024-25 Play-In nights, then the report'],
    ['phasegate demo --start 2023-11-01 --end 2023-11-07', 'one week'],
    ['phasegate demo --dashboard 3000', 'and watch it in the dashboard (the sign-in URL is printed at the start and the end)'],
  ]);
}
