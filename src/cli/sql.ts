/** `phasegate sql`: a person's read-only query on the configured warehouse, in its own dialect. */
import type { Command } from 'commander';
import type { Config } from '../config/load-config.ts';
import { InputError } from '../errors/input-error.ts';
import type { Row } from '../processors/types.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { configFrom, type GlobalFlags, lazyAction } from './common.ts';

/**
 * The query's rows. On a DuckDB file this process opened itself, with the read relay's bounds
 * (PHASEGATE_READ_RELAY_TIMEOUT_SECONDS, _MAX_ROWS, _MAX_BYTES): a runaway query is interrupted
 * at the deadline and lets go of the file, which a worker's commit gates need.
 */
async function rowsOf(warehouse: Warehouse, query: string, config: Config): Promise<Row[]> {
  const { warehouseDeclaration } = await import('../warehouse/index.ts');
  if (!warehouseDeclaration(config).heldFile) return warehouse.query(query);
  const [{ duckdbOf }, { overDeadline, tooManyBytes, tooManyRows }] = await Promise.all([
    import('../warehouse/duckdb/backend.ts'),
    import('../warehouse/read-relay/bounds.ts'),
  ]);
  const duck = duckdbOf(warehouse);
  if (!duck) return warehouse.query(query);
  const { timeoutSeconds, maxRows, maxBytes } = config.readRelay;
  const timeoutMs = timeoutSeconds * 1000;
  const deadline = Date.now() + timeoutMs;
  let result: Awaited<ReturnType<typeof duck.boundedQuery>>;
  try {
    result = await duck.boundedQuery(query, {}, { maxRows, deadline });
  } catch (err) {
    // Interrupted at the deadline, DuckDB says only "INTERRUPT Error: Interrupted!".
    if (!(err instanceof InputError) && Date.now() >= deadline) throw overDeadline(timeoutMs, true);
    throw err;
  }
  if (result.more) throw tooManyRows(maxRows);
  const bytes = Buffer.byteLength(JSON.stringify(result.rows));
  if (bytes > maxBytes) throw tooManyBytes(bytes, maxBytes);
  return result.rows;
}

async function sql(query: string, flags: { json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  const [{ createStore }, { openQueryWarehouse }] = await Promise.all([import('../storage/create-store.ts'), import('../warehouse/index.ts')]);
  // Not through the rules layer's quotas. DuckDB opens read-only with external access off, and
  // a path with no database is bad input (exit 2) rather than an empty file to create. While a
  // worker holds the file, the query goes through that worker's read relay (same fence, bounded).
  const warehouse = await openQueryWarehouse(config, createStore(config));
  try {
    const rows = await rowsOf(warehouse, query, config);
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
