/**
 * The coverage the dashboard draws: read from the warehouse when this process holds it (the
 * demo's dashboard) or through the read relay of the worker process that holds the embedded
 * DuckDB file (the dashboard must never take it), else the last audit's snapshot in Redis.
 */
import { coverageReport, type DateCoverage } from '../../coverage/report.ts';
import { scanCoverage } from '../../coverage/scan.ts';
import { type CoverageRunInfo, readSnapshot } from '../../coverage/snapshot.ts';
import { coverageTargets } from '../../coverage/sources.ts';
import { WarehouseHeldError } from '../../errors/warehouse-held-error.ts';
import type { Runtime } from '../../runtime.ts';
import { advertisedRelay } from '../../warehouse/read-relay/client.ts';

export interface CoverageView {
  from: 'warehouse' | 'last audit' | 'nothing yet';
  run?: CoverageRunInfo | undefined;
  sources: string[];
  dates: DateCoverage[];
}

/** Days the page shows at most: a season and a half of game dates. */
export const MAX_DAYS = 550;

export async function coverageView(rt: Runtime, range: { start: string; end: string } | undefined): Promise<CoverageView> {
  const targets = coverageTargets(rt.registry);
  const sources = targets.names;
  const snap = await readSnapshot(rt, range);
  // Never the file itself: only what this process holds, or what the holder answers.
  const warehouse = rt.openedWarehouse() ?? (rt.config.warehouse === 'duckdb' ? await advertisedRelay(rt) : undefined);
  const window = range ?? (snap.dates.length > 0 ? { start: snap.dates[0]?.date ?? '', end: snap.dates.at(-1)?.date ?? '' } : undefined);
  if (warehouse && window) {
    const dates = await rt.source.gameDates(window.start, window.end);
    try {
      return { from: 'warehouse', run: snap.run, sources, dates: coverageReport(await scanCoverage(rt, warehouse, dates.slice(-MAX_DAYS), targets)) };
    } catch (err) {
      // The holder stopped answering (it is shutting down, or too busy): the snapshot, below.
      if (!(err instanceof WarehouseHeldError)) throw err;
    }
  }
  if (!snap.run) return { from: 'nothing yet', sources, dates: [] };
  return { from: 'last audit', run: snap.run, sources, dates: snap.dates.slice(-MAX_DAYS) };
}
