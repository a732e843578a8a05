/**
 * Seed 002's two "Monitoring Dashboard" queries over `nba_orchestration.streaming_conflict_log`,
 * through the warehouse seam (`Warehouse.conflictSummary` / `unresolvedConflicts`): each
 * warehouse builds them in its own dialect, in its own SQL module, with the time bound as a
 * parameter. This module only chooses the windows and says whether anything was logged yet.
 *
 * One change from the seed, because the log has a row per try plus a final row per conflict
 * (the seed's own logger wrote rows the same way): both queries count a conflict once — the
 * summary groups rows by `conflict_id` first, and "unresolved" shows the latest row of each
 * conflict that has no resolved row. Counting rows would call a conflict resolved on its
 * third try "4 conflicts, 3 unresolved".
 */
import { InputError } from '../../errors/input-error.ts';
import { WarehouseError } from '../../errors/warehouse-error.ts';
import type { Row } from '../../processors/types.ts';
import { streamingConflictLog } from '../../tables/streaming-conflict-log.ts';
import type { Warehouse } from '../../warehouse/types.ts';

const RELATIVE = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i;
const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/** `7d`, `24h`, `90m`, `30s`, `2w`, or an ISO date/time → the instant it names. */
export function parseSince(text: string, now = new Date()): Date {
  const rel = RELATIVE.exec(text.trim());
  if (rel) return new Date(now.getTime() - Number(rel[1]) * (UNIT_MS[(rel[2] as string).toLowerCase()] as number));
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const d = new Date(text.trim());
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new InputError(`--since: "${text}" is not a duration (7d, 24h, 90m) or an ISO date/time`);
}

export interface ConflictReport {
  /** False when no conflict was ever logged (the table does not exist yet). */
  logged: boolean;
  dailySince: string;
  unresolvedSince: string;
  /** Seed 002's daily summary. */
  daily: Row[];
  /** Seed 002's unresolved conflicts requiring attention. */
  unresolved: Row[];
}

/**
 * Both monitoring queries. Defaults are the seed's windows: 7 days for the summary, 24 hours
 * for the unresolved list; `since` sets both.
 */
export async function conflictReport(warehouse: Warehouse, opts: { since?: Date; now?: Date } = {}): Promise<ConflictReport> {
  const now = opts.now ?? new Date();
  const dailySince = opts.since ?? new Date(now.getTime() - 7 * DAY_MS);
  const unresolvedSince = opts.since ?? new Date(now.getTime() - DAY_MS);
  const base = { dailySince: dailySince.toISOString(), unresolvedSince: unresolvedSince.toISOString() };
  try {
    await warehouse.tableMetadata(streamingConflictLog.table);
  } catch (err) {
    if (err instanceof WarehouseError && err.reason === 'notFound') return { logged: false, ...base, daily: [], unresolved: [] };
    throw err;
  }
  const daily = await warehouse.reports.conflictSummary(streamingConflictLog.table, dailySince);
  const unresolved = await warehouse.reports.unresolvedConflicts(streamingConflictLog.table, unresolvedSince);
  return { logged: true, ...base, daily, unresolved };
}
