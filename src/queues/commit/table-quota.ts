/**
 * A table's quota numbers as BigQuery counts them, read in one place for `status`, the
 * dashboard's tables page and `backfill --dry-run`, so all three say the same thing: today's
 * DML statements (shown, never capped: DML is not a table modification), today's table
 * modifications against the daily budget, and the caps the gate keeps against BigQuery's
 * limits (src/limits/bigquery.ts).
 */
import { tableLimits } from '../../config/load-config.ts';
import { BIGQUERY_LIMITS, formatLimit } from '../../limits/bigquery.ts';
import type { PipelineContext } from '../context.ts';

export interface TableQuota {
  table: string;
  /** DML statements (group commits) counted today, UTC. BigQuery has no daily cap on them. */
  dmlToday: number;
  /** Table modifications (load, copy, query-append jobs) counted today, UTC: what the budget limits. */
  modificationsToday: number;
  /** The table's daily budget of modifications (never above BigQuery's). */
  dailyBudget: number;
  /** The gate's caps: commits at once, commits per window. */
  gate: { concurrency: number; opsMax: number; opsWindowSeconds: number; commitMaxSlices: number };
  /** BigQuery's own per-table limits, for comparison. */
  bigquery: {
    runningDml: number;
    queuedDml: number;
    dmlPerWindow: number;
    dmlWindowSeconds: number;
    tableUpdatesPerWindow: number;
    partitionsPerStatement: number;
    modificationsPerDay: number;
  };
}

/** BigQuery's per-table limits, as `TableQuota.bigquery` shows them. */
export function bigQueryQuota(): TableQuota['bigquery'] {
  const L = BIGQUERY_LIMITS;
  return {
    runningDml: L.runningMutatingDmlPerTable,
    queuedDml: L.queuedMutatingDmlPerTable,
    dmlPerWindow: L.dmlStatementsPerTableWindow.statements,
    dmlWindowSeconds: L.dmlStatementsPerTableWindow.windowSeconds,
    tableUpdatesPerWindow: L.tableMetadataUpdatesPerWindow.operations,
    partitionsPerStatement: L.partitionsModifiedPerJob,
    modificationsPerDay: L.tableModificationsPerDay,
  };
}

export async function tableQuota(ctx: Pick<PipelineContext, 'config' | 'gate'>, table: string): Promise<TableQuota> {
  const limits = tableLimits(ctx.config, table);
  const [dmlToday, modificationsToday] = await Promise.all([ctx.gate.tableOpsToday(table), ctx.gate.tableModificationsToday(table)]);
  return {
    table,
    dmlToday,
    modificationsToday,
    dailyBudget: Math.min(limits.dailyBudget, BIGQUERY_LIMITS.tableModificationsPerDay),
    gate: {
      concurrency: Math.min(limits.concurrency, BIGQUERY_LIMITS.runningMutatingDmlPerTable),
      opsMax: limits.opsMax,
      opsWindowSeconds: limits.opsWindowSeconds,
      commitMaxSlices: limits.commitMaxSlices,
    },
    bigquery: bigQueryQuota(),
  };
}

/** `DML today N (no daily cap) · table modifications today M/budget`: the same words everywhere. */
export function quotaLine(q: Pick<TableQuota, 'dmlToday' | 'modificationsToday' | 'dailyBudget'>): string {
  return `DML today ${formatLimit(q.dmlToday)} (no daily cap) · table modifications today ${formatLimit(q.modificationsToday)}/${formatLimit(q.dailyBudget)}`;
}

/** The gate's caps next to BigQuery's own, in one line. */
export function capsLine(q: Pick<TableQuota, 'gate' | 'bigquery'>): string {
  const b = q.bigquery;
  return (
    `≤ ${q.gate.concurrency} at once (BigQuery runs ${b.runningDml}, queues ${b.queuedDml}), ≤ ${q.gate.opsMax} per ${q.gate.opsWindowSeconds} s ` +
    `(BigQuery: ${b.dmlPerWindow} DML statements, ${b.tableUpdatesPerWindow} table updates per ${b.dmlWindowSeconds} s), ` +
    `≤ ${formatLimit(q.gate.commitMaxSlices)} slices per statement (BigQuery: ${formatLimit(b.partitionsPerStatement)} partitions)`
  );
}
