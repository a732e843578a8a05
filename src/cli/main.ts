/** The `phasegate` command. */
import { Command } from 'commander';
import { registerBackfill } from './backfill.ts';
import { addGlobalFlags } from './common.ts';
import { registerConflicts } from './conflicts.ts';
import { registerDashboard } from './dashboard.ts';
import { registerDemo } from './demo.ts';
import { registerFixtures } from './fixtures.ts';
import { registerRetry } from './retry.ts';
import { registerSql } from './sql.ts';
import { registerStatus } from './status.ts';
import { registerWorker } from './worker.ts';

export function buildProgram(): Command {
  const program = addGlobalFlags(new Command('phasegate'))
    .description('BullMQ pipeline into BigQuery that backfills years of dates without tripping per-table write limits')
    .showHelpAfterError()
    .exitOverride((err) => {
      // Usage errors (unknown option, missing argument) are bad input: exit 2, like ours.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  registerBackfill(program);
  registerWorker(program);
  registerStatus(program);
  registerFixtures(program);
  registerDemo(program);
  registerDashboard(program);
  registerSql(program);
  registerConflicts(program);
  registerRetry(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
