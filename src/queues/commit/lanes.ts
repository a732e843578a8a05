/**
 * How many statements and commit jobs a table runs at once. Statements: the table's commit
 * concurrency, within the warehouse's running mutating DML per table (statement-slot.ts holds
 * them). Commit jobs (its queue's BullMQ global concurrency): one more, which readies its batch
 * while the statements run.
 */
import { type Config, tableLimits } from '../../config/load-config.ts';
import { warehouseCaps } from '../../warehouse/index.ts';

/** The table's configured statements at once, within the warehouse's running mutating DML per table. */
export function statementCap(config: Config, table: string): number {
  return Math.max(1, Math.min(warehouseCaps(config).runningDmlPerTable, tableLimits(config, table).concurrency));
}

/**
 * Commit jobs the table runs at once (its queue's BullMQ global concurrency): one more than the
 * statements it may run, so a job readies its batch while they run. `statements` is the cap in
 * force: 1 while the table's DML queue was found full (throttle.ts).
 */
export function commitLanes(statements: number): number {
  return statements + 1;
}
