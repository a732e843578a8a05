import type { Command } from 'commander';
import { demoConfigFlags, formatDemo, runDemo } from '../demo.ts';
import { type GlobalFlags, configFrom, exitOnError, parsePositiveInt, stopSignal, withRuntime } from './common.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the real 2023-24 season through the pipeline on the embedded default and report')
    .option('--concurrency <n>', 'phase jobs at once per queue', '4')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { concurrency: string; json?: boolean }, cmd: Command) => {
      try {
        const config = configFrom(cmd.optsWithGlobals<GlobalFlags>(), demoConfigFlags());
        await withRuntime(config, async (rt) => {
          const report = await runDemo(rt, { bars: !flags.json && process.stderr.isTTY === true, concurrency: parsePositiveInt(flags.concurrency, '--concurrency'), signal: stopSignal() });
          process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDemo(report, config)}\n`);
          if (report.failed > 0) process.exitCode = 1;
        });
      } catch (err) {
        exitOnError(err);
      }
    });
}
