/**
 * The demo: on the embedded default (DuckDB behind the BigQuery rules, local store, fixture
 * source), scrape → stage → commit the real 2023-24 regular season for both raw tables, let
 * completion events carry it through analytics, precompute and predictions (a cascade), and
 * report what the table gates did, per phase and per table, with a few predictions.
 */

import { waitForBackfill } from './cli/progress.ts';
import type { Config } from './config/index.ts';
import { QUALITY_ISSUES_COLUMN, tableId } from './processors/types.ts';
import { cascadeProcessors, type PhaseState, startCascadingBackfill, waitForCascade } from './queues/cascade.ts';
import { PHASES } from './queues/names.ts';
import type { Runtime } from './runtime.ts';
import { BigQueryRulesWarehouse } from './warehouse/rules/bigquery-rules-warehouse.ts';

export const DEMO_SEASON = { start: '2023-10-24', end: '2024-04-14' } as const;
export const DEMO_PROCESSORS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'] as const;

export interface DemoTableReport {
  table: string;
  rows: number;
  dates: number;
  games: number;
  /** Rows committed with a `warn` plausibility issue (their `quality_issues` is set). */
  warnings: number;
  tableOperations: number;
  peakRunningDml: number;
  peakQueuedDml: number;
}

export interface DemoPrediction {
  gameDate: string;
  player: string;
  team: string;
  predicted: number;
  /** What the player then scored (from player_game_summary). */
  actual: number;
  basis: string;
}

export interface DemoReport {
  backfillId: string;
  dates: number;
  datesCommitted: Record<string, number>;
  /** Per processor, dates that landed only some of their games, or none (never counted as committed). */
  datesIncomplete: Record<string, number>;
  /** Per processor, dates with nothing scheduled and nothing found. */
  datesEmpty: Record<string, number>;
  /** Per phase, slices (processor × date) in each state. */
  phases: Record<string, Record<PhaseState, number>>;
  failed: number;
  tables: DemoTableReport[];
  samplePredictions: DemoPrediction[];
  elapsedSeconds: number;
  timeScale: number;
}

/** Demo defaults: a time scale that makes the BigQuery clock run fast enough for a laptop. */
export function demoConfigFlags(): Partial<Record<keyof NodeJS.ProcessEnv, string>> {
  return {
    PHASEGATE_TIME_SCALE: process.env.PHASEGATE_TIME_SCALE ?? '10',
    // Five phases share one process here, so each table's slices land at a slower pace than
    // on a fleet of workers; a longer gather window (1 s at ×10) keeps group commits large.
    // A backfill trades that latency for table operations gladly.
    PHASEGATE_COMMIT_GATHER_SECONDS: process.env.PHASEGATE_COMMIT_GATHER_SECONDS ?? '10',
  };
}

export interface DemoOptions {
  bars: boolean;
  /** Phase jobs at once per queue. @defaultValue 4 */
  concurrency?: number;
  signal?: AbortSignal;
  /** A shorter range of the season (CI runs the quick start on a week). @defaultValue the whole 2023-24 regular season */
  range?: { start: string; end: string };
}

export async function runDemo(rt: Runtime, opts: DemoOptions): Promise<DemoReport> {
  const started = Date.now();
  const range = opts.range ?? DEMO_SEASON;
  const dates = await rt.source.gameDates(range.start, range.end);
  await rt.startWorkers({ phases: PHASES, commit: true, concurrency: opts.concurrency ?? 4 });
  const warehouse = await rt.warehouse();
  // Phases 1–2 are requested; phases 3–5 follow from completion events (--cascade).
  const record = await startCascadingBackfill(rt, { processors: DEMO_PROCESSORS.map((n) => rt.registry.get(n)), dates, cascade: true });
  // Progress bars for the requested phases, then the downstream phases to the end.
  await waitForBackfill(rt, record, { bars: opts.bars, signal: opts.signal });
  const cascade = await waitForCascade(rt, record, { signal: opts.signal });
  const rules = warehouse instanceof BigQueryRulesWarehouse ? warehouse.record() : undefined;
  const tables: DemoTableReport[] = [];
  const table = (dataset: string, name: string) => `${rt.config.bigquery.datasetPrefix}${dataset}.${name}`;
  for (const def of cascadeProcessors(rt, record)) {
    if (def.kind !== 'transform') continue;
    const id = tableId(def.table);
    const quality = def.table.columns.some((c) => c.name === QUALITY_ISSUES_COLUMN) ? `count(${QUALITY_ISSUES_COLUMN})` : '0';
    const [count] = await warehouse.query(
      `SELECT count(*) AS n, count(DISTINCT game_date) AS dates, count(DISTINCT game_id) AS games, ${quality} AS warnings FROM ${table(def.table.dataset, def.table.table)} WHERE game_date BETWEEN $start AND $end`,
      { start: range.start, end: range.end },
    );
    const r = rules?.tables[id];
    tables.push({
      table: id,
      rows: Number(count?.n ?? 0),
      dates: Number(count?.dates ?? 0),
      games: Number(count?.games ?? 0),
      warnings: Number(count?.warnings ?? 0),
      tableOperations: r?.tableOps ?? 0,
      peakRunningDml: r?.peakRunningDml ?? 0,
      peakQueuedDml: r?.peakQueuedDml ?? 0,
    });
  }
  const datesCommitted = Object.fromEntries(Object.entries(cascade.perProcessor).map(([p, c]) => [p, c.committed]));
  const datesIncomplete = Object.fromEntries(Object.entries(cascade.perProcessor).map(([p, c]) => [p, c.incomplete]));
  const datesEmpty = Object.fromEntries(Object.entries(cascade.perProcessor).map(([p, c]) => [p, c.empty]));
  // Every phase, the requested ones included (failed counts deferred too).
  const failed = Object.values(cascade.perPhase).reduce((n, c) => n + c.failed, 0);
  const phases = Object.fromEntries(Object.entries(cascade.perPhase).map(([phase, c]) => [`phase ${phase}`, c]));
  // The season's last night, biggest predictions first, next to what the players then scored.
  const sample = await warehouse.query(
    `SELECT CAST(p.game_date AS VARCHAR) AS game_date, p.player_name, p.team_abbr, p.predicted_points, p.prediction_basis, s.pts
       FROM ${table('nba_predictions', 'player_points_predictions')} p
       JOIN ${table('nba_analytics', 'player_game_summary')} s ON s.game_date = p.game_date AND s.player_id = p.player_id
      WHERE p.game_date = (SELECT max(game_date) FROM ${table('nba_predictions', 'player_points_predictions')} WHERE game_date BETWEEN $start AND $end)
      ORDER BY p.predicted_points DESC, p.player_id LIMIT 5`,
    { start: range.start, end: range.end },
  );
  const samplePredictions = sample.map((r) => ({
    gameDate: String(r.game_date),
    player: String(r.player_name),
    team: String(r.team_abbr),
    predicted: Number(r.predicted_points),
    actual: Number(r.pts),
    basis: String(r.prediction_basis),
  }));
  return {
    backfillId: record.id,
    dates: dates.length,
    datesCommitted,
    datesIncomplete,
    datesEmpty,
    phases,
    failed,
    tables,
    samplePredictions,
    elapsedSeconds: (Date.now() - started) / 1000,
    timeScale: rt.config.timeScale,
  };
}

const sumOf = (counts: Record<string, number>) => Object.values(counts).reduce((n, v) => n + v, 0);

export function formatDemo(report: DemoReport, config: Config): string {
  const lines = [
    '',
    `phasegate demo — real 2023-24 regular season, embedded DuckDB with BigQuery rules (time scale ×${report.timeScale})`,
    `dates: ${report.dates}; committed per processor: ${Object.entries(report.datesCommitted)
      .map(([p, n]) => `${p} ${n}`)
      .join(', ')}; failed: ${report.failed}`,
    `incomplete: ${sumOf(report.datesIncomplete)} · empty: ${sumOf(report.datesEmpty)} (slices that landed some, or none, of their scheduled games)`,
    ...Object.entries(report.phases).map(
      ([phase, c]) =>
        `  ${phase}: ${Object.entries(c)
          .map(([s, n]) => `${s} ${n}`)
          .join(' · ')}`,
    ),
  ];
  for (const t of report.tables) {
    lines.push(
      `  ${t.table}: ${t.rows} rows, ${t.games} games on ${t.dates} dates, ${t.warnings} warnings; ${t.tableOperations} table operations (${report.dates} dates → ${(t.tableOperations / Math.max(1, report.dates)).toFixed(3)} per date); peak DML running ${t.peakRunningDml} (limit 2), queued ${t.peakQueuedDml} (limit 20)`,
    );
  }
  if (report.samplePredictions.length > 0) {
    lines.push(`sample predictions (${report.samplePredictions[0]?.gameDate}, baseline 0.6·last-5 + 0.4·last-10 points):`);
    for (const p of report.samplePredictions)
      lines.push(`  ${p.player.padEnd(26)} ${p.team}  predicted ${p.predicted.toFixed(1).padStart(5)}  scored ${String(p.actual).padStart(3)}  (${p.basis})`);
  }
  lines.push(`elapsed: ${report.elapsedSeconds.toFixed(1)} s · warehouse ${config.duckdbPath}`);
  lines.push(`inspect: phasegate sql "SELECT team_abbr, count(*) FROM nba_raw.nbac_player_boxscores GROUP BY 1 ORDER BY 2 DESC LIMIT 5"`);
  return lines.join('\n');
}
