/**
 * The coverage the dashboard draws: read from the warehouse when this process holds it (the
 * demo's dashboard) or through the read relay of the worker process that holds the embedded
 * DuckDB file (the dashboard must never take it), else the last audit's snapshot in Redis.
 * When the warehouse cannot be read the view says why, so the page never calls nothing "gold".
 */
import { coverageReport, type DateCoverage } from '../../coverage/report.ts';
import { scanCoverage } from '../../coverage/scan.ts';
import { type CoverageRunInfo, readSnapshot } from '../../coverage/snapshot.ts';
import { type CoverageTargets, coverageTargets } from '../../coverage/sources.ts';
import { addDays, todayIn } from '../../coverage/window.ts';
import { WarehouseHeldError } from '../../errors/warehouse-held-error.ts';
import type { Runtime } from '../../runtime.ts';
import { warehouseDeclaration } from '../../warehouse/index.ts';
import { advertisedRelay } from '../../warehouse/read-relay/client.ts';
import type { Warehouse } from '../../warehouse/types.ts';

export interface CoverageView {
  from: 'warehouse' | 'last audit' | 'nothing yet';
  run?: CoverageRunInfo | undefined;
  sources: string[];
  dates: DateCoverage[];
  /** The dates shown: the request's, else the latest that hold data; undefined when there are none to show. */
  range?: { start: string; end: string } | undefined;
  /** Why the warehouse could not be read now (one line, no secrets); undefined when it was read. */
  unreadable?: string | undefined;
}

/** Days the page shows at most: a season and a half of game dates. */
export const MAX_DAYS = 550;

/** Days the page shows when none are asked for: a month, ending at the latest date that holds data. */
export const DEFAULT_DAYS = 31;

/** Earliest date a schedule is asked for when looking for the latest date with data. */
const SCHEDULE_FROM = '2000-01-01';

/**
 * The latest game date any coverage table holds (primary and fallback raw tables, analytics):
 * one presence query per table over the schedule's dates up to yesterday.
 */
async function latestDateWithData(rt: Runtime, warehouse: Warehouse, targets: CoverageTargets): Promise<string | undefined> {
  const until = addDays(todayIn(new Date()), -1);
  const dates = await rt.source.gameDates(SCHEDULE_FROM, until);
  if (dates.length === 0) return undefined;
  let latest: string | undefined;
  const tables = [...targets.sources.map((s) => s.table), ...(targets.analytics ? [targets.analytics.table] : [])];
  for (const table of tables) {
    const present = await warehouse.presentSlices(table, dates);
    for (const d of present) if (latest === undefined || d > latest) latest = d;
  }
  return latest;
}

/** The reason a read failed, in one line: a relay's or DuckDB's message, never a URL with credentials. */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split('\n')[0] ?? '';
  return line.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s]*/gi, '<url>').slice(0, 300);
}

/** The warehouse this process may read: the one it holds, or the DuckDB holder's relay, or why neither. */
async function readableWarehouse(rt: Runtime): Promise<Warehouse | string> {
  const opened = rt.openedWarehouse();
  if (opened) return opened;
  // A warehouse that is a service (BigQuery) is not queried from the dashboard: its coverage
  // comes from the audit's snapshot. Only a file one process holds is read, through that process.
  const declared = warehouseDeclaration(rt.config);
  if (!declared.heldFile) return `the dashboard does not query ${declared.label} itself; the audit (run by a worker) records what it sees`;
  const relay = await advertisedRelay(rt);
  return relay ?? 'no worker process holds the embedded DuckDB file to read it through (the dashboard never opens the file itself): start `phasegate worker`';
}

export async function coverageView(rt: Runtime, range: { start: string; end: string } | undefined): Promise<CoverageView> {
  const targets = coverageTargets(rt.registry);
  const sources = targets.names;
  // Never the file itself: only what this process holds, or what the holder answers.
  const warehouse = await readableWarehouse(rt);
  let unreadable = typeof warehouse === 'string' ? warehouse : undefined;
  if (typeof warehouse !== 'string') {
    try {
      const latest = range ? undefined : await latestDateWithData(rt, warehouse, targets);
      const window = range ?? (latest ? { start: addDays(latest, -(DEFAULT_DAYS - 1)), end: latest } : undefined);
      if (!window) return { from: 'warehouse', sources, dates: [] };
      const dates = await rt.source.gameDates(window.start, window.end);
      const report = coverageReport(await scanCoverage(rt, warehouse, dates.slice(-MAX_DAYS), targets));
      return { from: 'warehouse', sources, dates: report, range: window };
    } catch (err) {
      // The holder stopped answering (it is shutting down, or too busy), or the read failed:
      // the snapshot, below, with the reason on the page.
      unreadable =
        err instanceof WarehouseHeldError ? `the worker holding the warehouse did not answer: ${reason(err)}` : `reading the warehouse failed: ${reason(err)}`;
    }
  }
  const snap = await readSnapshot(rt, range);
  if (!snap.run) return { from: 'nothing yet', sources, dates: [], range, unreadable };
  const dates = snap.dates.slice(-MAX_DAYS);
  const shown = range ?? (dates.length > 0 ? { start: dates[0]?.date ?? '', end: dates.at(-1)?.date ?? '' } : undefined);
  return { from: 'last audit', run: snap.run, sources, dates, range: shown, unreadable };
}
