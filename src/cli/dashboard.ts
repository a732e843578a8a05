/** `phasegate dashboard`: what it accepts and its help; the work is in actions/dashboard.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerDashboard(program: Command): void {
  const cmd = program
    .command('dashboard')
    .description('serve the dashboard: Bull Board, backfill grids, table gates, failures, /metrics (sign-in required)')
    .option('--port <n>', 'port (PHASEGATE_DASHBOARD_PORT, default 3000)')
    .option('--host <address>', 'bind address (PHASEGATE_DASHBOARD_HOST, default 127.0.0.1; others need configured credentials)')
    .option('--read-only', 'no retries or changes from the dashboard or Bull Board (PHASEGATE_DASHBOARD_READ_ONLY)')
    .action(lazyAction(() => import('./actions/dashboard.ts').then((m) => m.runDashboard)));
  withExamples(cmd, [
    ['phasegate dashboard', 'on 127.0.0.1:3000; open the sign-in URL it prints'],
    ['phasegate dashboard --port 8080 --read-only', 'look, but change nothing'],
    ['PHASEGATE_DASHBOARD_USER=ops PHASEGATE_DASHBOARD_PASSWORD=… phasegate dashboard --host 0.0.0.0', 'beyond loopback: only with configured credentials'],
  ]);
}
