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

/** A commit job ready to run this long with no worker taking it is unanswered: far longer than a live worker takes to wake. */
export const UNANSWERED_AFTER_MS = 2000;

/**
 * Starts every log table's pending commit now and waits (bounded) until none is pending.
 * Returns the log tables still holding pending rows when the time ran out (none: all landed).
 *
 * `unanswered` is told, once per table, of a commit job left ready to run for
 * `UNANSWERED_AFTER_MS` — waiting, none of its queue's jobs running, the queue neither paused
 * nor rate-limited — which a worker waiting for jobs takes within milliseconds. The close of a
 * runtime replaces its own gate worker then: one whose blocking connection was lost in a Redis
 * Cluster failover waits for ever, and a log gate takes a job so seldom that the fetch-loop
 * watch (22 s) may not have caught it before the close began.
 */
export async function flushLogTables(
  ctx: PipelineContext,
  timeoutMs = 15_000,
  opts: { unanswered?: (table: string) => Promise<void> } = {},
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const tables = ctx.registry.logTables().map((l) => tableId(l.table));
  const readySince = new Map<string, number>();
  const told = new Set<string>();
  for (;;) {
    const pending: string[] = [];
    for (const table of tables) {
      const n = await ctx.gate.pendingCount(table);
      if (n === 0) continue;
      pending.push(table);
      // fullAt 1: the job runs at once (a delayed one is promoted) instead of after its gather window.
      await ensureCommitJob(ctx, table, await ctx.gate.currentSeq(table), n, { fullAt: 1 });
      if (!opts.unanswered || told.has(table)) continue;
      if (!(await readyAndUntaken(ctx, table))) {
        readySince.delete(table);
        continue;
      }
      const since = readySince.get(table) ?? Date.now();
      readySince.set(table, since);
      if (Date.now() - since < UNANSWERED_AFTER_MS) continue;
      told.add(table);
      await opts.unanswered(table);
    }
    if (pending.length === 0 || Date.now() > deadline) return pending;
    await sleep(50);
  }
}

/** A job of the table's commit queue waits to run, none runs, and nothing holds the queue back. */
async function readyAndUntaken(ctx: PipelineContext, table: string): Promise<boolean> {
  const queue = ctx.queues.commit(table);
  const counts = await queue.getJobCounts('waiting', 'prioritized', 'active');
  if ((counts.waiting ?? 0) + (counts.prioritized ?? 0) === 0 || (counts.active ?? 0) > 0) return false;
  return !(await queue.isPaused()) && (await queue.getRateLimitTtl()) <= 0;
}
