/**
 * The demo: on the embedded default (DuckDB behind the BigQuery rules, local store, fixture
 * source), scrape → stage → commit the real 2023-24 regular season (and the 2024-25 Play-In nights,
 * whose six NBA.com-missing games the balldontlie fallback fills) for both raw tables, let
 * completion events carry it through analytics, precompute and predictions (a cascade), and
 * report what the table gates did, per phase and per table, with a few predictions.
 */

import type { Config } from '../config/load-config.ts';
import { requestFallback } from '../coverage/audit.ts';
import { coverageTargets } from '../coverage/sources.ts';
import { projection } from '../processors/analytics/rows.ts';
import { worstTier } from '../processors/tiers.ts';
import { tableId } from '../processors/types.ts';
import type { BackfillRecord } from '../queues/backfill/backfill.ts';
import {
  type CascadeProgress,
  cascadeProcessors,
  PHASE_STATE_OF,
  PHASE_STATES,
  type PhaseState,
  startCascadingBackfill,
  waitForCascade,
} from '../queues/backfill/cascade.ts';
import { PHASES } from '../queues/names.ts';
import type { SliceState } from '../queues/status-store.ts';
import type { Runtime } from '../runtime.ts';
import { BigQueryRulesWarehouse } from '../warehouse/rules/bigquery-rules-warehouse.ts';
import type { PredictionSample, Warehouse } from '../warehouse/types.ts';
import { waitForBackfill } from './progress.ts';
import { watchBackfill } from './render/backfill-view.ts';
import { tableLines } from './render/table.ts';
import { formatCount, wrap } from './render/text.ts';
import { dmlCounts, operationsTaken } from './summary.ts';

export const DEMO_SEASON = { start: '2023-10-24', end: '2024-04-14' } as const;
export const DEMO_PROCESSORS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'] as const;
/**
 * The 2024-25 Play-In nights and seed 004's six games NBA.com has no box score for: the full
 * demo runs them too, so the fallback source and the quality tiers show.
 */
export const PLAY_IN = {
  dates: ['2025-04-15', '2025-04-16', '2025-04-18'],
  nbacMissing: ['0052400101', '0052400121', '0052400111', '0052400131', '0052400201', '0052400211'],
} as const;

export interface CoverageGame {
  gameId: string;
  gameDate: string;
  source: string;
  tier: string;
}

/** Per scheduled game of the demo's dates: which source phase 3 used and at what tier. */
export interface DemoCoverage {
  scheduledGames: number;
  coveredGames: number;
  /** `nbac gold`, `bdl silver`, …: games per source and tier. */
  bySourceTier: Record<string, number>;
  /** Games not from the primary source or not gold, each with its source and tier. */
  notGold: CoverageGame[];
  /** Scheduled games no source covered. */
  uncovered: string[];
}

export interface DemoTableReport {
  table: string;
  rows: number;
  dates: number;
  games: number;
  /** Rows committed with a data-quality note (their `quality_issues` is set): a `warn` rule, the fallback source, few earlier games. */
  warnings: number;
  /**
   * DML statements (group commits) the demo took on the table: the table gate's counter, the
   * one `status` ("DML today") and the dashboard's tables page show, less its value before the run.
   */
  tableOperations: number;
  peakRunningDml: number;
  peakQueuedDml: number;
}

/** One prediction next to what the player then scored (from player_game_summary). */
export type DemoPrediction = PredictionSample;

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
  /** The failed-dates files the demo's runs wrote (`backfill --retry-failed` reads them); none when every slice landed. */
  failedDatesFiles: string[];
  tables: DemoTableReport[];
  samplePredictions: DemoPrediction[];
  coverage: DemoCoverage;
  elapsedSeconds: number;
  timeScale: number;
}

/** Demo defaults: a time scale that makes the BigQuery clock run fast enough for a laptop. */
export function demoConfigFlags(given: { prefix?: string | undefined; timeScale?: string | undefined } = {}): Partial<Record<keyof NodeJS.ProcessEnv, string>> {
  return {
    // A key prefix of its own: the demo's ×10 clock and gather window are recorded as its
    // pipeline's shared settings (phasegate config), and must not bind the user's own pipeline.
    PHASEGATE_PREFIX: given.prefix ?? process.env.PHASEGATE_PREFIX ?? 'phasegate-demo',
    PHASEGATE_TIME_SCALE: given.timeScale ?? process.env.PHASEGATE_TIME_SCALE ?? '10',
    // Five phases share one process here, so each table's slices land at a slower pace than
    // on a fleet of workers; a longer gather window (1 s at ×10) keeps group commits large.
    // A backfill trades that latency for table operations gladly.
    PHASEGATE_COMMIT_GATHER_SECONDS: process.env.PHASEGATE_COMMIT_GATHER_SECONDS ?? '10',
    // NBA.com has nothing for seed 004's Play-In games: the fallback fills them.
    PHASEGATE_FIXTURE_MISSING_GAMES: process.env.PHASEGATE_FIXTURE_MISSING_GAMES ?? PLAY_IN.nbacMissing.join(','),
  };
}

export interface DemoOptions {
  bars: boolean;
  /** With the bars, print every info log line above them. @defaultValue false */
  verbose?: boolean | undefined;
  /** Phase jobs at once per queue. @defaultValue 4 */
  concurrency?: number;
  signal?: AbortSignal;
  /** A shorter range of the season (CI runs the quick start on a week). @defaultValue the whole 2023-24 regular season */
  range?: { start: string; end: string };
}

export async function runDemo(rt: Runtime, opts: DemoOptions): Promise<DemoReport> {
  const started = Date.now();
  const dates = opts.range
    ? await rt.source.gameDates(opts.range.start, opts.range.end)
    : [...(await rt.source.gameDates(DEMO_SEASON.start, DEMO_SEASON.end)), ...PLAY_IN.dates];
  const range = { start: dates[0] ?? DEMO_SEASON.start, end: dates.at(-1) ?? DEMO_SEASON.end };
  await rt.startWorkers({ phases: PHASES, commit: true, concurrency: opts.concurrency ?? 4 });
  const warehouse = await rt.warehouse();
  // Every table's DML counter before the run: what the run took is the difference.
  const opsBefore = await dmlCounts(
    rt,
    rt.registry.transforms().map((d) => tableId(d.table)),
  );
  // Phases 1–2 are requested; phases 3–5 follow from completion events (--cascade).
  const record = await startCascadingBackfill(rt, { processors: DEMO_PROCESSORS.map((n) => rt.registry.get(n)), dates, cascade: true });
  // Progress bars for every phase the cascade reaches, from the first scrape to the last prediction.
  const view = opts.bars ? watchBackfill(rt, record, { title: 'demo', verbose: opts.verbose }) : undefined;
  const main = await waitForBackfill(rt, record, { bars: false, view, signal: opts.signal });
  // What NBA.com left incomplete, the fallback source fills (the daily audit does the same).
  const fallback = await fallbackFor(rt, record.dates);
  if (fallback) view?.follow(fallback);
  const filled = fallback ? await waitForBackfill(rt, fallback, { bars: false, view, signal: opts.signal }) : undefined;
  // The first run's graph read again: the fallback's commits re-ran some of its downstream slices.
  const cascade = mergeRuns(rt, await waitForCascade(rt, record, { signal: opts.signal }), filled?.run);
  await view?.stop();
  const rules = warehouse instanceof BigQueryRulesWarehouse ? warehouse.record() : undefined;
  const tables: DemoTableReport[] = [];
  const ran = [...cascadeProcessors(rt, record), ...(fallback ? cascadeProcessors(rt, fallback) : [])];
  const ids = [...new Set(ran.flatMap((def) => (def.kind === 'transform' ? [tableId(def.table)] : [])))];
  const opsAfter = await dmlCounts(rt, ids);
  for (const id of ids) {
    const count = await warehouse.reports.tableSummary(rt.registry.tableSpec(id), range);
    const r = rules?.tables[id];
    tables.push({
      table: id,
      rows: count.rows,
      dates: count.dates,
      games: count.games,
      warnings: count.warnings,
      // Not the rules layer's count of table operations: that one also counts the DDL that
      // created the table (one more than status and the dashboard show).
      tableOperations: operationsTaken(opsBefore, id, opsAfter.get(id) ?? 0),
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
  const failedDatesFiles = [main.failedFile, filled?.failedFile].filter((f): f is string => f !== undefined);
  // The regular season's last night, biggest predictions first, next to what the players then
  // scored: real players on real last-10 windows (the Play-In nights have two games behind them).
  const samplePredictions = await warehouse.reports.samplePredictions({
    predictions: rt.registry.tableSpec('nba_predictions.player_points_predictions'),
    actuals: rt.registry.tableSpec('nba_analytics.player_game_summary'),
    range: opts.range ? range : DEMO_SEASON,
    limit: 5,
  });
  return {
    coverage: await coverageOf(rt, warehouse, dates),
    backfillId: record.id,
    dates: dates.length,
    datesCommitted,
    datesIncomplete,
    datesEmpty,
    phases,
    failed,
    failedDatesFiles,
    tables,
    samplePredictions,
    elapsedSeconds: (Date.now() - started) / 1000,
    timeScale: rt.config.timeScale,
  };
}

/**
 * The demo's two runs as one: the main run's counts, plus the processors only the fallback's
 * run reached (its scraper, raw load and the crosswalk). The phase 3–5 slices the fallback ran
 * again are the main run's slices too, and the main run's counts read their latest status.
 */
function mergeRuns(rt: Runtime, main: CascadeProgress, extra: CascadeProgress | undefined): Pick<CascadeProgress, 'perProcessor' | 'perPhase'> {
  if (!extra) return main;
  const perProcessor = { ...main.perProcessor };
  const perPhase = Object.fromEntries(Object.entries(main.perPhase).map(([p, c]) => [p, { ...c }])) as CascadeProgress['perPhase'];
  for (const [name, counts] of Object.entries(extra.perProcessor)) {
    if (name in perProcessor) continue;
    perProcessor[name] = counts;
    const phase = rt.registry.get(name).phase;
    const into = perPhase[phase] ?? (Object.fromEntries(PHASE_STATES.map((k) => [k, 0])) as Record<PhaseState, number>);
    perPhase[phase] = into;
    for (const [state, n] of Object.entries(counts) as [SliceState, number][]) into[PHASE_STATE_OF[state]] += n;
  }
  return { perProcessor, perPhase };
}

/** Starts the fallback source's backfill (cascaded) for the dates NBA.com's box scores left incomplete. */
async function fallbackFor(rt: Runtime, dates: readonly string[]): Promise<BackfillRecord | undefined> {
  const [players, teams] = await Promise.all([rt.statuses.getMany('nbac_player_boxscore', dates), rt.statuses.getMany('nbac_team_boxscore', dates)]);
  const incomplete = dates.filter((_, i) => players[i]?.status === 'incomplete' || teams[i]?.status === 'incomplete');
  if (incomplete.length === 0) return undefined;
  const fallback = coverageTargets(rt.registry).fallback;
  return fallback ? requestFallback(rt, fallback, incomplete) : undefined;
}

async function coverageOf(rt: Runtime, warehouse: Warehouse, dates: readonly string[]): Promise<DemoCoverage> {
  const scheduled: { gameId: string; gameDate: string }[] = [];
  for (const d of dates) for (const g of await rt.source.games(d)) scheduled.push({ gameId: g.gameId, gameDate: d });
  const spec = rt.registry.writerOf('nba_analytics.player_game_summary').table;
  const rows = await warehouse.readSlices(projection(spec, ['primary_source', 'data_quality_tier']), dates);
  const games = new Map<string, { sources: Set<string>; tiers: string[] }>();
  for (const r of rows) {
    const g = games.get(String(r.game_id)) ?? { sources: new Set<string>(), tiers: [] };
    g.sources.add(String(r.primary_source));
    g.tiers.push(String(r.data_quality_tier));
    games.set(String(r.game_id), g);
  }
  const bySourceTier: Record<string, number> = {};
  const notGold: CoverageGame[] = [];
  const uncovered: string[] = [];
  for (const s of scheduled) {
    const g = games.get(s.gameId);
    if (!g) {
      uncovered.push(s.gameId);
      continue;
    }
    const source = [...g.sources].sort().join('+');
    const tier = worstTier(g.tiers);
    bySourceTier[`${source} ${tier}`] = (bySourceTier[`${source} ${tier}`] ?? 0) + 1;
    if (source !== 'nbac' || tier !== 'gold') notGold.push({ gameId: s.gameId, gameDate: s.gameDate, source, tier });
  }
  return { scheduledGames: scheduled.length, coveredGames: scheduled.length - uncovered.length, bySourceTier, notGold, uncovered };
}

// The report fits an 80-column terminal: aligned tables, free text wrapped.
const WIDTH = 79;

export function formatDemo(report: DemoReport, config: Config): string {
  const n = (v: number) => formatCount(v);
  const playIn = report.coverage.notGold.length > 0 || report.dates > 160 ? ' and the 2024-25 Play-In nights' : '';
  const lines = [
    '',
    ...wrap(`phasegate demo — real 2023-24 regular season${playIn}`, WIDTH),
    ...wrap(
      `embedded DuckDB with BigQuery rules · time scale ×${report.timeScale} · ${report.dates} dates · ${report.elapsedSeconds.toFixed(1)} s · failed ${report.failed}`,
      WIDTH,
    ),
    ...wrap(
      `data: real stats.nba.com box scores — every 2023-24 player line and team total as played${
        playIn ? '; the 2024-25 Play-In nights replay real 2023-24 team-games (their players and totals) in a made-up bracket' : ''
      }`,
      WIDTH,
    ),
    '',
    ...tableLines(
      Object.keys(report.datesCommitted).map((processor) => ({ processor })),
      [
        { head: 'processor', value: (r) => r.processor, left: true },
        { head: 'dates committed', value: (r) => n(report.datesCommitted[r.processor] ?? 0) },
        { head: 'incomplete', value: (r) => n(report.datesIncomplete[r.processor] ?? 0) },
        { head: 'empty', value: (r) => n(report.datesEmpty[r.processor] ?? 0) },
      ],
    ),
    '  (incomplete, empty: slices with some, or none, of their scheduled games)',
    '',
  ];
  const phases = Object.entries(report.phases);
  // A state no phase has is left out (upstream_failed and cancelled in a clean run): 80 columns.
  const states = (Object.keys(phases[0]?.[1] ?? {}) as PhaseState[]).filter(
    (st) => !['upstream_failed', 'cancelled'].includes(st) || phases.some(([, c]) => c[st] > 0),
  );
  lines.push(
    ...tableLines(phases, [
      { head: 'slices', value: ([phase]) => phase, left: true },
      ...states.map((st) => ({ head: st, value: ([, c]: (typeof phases)[number]) => n(c[st]) })),
    ]),
    '',
    ...tableLines(report.tables, [
      { head: 'table', value: (t) => t.table, left: true },
      { head: 'rows', value: (t) => n(t.rows) },
      { head: 'games', value: (t) => n(t.games) },
      { head: 'dates', value: (t) => n(t.dates) },
      { head: 'warnings', value: (t) => n(t.warnings) },
    ]),
    '  (warnings: rows kept with a data-quality note in their quality_issues column)',
    '',
    ...tableLines(report.tables, [
      { head: 'table', value: (t) => t.table, left: true },
      { head: 'DML', value: (t) => n(t.tableOperations) },
      { head: 'per date', value: (t) => (t.tableOperations / Math.max(1, report.dates)).toFixed(3) },
      { head: 'DML running', value: (t) => String(t.peakRunningDml) },
      { head: 'queued', value: (t) => String(t.peakQueuedDml) },
    ]),
    ...wrap('  (DML: the group commits the run took, as `status` and the dashboard count them; at once: BigQuery runs 2 per table, queues 20)', WIDTH, 3),
  );
  if (report.samplePredictions.length > 0) {
    lines.push('', `sample predictions (${report.samplePredictions[0]?.gameDate}, baseline 0.6·last-5 + 0.4·last-10 points):`);
    for (const p of report.samplePredictions)
      lines.push(`  ${p.player.padEnd(26)} ${p.team}  predicted ${p.predicted.toFixed(1).padStart(5)}  scored ${String(p.actual).padStart(3)}  (${p.basis})`);
  }
  const c = report.coverage;
  const tiers = Object.entries(c.bySourceTier)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(
    '',
    ...wrap(
      `coverage: ${c.coveredGames} of ${c.scheduledGames} scheduled games covered (${tiers})${c.uncovered.length > 0 ? `; no source: ${c.uncovered.join(', ')}` : ''}`,
      WIDTH,
    ),
  );
  for (const g of c.notGold) lines.push(`  ${g.gameDate} ${g.gameId}: ${g.source === 'bdl' ? 'balldontlie (fallback)' : g.source}, ${g.tier}`);
  for (const file of report.failedDatesFiles)
    lines.push(
      '',
      ...wrap(`failed-dates file (slices that failed or are incomplete): ${file}`, WIDTH, 2),
      ...wrap(`  phasegate backfill --retry-failed ${file}`, WIDTH, 4),
    );
  lines.push(
    '',
    ...wrap(`warehouse: ${config.duckdbPath}`, WIDTH, 4),
    'inspect it:',
    '  phasegate sql "SELECT * FROM nba_analytics.player_game_summary LIMIT 5"',
  );
  return lines.join('\n');
}
