/** `phasegate dashboard`: Bull Board plus phasegate's pages, until Ctrl-C. */
import type { Command } from 'commander';
import { checkBind, resolveCredentials, startDashboard } from '../dashboard/index.ts';
import { configFrom, exitOnError, type GlobalFlags, untilSignal, withRuntime } from './common.ts';

interface DashboardFlags {
  port?: string;
  host?: string;
  readOnly?: boolean;
}

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('serve the dashboard: Bull Board, backfill grids, table gates, failures, /metrics (sign-in required)')
    .option('--port <n>', 'port (PHASEGATE_DASHBOARD_PORT, default 3000)')
    .option('--host <address>', 'bind address (PHASEGATE_DASHBOARD_HOST, default 127.0.0.1; others need configured credentials)')
    .option('--read-only', 'no retries or changes from the dashboard or Bull Board (PHASEGATE_DASHBOARD_READ_ONLY)')
    .action(async (flags: DashboardFlags, cmd: Command) => {
      try {
        const config = configFrom(cmd.optsWithGlobals<GlobalFlags>(), {
          PHASEGATE_DASHBOARD_PORT: flags.port,
          PHASEGATE_DASHBOARD_HOST: flags.host,
          PHASEGATE_DASHBOARD_READ_ONLY: flags.readOnly ? 'true' : undefined,
        });
        // Refused before Redis is touched: one line, exit 2.
        const credentials = resolveCredentials(config.dashboard);
        checkBind(config.dashboard.host, credentials);
        await withRuntime(config, async (rt) => {
          const dashboard = await startDashboard(rt, { credentials });
          await untilSignal();
          await dashboard.close();
        });
      } catch (err) {
        exitOnError(err);
      }
    });
}
