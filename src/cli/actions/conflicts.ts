/**
 * `phasegate conflicts`: the conflict log's two monitoring queries — conflicts per day and
 * processor, and those still unresolved — and what waits on the streaming buffer now.
 */
import type { Command } from 'commander';
import { type ConflictReport, conflictReport, parseSince } from '../../queues/conflicts/queries.ts';
import { conflictStatus, safetyLine, type TableSafety } from '../../queues/conflicts/status.ts';
import { createStore } from '../../storage/create-store.ts';
import { openWarehouse } from '../../warehouse/index.ts';
import { relayOnLock } from '../../warehouse/read-relay/client.ts';
import { configFrom, type GlobalFlags, withRuntime } from '../common.ts';

/** One line per table, the names padded to the longest. */
function safetyLines(tables: readonly TableSafety[]): string[] {
  const width = Math.max(0, ...tables.map((t) => t.table.length));
  return tables.map((t) => `  ${t.table.padEnd(width)}  ${safetyLine(t)}`);
}

function print(report: ConflictReport, tables: TableSafety[]): void {
  const w = (s: string) => process.stdout.write(`${s}\n`);
  w('now:');
  for (const line of safetyLines(tables)) w(line);
  if (!report.logged) {
    w('no conflict has been logged yet (nba_orchestration.streaming_conflict_log does not exist)');
    return;
  }
  w(`daily streaming conflict summary since ${report.dailySince}:`);
  if (report.daily.length === 0) w('  (none)');
  else console.table(report.daily);
  w(`unresolved conflicts requiring attention since ${report.unresolvedSince}:`);
  if (report.unresolved.length === 0) w('  (none)');
  else console.table(report.unresolved);
}

export async function runConflicts(flags: { since?: string; json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  const since = flags.since !== undefined ? parseSince(flags.since) : undefined;
  await withRuntime(config, async (rt) => {
    const tables = await conflictStatus(rt);
    // Reads go straight to the warehouse, not through the rules layer's quotas. A worker in
    // another process may hold the DuckDB file: then they go through its read relay, and when
    // it does not answer, the Redis side is still shown.
    let report: ConflictReport;
    try {
      const warehouse = await openWarehouse({ ...config, bigqueryRules: false }, createStore(config)).catch((err: unknown) => relayOnLock(err, rt));
      try {
        report = await conflictReport(warehouse, since ? { since } : {});
      } finally {
        await warehouse.close();
      }
    } catch (err) {
      const reason = `the conflict log cannot be read now: ${(err as Error).message.split('\n')[0]}`;
      if (flags.json) process.stdout.write(`${JSON.stringify({ tables, logError: reason }, null, 2)}\n`);
      else {
        for (const line of safetyLines(tables)) process.stdout.write(`${line}\n`);
        process.stderr.write(`phasegate: ${reason}\n`);
      }
      process.exitCode = 1;
      return;
    }
    if (flags.json) process.stdout.write(`${JSON.stringify({ tables, ...report }, null, 2)}\n`);
    else print(report, tables);
  });
}
