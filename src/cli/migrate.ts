/**
 * `phasegate migrate`: creates missing tables and adds the registry's missing columns (as
 * NULLABLE) to every table phasegate writes; reports what it cannot fix. Exit 1 if anything is left.
 */
import type { Command } from 'commander';
import { configFrom, type GlobalFlags, lazyAction, withExamples } from './common.ts';

async function migrateCommand(flags: { json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  const [{ defaultRegistry }, { createStore }, { openWarehouse, adminOf }, { migrate }, { exitCodeOf, formatChecks }] = await Promise.all([
    import('../runtime.ts'),
    import('../storage/create-store.ts'),
    import('../warehouse/index.ts'),
    import('../doctor/migrate.ts'),
    import('../doctor/check.ts'),
  ]);
  // DDL straight to the warehouse: no rules layer rate window for a person's one-off run.
  const store = createStore(config);
  const warehouse = await openWarehouse({ ...config, bigqueryRules: false }, store);
  let checks: Awaited<ReturnType<typeof migrate>>;
  try {
    checks = await migrate((await adminOf(config, warehouse, store)).admin, defaultRegistry());
  } finally {
    await warehouse.close();
  }
  process.stdout.write(flags.json ? `${JSON.stringify(checks, null, 2)}\n` : `${formatChecks(checks)}\n`);
  process.exitCode = exitCodeOf(checks);
}

export function registerMigrate(program: Command): void {
  const cmd = program
    .command('migrate')
    .description("add the registry's missing columns (NULLABLE) and create missing tables, in BigQuery or the DuckDB file")
    .option('--json', 'print what was done as JSON')
    .action(lazyAction(async () => migrateCommand));
  withExamples(cmd, [['phasegate migrate', 'after an upgrade that added columns (phasegate doctor says which)']]);
}
