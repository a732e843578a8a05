/**
 * The demo: on the embedded default (DuckDB behind the BigQuery rules, local store, fixture
 * source), scrape → stage → commit the real 2023-24 regular season for both raw tables and
 * report what the table gates did.
 */
import type { Config } from './config/index.ts';
import { backfillProgress, startBackfill } from './queues/backfill.ts';
import { PHASES } from './queues/names.ts';
import { tableId } from './processors/types.ts';
import type { Runtime } from './runtime.ts';
import { waitForBackfill } from './cli/progress.ts';
import { BigQueryRulesWarehouse } from './warehouse/rules/bigquery-rules-warehouse.ts';

export const DEMO_SEASON = { start: '2023-10-24', end: '2024-04-14' } as const;
export const DEMO_PROCESSORS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'] as const;

export interface DemoTableReport {
  table: string;
  rows: number;
  dates: number;
  games: number;
  tableOperations: number;
  peakRunningDml: number;
  peakQueuedDml: number;
}

export interface DemoReport {
  backfillId: string;
  dates: number;
  datesCommitted: Record<string, number>;
  failed: number;
  tables: DemoTableReport[];
  elapsedSeconds: number;
  timeScale: number;
}

/** Demo defaults: a time scale that makes the BigQuery clock run fast enough for a laptop. */
export function demoConfigFlags(): Partial<Record<keyof NodeJS.ProcessEnv, string>> {
  return { PHASEGATE_TIME_SCALE: process.env.PHASEGATE_TIME_SCALE ?? '10' };
}

export async function runDemo(rt: Runtime, opts: { bars: boolean; concurrency?: number; signal?: AbortSignal }): Promise<DemoReport> {
  const started = Date.now();
  const dates = await rt.source.gameDates(DEMO_SEASON.start, DEMO_SEASON.end);
  await rt.startWorkers({ phases: PHASES, commit: true, concurrency: opts.concurrency ?? 4 });
  const warehouse = await rt.warehouse();
  const record = await startBackfill(rt, { processors: DEMO_PROCESSORS.map((n) => rt.registry.get(n)), dates });
  const outcome = await waitForBackfill(rt, record, { bars: opts.bars, signal: opts.signal });
  const progress = outcome.progress ?? (await backfillProgress(rt, record));
  const rules = warehouse instanceof BigQueryRulesWarehouse ? warehouse.record() : undefined;
  const tables: DemoTableReport[] = [];
  for (const name of ['nbac_player_boxscore', 'nbac_team_boxscore']) {
    const def = rt.registry.get(name);
    if (def.kind !== 'transform') continue;
    const id = tableId(def.table);
    const [count] = await warehouse.query(
      `SELECT count(*) AS n, count(DISTINCT game_date) AS dates, count(DISTINCT game_id) AS games FROM ${rt.config.bigquery.datasetPrefix}${def.table.dataset}.${def.table.table} WHERE game_date BETWEEN $start AND $end`,
      { start: DEMO_SEASON.start, end: DEMO_SEASON.end },
    );
    const r = rules?.tables[id];
    tables.push({
      table: id,
      rows: Number(count?.n ?? 0),
      dates: Number(count?.dates ?? 0),
      games: Number(count?.games ?? 0),
      tableOperations: r?.tableOps ?? 0,
      peakRunningDml: r?.peakRunningDml ?? 0,
      peakQueuedDml: r?.peakQueuedDml ?? 0,
    });
  }
  const datesCommitted = Object.fromEntries(Object.entries(progress.perProcessor).map(([p, c]) => [p, c.committed]));
  const failed = Object.values(progress.perProcessor).reduce((n, c) => n + c.failed + c.deferred, 0);
  return { backfillId: record.id, dates: dates.length, datesCommitted, failed, tables, elapsedSeconds: (Date.now() - started) / 1000, timeScale: rt.config.timeScale };
}

export function formatDemo(report: DemoReport, config: Config): string {
  const lines = [
    '',
    `phasegate demo — real 2023-24 regular season, embedded DuckDB with BigQuery rules (time scale ×${report.timeScale})`,
    `dates: ${report.dates}; committed per processor: ${Object.entries(report.datesCommitted).map(([p, n]) => `${p} ${n}`).join(', ')}; failed: ${report.failed}`,
  ];
  for (const t of report.tables) {
    lines.push(
      `  ${t.table}: ${t.rows} rows, ${t.games} games on ${t.dates} dates; ${t.tableOperations} table operations (${report.dates} dates → ${(t.tableOperations / Math.max(1, report.dates)).toFixed(3)} per date); peak DML running ${t.peakRunningDml} (limit 2), queued ${t.peakQueuedDml} (limit 20)`,
    );
  }
  lines.push(`elapsed: ${report.elapsedSeconds.toFixed(1)} s · warehouse ${config.duckdbPath}`);
  lines.push(`inspect: phasegate sql "SELECT team_abbr, count(*) FROM nba_raw.nbac_player_boxscores GROUP BY 1 ORDER BY 2 DESC LIMIT 5"`);
  return lines.join('\n');
}
