/**
 * A table's quota numbers, read in one place for `status`, the dashboard's tables page and
 * `backfill --dry-run`, so all three say the same thing: today's DML statements (shown, never
 * capped: DML is not a table modification), today's table modifications against the daily
 * budget, and the caps the gate keeps against the warehouse's own (its declared caps: BigQuery's
 * on both backends, src/limits/bigquery.ts).
 */
import { tableLimits } from '../../config/load-config.ts';
import { formatLimit } from '../../limits/bigquery.ts';
import type { WarehouseCaps } from '../../warehouse/backend.ts';
import { warehouseCaps } from '../../warehouse/index.ts';
import type { PipelineContext } from '../context.ts';

export interface TableQuota {
  table: string;
  /** DML statements (group commits) counted today, UTC. BigQuery has no daily cap on them. */
  dmlToday: number;
  /** Table modifications (load, copy, query-append jobs) counted today, UTC: what the budget limits. */
  modificationsToday: number;
  /** The table's daily budget of modifications (never above the warehouse's). */
  dailyBudget: number;
  /** The gate's caps: commits at once, commits per window. */
  gate: { concurrency: number; opsMax: number; opsWindowSeconds: number; commitMaxSlices: number };
  /** The warehouse's own per-table caps, for comparison. */
  caps: WarehouseCaps;
}

export async function tableQuota(ctx: Pick<PipelineContext, 'config' | 'gate'>, table: string): Promise<TableQuota> {
  const limits = tableLimits(ctx.config, table);
  const caps = warehouseCaps(ctx.config);
  const [dmlToday, modificationsToday] = await Promise.all([ctx.gate.tableOpsToday(table), ctx.gate.tableModificationsToday(table)]);
  return {
    table,
    dmlToday,
    modificationsToday,
    dailyBudget: Math.min(limits.dailyBudget, caps.dailyModifications ?? Number.POSITIVE_INFINITY),
    gate: {
      concurrency: Math.min(limits.concurrency, caps.runningDmlPerTable),
      opsMax: limits.opsMax,
      opsWindowSeconds: limits.opsWindowSeconds,
      commitMaxSlices: limits.commitMaxSlices,
    },
    caps,
  };
}

/** `DML today N (no daily cap) · table modifications today M/budget`: the same words everywhere. */
export function quotaLine(q: Pick<TableQuota, 'dmlToday' | 'modificationsToday' | 'dailyBudget'>): string {
  return `DML today ${formatLimit(q.dmlToday)} (no daily cap) · table modifications today ${formatLimit(q.modificationsToday)}/${formatLimit(q.dailyBudget)}`;
}
