/**
 * A process that ran table gates lands its log tables' pending rows before it exits. Their
 * commits wait a long gather window on purpose (nobody waits on a log row), so without this a
 * `backfill --workers` that ends would leave its last run-log rows staged until some later
 * worker picks them up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { tableId } from '../../processors/types.ts';
import { ensureCommitJob } from '../commit/staging.ts';
import type { PipelineContext } from '../context.ts';

/**
 * Starts every log table's pending commit now and waits (bounded) until none is pending.
 * Returns the log tables still holding pending rows when the time ran out (none: all landed).
 */
export async function flushLogTables(ctx: PipelineContext, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const tables = ctx.registry.logTables().map((l) => tableId(l.table));
  for (;;) {
    const pending: string[] = [];
    for (const table of tables) {
      const n = await ctx.gate.pendingCount(table);
      if (n === 0) continue;
      pending.push(table);
      // fullAt 1: the job runs at once (a delayed one is promoted) instead of after its gather window.
      await ensureCommitJob(ctx, table, await ctx.gate.currentSeq(table), n, { fullAt: 1 });
    }
    if (pending.length === 0 || Date.now() > deadline) return pending;
    await sleep(50);
  }
}
