/**
 * The coverage the dashboard draws: read from the warehouse when this process holds it (the
 * demo's dashboard), else the last audit's snapshot in Redis (with the embedded DuckDB the
 * worker process holds the file, and the dashboard must never take it).
 */
import { coverageReport, type DateCoverage } from '../../coverage/report.ts';
import { scanCoverage } from '../../coverage/scan.ts';
import { type CoverageRunInfo, readSnapshot } from '../../coverage/snapshot.ts';
import { coverageTargets } from '../../coverage/sources.ts';
import type { Runtime } from '../../runtime.ts';

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
  const sources = targets.sources.map((s) => s.source);
  const snap = await readSnapshot(rt, range);
  const warehouse = rt.openedWarehouse();
  const window = range ?? (snap.dates.length > 0 ? { start: snap.dates[0]?.date ?? '', end: snap.dates.at(-1)?.date ?? '' } : undefined);
  if (warehouse && window) {
    const dates = await rt.source.gameDates(window.start, window.end);
    return { from: 'warehouse', run: snap.run, sources, dates: coverageReport(await scanCoverage(rt, warehouse, dates.slice(-MAX_DAYS), targets)) };
  }
  if (!snap.run) return { from: 'nothing yet', sources, dates: [] };
  return { from: 'last audit', run: snap.run, sources, dates: snap.dates.slice(-MAX_DAYS) };
}
