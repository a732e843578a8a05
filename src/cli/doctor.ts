/**
 * `phasegate doctor`: one line per check — Redis, the warehouse's prerequisites, every table
 * phasegate writes against the registry — ✓, ! (a warning) or ✗ with the fix; exit 1 on any ✗.
 * A worker runs the same checks before it starts its table gates (src/doctor/run-doctor.ts).
 */
import type { Command } from 'commander';
import { configFrom, type GlobalFlags, lazyAction, withExamples } from './common.ts';

async function doctor(flags: { json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  const [{ defaultRegistry }, { createStore }, { openForDoctor }, { runDoctor }, { exitCodeOf, formatChecks }] = await Promise.all([
    import('../runtime.ts'),
    import('../storage/create-store.ts'),
    import('../doctor/open.ts'),
    import('../doctor/run-doctor.ts'),
    import('../doctor/check.ts'),
  ]);
  const store = createStore(config);
  const opened = await openForDoctor(config, store);
  let checks: Awaited<ReturnType<typeof runDoctor>>;
  try {
    checks = await runDoctor({
      config,
      registry: defaultRegistry(),
      warehouse: opened.warehouse,
      store,
      redisUrl: config.redisUrl,
      redisCluster: config.redisCluster && { nodes: config.redisCluster, prefix: config.prefix },
    });
  } finally {
    await opened.warehouse?.close();
  }
  checks = [...opened.checks, ...checks];
  process.stdout.write(flags.json ? `${JSON.stringify(checks, null, 2)}\n` : `${formatChecks(checks)}\n`);
  process.exitCode = exitCodeOf(checks);
}

export function registerDoctor(program: Command): void {
  const cmd = program
    .command('doctor')
    .description('check Redis, the warehouse (credentials, locations, permissions) and every table against the registry; exit 1 on a failure')
    .option('--json', 'print the checks as JSON')
    .action(lazyAction(async () => doctor));
  withExamples(cmd, [
    ['phasegate doctor', 'the first step before a worker runs against BigQuery'],
    ['PHASEGATE_WAREHOUSE=bigquery PHASEGATE_STORE=gcs PHASEGATE_BQ_PROJECT=my-project PHASEGATE_GCS_BUCKET=my-bucket phasegate doctor', 'a BigQuery project'],
  ]);
}
