/** `phasegate sql`: a person's read-only query on the configured warehouse, in its own dialect. */
import type { Command } from 'commander';
import { configFrom, type GlobalFlags, lazyAction } from './common.ts';

async function sql(query: string, flags: { json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  const [{ createStore }, { openQueryWarehouse }] = await Promise.all([import('../storage/index.ts'), import('../warehouse/index.ts')]);
  // Not through the rules layer's quotas. DuckDB opens read-only with external access off, and
  // a path with no database is bad input (exit 2) rather than an empty file to create. While a
  // worker holds the file, the query goes through that worker's read relay (same fence, bounded).
  const warehouse = await openQueryWarehouse(config, createStore(config));
  try {
    const rows = await warehouse.query(query);
    if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) process.stdout.write('(no rows)\n');
    else console.table(rows);
  } finally {
    await warehouse.close();
  }
}

export function registerSql(program: Command): void {
  program
    .command('sql <query>')
    .description('read-only query on the configured warehouse (SELECT/WITH), for people inspecting tables')
    .option('--json', 'print rows as JSON')
    .action(lazyAction(async () => sql));
}
