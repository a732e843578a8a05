/**
 * Per target table: how close it is to each of BigQuery's per-table limits right now, and
 * what the breaker and the conflict log say.
 */
import { scaledMs, tableLimits } from '../../config/load-config.ts';
import { type TransformDef, tableId } from '../../processors/types.ts';
import { tableQuota } from '../../queues/commit/table-quota.ts';
import { type BreakerView, readBreaker } from '../../queues/conflicts/breaker.ts';
import { type ConflictSummary, readConflictSummaries } from '../../queues/conflicts/log.ts';
import type { Runtime } from '../../runtime.ts';
import { warehouseCaps } from '../../warehouse/index.ts';
import { type CommitPoint, operationsByTable, readCommits } from './commit-history.ts';
import { rulesEvidence } from './rules-evidence.ts';
import { readTableWaits, type TableWait } from './table-waits.ts';

export interface TableStats {
  table: string;
  writer: string;
  /** Commit jobs running now, and the queue's global concurrency (within BigQuery's running mutating DML per table, limits.ts). */
  inFlight: number;
  inFlightCap: number;
  /** Commit jobs queued or delayed (busy backoff, gather window). */
  commitsWaiting: number;
  commitsFailed: number;
  /** Staged slices waiting for the table's next group commit. */
  pendingSlices: number;
  /** Group commits that landed in the last ops window, and the cap per window. */
  opsInWindow: number;
  opsCap: number;
  /** The window in BigQuery-clock seconds and in real milliseconds (they differ under a time scale). */
  windowSeconds: number;
  windowMs: number;
  /** DML statements (group commits) counted today (UTC): shown, never capped — DML is not a table modification. */
  opsToday: number;
  /** Table modifications (load, copy, query-append jobs) counted today (UTC), against the daily budget. */
  modificationsToday: number;
  dailyBudget: number;
  /** Load jobs the rules layer counted, when this process holds it (BigQuery's daily table modifications: limits.ts). */
  loadJobs?: number | undefined;
  breaker?: BreakerView | undefined;
  conflicts?: ConflictSummary | undefined;
  /** Why its commits or staged slices wait, and until when (see table-waits.ts). */
  waits: TableWait[];
}

export async function tableStats(rt: Runtime, now = Date.now()): Promise<{ tables: TableStats[]; conflictsKnown: boolean; breakerKnown: boolean }> {
  const defs: TransformDef[] = rt.registry.transforms();
  const limits = new Map(defs.map((d) => [tableId(d.table), tableLimits(rt.config, tableId(d.table))]));
  // One read covers the widest window; each table then counts within its own.
  const widest = Math.max(1, ...[...limits.values()].map((l) => scaledMs(rt.config, l.opsWindowSeconds)));
  const [recent, conflicts] = await Promise.all([
    readCommits(rt, { sinceMs: now - widest }),
    readConflictSummaries(rt, now - 86_400_000).catch(() => undefined),
  ]);
  let breakerKnown = false;
  const tables = await Promise.all(
    defs.map(async (def): Promise<TableStats> => {
      const table = tableId(def.table);
      const l = limits.get(table) ?? rt.config.table;
      const windowMs = scaledMs(rt.config, l.opsWindowSeconds);
      const opsInWindow = operationsByTable(recent.filter((p: CommitPoint) => p.table === table && p.at >= now - windowMs)).get(table) ?? 0;
      const queue = rt.queues.commit(table);
      const [counts, globalConcurrency, pendingSlices, quota, breaker] = await Promise.all([
        queue.getJobCounts('active', 'waiting', 'prioritized', 'delayed', 'failed'),
        queue.getGlobalConcurrency(),
        rt.gate.pendingCount(table),
        tableQuota(rt, table),
        readBreaker(rt, table).catch(() => undefined),
      ]);
      if (breaker) breakerKnown = true;
      const { waits } = await readTableWaits(rt, table, { breaker, writer: def.name, now });
      return {
        table,
        writer: def.name,
        inFlight: counts.active ?? 0,
        inFlightCap: globalConcurrency ?? Math.min(warehouseCaps(rt.config).runningDmlPerTable, l.concurrency),
        commitsWaiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
        commitsFailed: counts.failed ?? 0,
        pendingSlices,
        opsInWindow,
        opsCap: l.opsMax,
        windowSeconds: l.opsWindowSeconds,
        windowMs,
        opsToday: quota.dmlToday,
        modificationsToday: quota.modificationsToday,
        dailyBudget: quota.dailyBudget,
        loadJobs: rulesEvidence(rt, table)?.loadJobs,
        breaker,
        conflicts: conflicts?.find((c) => c.table === table),
        waits,
      };
    }),
  );
  return { tables, conflictsKnown: conflicts !== undefined, breakerKnown };
}
