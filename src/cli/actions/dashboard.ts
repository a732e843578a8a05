/** `phasegate dashboard`: Bull Board plus phasegate's pages, until Ctrl-C. */
import type { Command } from 'commander';
import { checkBind, resolveCredentials, startDashboard } from '../../dashboard/start-dashboard.ts';
import { configFrom, type GlobalFlags, untilSignal, withRuntime } from '../common.ts';

interface DashboardFlags {
  port?: string;
  host?: string;
  readOnly?: boolean;
}

export async function runDashboard(flags: DashboardFlags, cmd: Command): Promise<void> {
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
}
