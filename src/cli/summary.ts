/** Gathers what a backfill's summary reports, from the statuses and the table gates' counters. */
import { tableId } from '../processors/types.ts';
import type { BackfillRecord } from '../queues/backfill/backfill.ts';
import { cascadeProcessors, cascadeProgress } from '../queues/backfill/cascade.ts';
import { tableQuota } from '../queues/commit/table-quota.ts';
import type { PipelineContext } from '../queues/context.ts';
import { landed } from '../queues/status-store.ts';
import type { BackfillSummary, TableOutcome } from './render/summary.ts';

/** DML statements (group commits) per table before the run, to count what the run took. */
export async function tableOpsNow(ctx: PipelineContext, record: Pick<BackfillRecord, 'processors' | 'cascade'>): Promise<Map<string, number>> {
  const tables = cascadeProcessors(ctx, record).flatMap((def) => (def.kind === 'transform' ? [tableId(def.table)] : []));
  return dmlCounts(ctx, tables);
}

/** Today's DML statements per table, from the table gate's counter (`status` and the dashboard show it). */
export async function dmlCounts(ctx: Pick<PipelineContext, 'gate'>, tables: readonly string[]): Promise<Map<string, number>> {
  return new Map(await Promise.all(tables.map(async (t) => [t, await ctx.gate.tableOpsToday(t)] as const)));
}

/**
 * The table operations (DML statements, group commits) a run took: the gate's counter now less
 * before the run — the one count `status`, the dashboard, the backfill summary and the demo
 * all read. The counter is per UTC day: across midnight, today's count is what we know.
 */
export function operationsTaken(before: ReadonlyMap<string, number>, table: string, now: number): number {
  const delta = now - (before.get(table) ?? 0);
  return delta >= 0 ? delta : now;
}

export async function collectSummary(
  ctx: PipelineContext,
  record: BackfillRecord,
  opts: { opsBefore: Map<string, number>; elapsedMs: number; failedFile?: string | undefined },
): Promise<BackfillSummary> {
  const progress = await cascadeProgress(ctx, record);
  const processors: BackfillSummary['processors'] = [];
  const tables: TableOutcome[] = [];
  for (const def of cascadeProcessors(ctx, record)) {
    const c = progress.perProcessor[def.name];
    if (!c) continue;
    processors.push({
      phase: def.phase,
      processor: def.name,
      committed: c.committed,
      incomplete: c.incomplete,
      empty: c.empty,
      failed: c.failed + c.deferred + c.upstream_failed + c.cancelled,
      upstreamFailed: c.upstream_failed,
      cancelled: c.cancelled,
      waiting: c.waiting,
      unfinished: c.pending + c.running + c.staged,
    });
    if (def.kind !== 'transform') continue;
    const table = tableId(def.table);
    const cells = progress.graph.cells.get(def.name)?.values() ?? [];
    const rows = [...cells].reduce((n, c) => n + (landed(c.status) ? (c.status?.rows ?? 0) : 0), 0);
    const quota = await tableQuota(ctx, table);
    tables.push({
      table,
      rows,
      operations: operationsTaken(opts.opsBefore, table, quota.dmlToday),
      modificationsToday: quota.modificationsToday,
      dailyBudget: quota.dailyBudget,
    });
  }
  return {
    id: record.id,
    dates: record.dates.length,
    requested: record.processors.length,
    elapsedMs: opts.elapsedMs,
    processors,
    tables,
    failedFile: opts.failedFile,
  };
}

/**
 * The exit code of a waited-for backfill: 1 when any slice failed, was ruled out, cancelled or
 * is incomplete — an incomplete slice is not a success either, something needs a look; 130
 * (128 + SIGINT, as shells count) when Ctrl-C stopped the wait before the end; 0 otherwise.
 */
export function backfillExitCode(summary: Pick<BackfillSummary, 'processors'>, aborted: boolean): 0 | 1 | 130 {
  if (summary.processors.some((p) => p.failed + p.incomplete > 0)) return 1;
  return aborted ? 130 : 0;
}
