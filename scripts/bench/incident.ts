/**
 * `npm run bench:incident`: replays seed 000 (853 game dates, 12 workers, a live writer
 * streaming into the same table) on the embedded warehouse with BigQuery's rules on, in three
 * modes, and prints one JSON object per mode on stdout. Progress and the target checks go to
 * stderr. See docs/bench-incident.md.
 */
import { parseBenchArgs, parseFlags } from './options.ts';
import { runBench, targetChecks } from './run-bench.ts';

async function main(): Promise<number> {
  const flags = parseFlags(parseBenchArgs);
  if ('exitCode' in flags) return flags.exitCode;
  const opts = flags.opts;
  const started = Date.now();
  const { reports } = await runBench(opts, (report) => process.stdout.write(`${JSON.stringify(report)}\n`));
  for (const check of targetChecks(reports)) process.stderr.write(`${check.met ? 'MET    ' : 'NOT MET'} ${check.target}: ${check.detail}\n`);
  process.stderr.write(`total ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:incident: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
