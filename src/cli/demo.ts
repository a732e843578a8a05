import type { Command } from 'commander';
import { type RunningDashboard, startDashboard } from '../dashboard/index.ts';
import { DEMO_SEASON, demoConfigFlags, formatDemo, runDemo } from '../demo.ts';
import { checkRange } from '../queues/dates.ts';
import { configFrom, exitOnError, type GlobalFlags, parsePositiveInt, stopSignal, untilSignal, withRuntime } from './common.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the real 2023-24 season through the pipeline on the embedded default and report')
    .option('--concurrency <n>', 'phase jobs at once per queue', '4')
    .option('--start <date>', `first date (default ${DEMO_SEASON.start}, the season's first night)`)
    .option('--end <date>', `last date (default ${DEMO_SEASON.end}, its last)`)
    .option('--json', 'print the report as JSON')
    .option('--dashboard [port]', 'serve the dashboard while the demo runs, and after it until Ctrl-C (default port: PHASEGATE_DASHBOARD_PORT)')
    .action(async (flags: { concurrency: string; start?: string; end?: string; json?: boolean; dashboard?: string | boolean }, cmd: Command) => {
      try {
        const port = typeof flags.dashboard === 'string' ? flags.dashboard : undefined;
        // Without a range: the whole season and the 2024-25 Play-In nights (the fallback source's showcase).
        const range = flags.start || flags.end ? { start: flags.start ?? DEMO_SEASON.start, end: flags.end ?? DEMO_SEASON.end } : undefined;
        if (range) checkRange(range.start, range.end);
        const config = configFrom(cmd.optsWithGlobals<GlobalFlags>(), { ...demoConfigFlags(), PHASEGATE_DASHBOARD_PORT: port });
        await withRuntime(config, async (rt) => {
          const dashboard: RunningDashboard | undefined = flags.dashboard ? await startDashboard(rt) : undefined;
          try {
            const signal = stopSignal();
            const report = await runDemo(rt, {
              bars: !flags.json && process.stderr.isTTY === true,
              concurrency: parsePositiveInt(flags.concurrency, '--concurrency'),
              signal,
              ...(range ? { range } : {}),
            });
            process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDemo(report, config)}\n`);
            if (report.failed > 0) process.exitCode = 1;
            if (dashboard && !signal.aborted) {
              // People open the grid after the run too: keep serving until they say stop.
              process.stderr.write(`demo finished; the dashboard is still at ${dashboard.url} (Ctrl-C to stop)\n`);
              await untilSignal();
            }
          } finally {
            await dashboard?.close();
          }
        });
      } catch (err) {
        exitOnError(err);
      }
    });
}
