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
  const out = new Map<string, number>();
  for (const def of cascadeProcessors(ctx, record)) {
    if (def.kind !== 'transform') continue;
    const table = tableId(def.table);
    out.set(table, await ctx.gate.tableOpsToday(table));
  }
  return out;
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
    // The gate's counter is per UTC day: across midnight, today's count is what we know.
    const delta = quota.dmlToday - (opts.opsBefore.get(table) ?? 0);
    tables.push({
      table,
      rows,
      operations: delta >= 0 ? delta : quota.dmlToday,
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
