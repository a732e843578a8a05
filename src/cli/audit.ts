/** `phasegate audit`: what it accepts and its help; the work is in actions/audit.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerAudit(program: Command): void {
  const cmd = program
    .command('audit')
    .description(
      "run the source-coverage audit now: log coverage, repair gaps from NBA.com's raw files, else the fallback source, alert on games no source has",
    )
    .option('--since <when>', 'first date (YYYY-MM-DD) or days back (7d); default 7 days ago')
    .option('--until <date>', 'last date (YYYY-MM-DD); default yesterday')
    .option('--no-fallback', 'log and alert only: do not ask the fallback source')
    .option('--workers <n>', 'run workers in this process so the fallback lands (default 2 with the embedded DuckDB, 0 with BigQuery)')
    .option('--json', 'print the report as JSON')
    .action(lazyAction(() => import('./actions/audit.ts').then((m) => m.runAuditCommand)));
  withExamples(cmd, [
    ['phasegate audit', 'the last 7 days, now (the daily-audit schedule runs the same)'],
    ['phasegate audit --since 2025-04-15 --until 2025-04-18 --json', 'a window of your choice; exits 1 when a game has no data from any source'],
  ]);
}
