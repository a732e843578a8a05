/** `phasegate demo`: the season through all five phases on the embedded default, and the report. */
import type { Command } from 'commander';
import type { RunningDashboard } from '../../dashboard/start-dashboard.ts';
import { checkRange } from '../../queues/backfill/dates.ts';
import { configFrom, type GlobalFlags, parsePositiveInt, stopSignal, untilSignal, withRuntime } from '../common.ts';
import { DEMO_SEASON, demoConfigFlags, formatDemo, runDemo } from '../demo-run.ts';

interface DemoFlags {
  concurrency: string;
  start?: string;
  end?: string;
  json?: boolean;
  verbose?: boolean;
  dashboard?: string | boolean;
}

export async function runDemoCommand(flags: DemoFlags, cmd: Command): Promise<void> {
  const port = typeof flags.dashboard === 'string' ? flags.dashboard : undefined;
  // Without --start/--end the demo runs its own dates (the season and the Play-In nights).
  const range =
    flags.start !== undefined || flags.end !== undefined ? { start: flags.start ?? DEMO_SEASON.start, end: flags.end ?? DEMO_SEASON.end } : undefined;
  if (range) checkRange(range.start, range.end);
  const concurrency = parsePositiveInt(flags.concurrency, '--concurrency');
  const global = cmd.optsWithGlobals<GlobalFlags>();
  // The global --prefix and --time-scale win over the demo's own defaults.
  const config = configFrom(global, { ...demoConfigFlags(global), PHASEGATE_DASHBOARD_PORT: port });
  await withRuntime(config, async (rt) => {
    // Express and Bull Board load only when the dashboard is asked for.
    const dashboard: RunningDashboard | undefined = flags.dashboard ? await (await import('../../dashboard/start-dashboard.ts')).startDashboard(rt) : undefined;
    try {
      const signal = stopSignal();
      const report = await runDemo(rt, { bars: !flags.json && process.stderr.isTTY === true, verbose: flags.verbose, concurrency, signal, range });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDemo(report, config)}\n`);
      if (report.failed > 0) process.exitCode = 1;
      if (dashboard && !signal.aborted) {
        // People open the grid after the run too: keep serving until they say stop, and say
        // again how to sign in — the first notice scrolled away behind the run.
        process.stderr.write(`demo finished; the dashboard is still up (Ctrl-C to stop), sign in at\n  ${dashboard.loginUrl}\n`);
        await untilSignal();
      }
    } finally {
      await dashboard?.close();
    }
  });
}
