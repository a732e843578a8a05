import type { Command } from 'commander';
import { createStore } from '../storage/index.ts';
import { openWarehouse } from '../warehouse/index.ts';
import { configFrom, exitOnError, type GlobalFlags } from './common.ts';

export function registerSql(program: Command): void {
  program
    .command('sql <query>')
    .description('read-only query on the configured warehouse (SELECT/WITH), for people inspecting tables')
    .option('--json', 'print rows as JSON')
    .action(async (query: string, flags: { json?: boolean }, cmd: Command) => {
      try {
        const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
        // Reads go straight to the warehouse, not through the rules layer's quotas.
        const warehouse = await openWarehouse({ ...config, bigqueryRules: false }, createStore(config));
        try {
          const rows = await warehouse.query(query);
          if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          else if (rows.length === 0) process.stdout.write('(no rows)\n');
          else console.table(rows);
        } finally {
          await warehouse.close();
        }
      } catch (err) {
        exitOnError(err);
      }
    });
}
