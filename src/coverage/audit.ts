/**
 * The source-coverage audit (seed 004): compares the schedule with every source's raw tables
 * and the analytics table over a look-back window, logs what changed per game and table in
 * `nba_orchestration.source_coverage_log`, and repairs from the best source first: a game a
 * primary raw table lacks while the primary's raw files for it are in the object store is
 * re-run from them (a cascading backfill of that raw processor, so phase 3 follows through
 * the normal table gates); only the games the primary has neither in its tables nor as files
 * are asked of the fallback source (a cascading backfill of its scraper). Once both have
 * settled it judges: a game still in no source is critical (announced at once), everything
 * else it found goes into one digest.
 *
 * It runs in two steps so that nothing blocks a worker while the repairs land: `startAudit`
 * (scan, log, request) and `finishAudit` (rescan, log, judge, announce). `runAudit` does both
 * in one process; the scheduler's worker runs the second as a delayed job of its own.
 */

import { scaledMs } from '../config/load-config.ts';
import { TransientError } from '../errors/transient-error.ts';
import { log } from '../log.ts';
import { primarySource } from '../processors/source-registry.ts';
import type { BackfillRecord } from '../queues/backfill/backfill.ts';
import { getBackfill } from '../queues/backfill/backfill.ts';
import { cascadeProgress, startCascadingBackfill } from '../queues/backfill/cascade.ts';
import { stageAppendRows } from '../queues/commit/staging.ts';
import type { PipelineContext } from '../queues/context.ts';
import { PRIORITY } from '../queues/names.ts';
import { logsLanded, runGraph } from '../queues/runs/graph.ts';
import { sourceCoverageLog } from '../tables/source-coverage-log.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { announceCoverage, digestWorthy } from './alerts.ts';
import { type CoverageLogRow, inProgress, type LastObservations, lastObservations, observationEvents, verdictRow } from './events.ts';
import { coverageReport, type DateCoverage } from './report.ts';
import { type CoverageScan, scanCoverage } from './scan.ts';
import { saveSnapshot } from './snapshot.ts';
import { type CoverageSource, type CoverageTargets, coverageTargets, gamesWithFiles } from './sources.ts';

/** The game-level view over the log, in the log's dataset. */
export const COVERAGE_VIEW = 'source_coverage_by_game';

export interface AuditOptions {
  /** First date of the window (YYYY-MM-DD, inclusive). */
  start: string;
  /** Last date of the window (inclusive). */
  end: string;
  /** @defaultValue `audit-<start>-<end>-<UTC time>` */
  runId?: string | undefined;
  /**
   * Repair what is missing: re-run the primary's raw processors from its files, ask the
   * fallback source for games the primary has no files of. `false`: log and alert only.
   * @defaultValue true
   */
  fallback?: boolean | undefined;
  /**
   * How long (BigQuery-clock seconds, scaled) the audit waits for the fallback's phases 1–3 to
   * settle before it judges anyway. @defaultValue AUDIT_DEFAULTS.fallbackWaitSeconds
   */
  fallbackWaitSeconds?: number | undefined;
}

export const AUDIT_DEFAULTS = {
  // A fallback scrape, its raw commit and phase 3 take minutes; two hours covers a busy day's
  // backfill queued ahead of it (the fallback runs at live priority, but commits share gates).
  fallbackWaitSeconds: 7200,
  pollSeconds: 5,
} as const;

/** A repair from the primary source's own raw files. */
export interface PrimaryRepair {
  backfillId: string;
  /** The raw processors re-run. */
  processors: string[];
  dates: string[];
  /** Games some primary raw table lacked whose files are there. */
  games: string[];
}

/** Step one's outcome, carried to step two (JSON: it travels in a job's data). */
export interface AuditState {
  runId: string;
  start: string;
  end: string;
  /** The window's game dates. */
  dates: string[];
  startedAt: string;
  /** After this (ISO) step two judges whether or not the fallback settled. */
  deadline: string;
  /** The primary's raw processors re-run from the files it has for games its tables lack. */
  repair?: PrimaryRepair | undefined;
  fallback?: { backfillId: string; dates: string[]; games: string[] } | undefined;
  /** Whether the fallback source may be asked (a source exists and the run allows it). */
  fallbackEnabled: boolean;
  /** Rows of step one a digest should name. */
  detected: CoverageLogRow[];
  /** Rows step one staged, per event type. */
  counts: Record<string, number>;
  logged: number;
}

export interface AuditReport {
  /** Every slice the audit's repairs reached is terminal (absent from a report made by the scheduler's worker, which does not wait). */
  ended?: boolean | undefined;
  /** Its log rows are in the coverage log (not only staged). */
  logsLanded?: boolean | undefined;
  /** How to follow repairs still running when the audit stopped waiting. */
  follow?: string | undefined;
  runId: string;
  start: string;
  end: string;
  dates: number;
  startedAt: string;
  finishedAt: string;
  /** Log rows staged by this run (a row already in the log is not added again). */
  logged: number;
  /** Rows per event type, both steps. */
  events: Record<string, number>;
  repair?: AuditState['repair'];
  fallback?: AuditState['fallback'];
  /** Scheduled games no source has after the fallback. */
  critical: { gameId: string; date: string }[];
  announced: { critical: number; digest: number };
  coverage: DateCoverage[];
}

const ensured = new WeakMap<Warehouse, Promise<void>>();

/** The log table and its view, once per warehouse. */
export function ensureCoverageLog(warehouse: Warehouse): Promise<void> {
  let done = ensured.get(warehouse);
  if (!done) {
    done = (async () => {
      await warehouse.ensureTable(sourceCoverageLog.table);
      await warehouse.reports.ensureCoverageView(sourceCoverageLog.table, COVERAGE_VIEW);
    })();
    done.catch(() => ensured.delete(warehouse));
    ensured.set(warehouse, done);
  }
  return done;
}

function count(rows: readonly CoverageLogRow[], into: Record<string, number> = {}): Record<string, number> {
  for (const r of rows) into[r.event_type] = (into[r.event_type] ?? 0) + 1;
  return into;
}

async function stageLog(ctx: PipelineContext, rows: readonly CoverageLogRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return stageAppendRows(ctx, sourceCoverageLog.table, sourceCoverageLog.name, rows);
}

function runIdOf(opts: AuditOptions, now: Date): string {
  return (
    opts.runId ??
    `audit-${opts.start}-${opts.end}-${now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}`
  );
}

/** A primary raw table lacks a scheduled game whose raw file for that table is in the store. */
interface RerunGap {
  gameId: string;
  date: string;
  table: CoverageSource;
}

/**
 * The gaps of the primary's raw tables that its own files can fill: per table and date whose
 * processor is not still at work, the scheduled games the table lacks and the store has files of.
 */
async function primaryGaps(ctx: Pick<PipelineContext, 'store'>, scan: CoverageScan): Promise<RerunGap[]> {
  const gaps: RerunGap[] = [];
  for (const d of scan.dates) {
    for (const table of scan.targets.sources.filter((s) => s.role === 'primary')) {
      if (inProgress(d.statuses[table.processor])) continue;
      const lacking = d.games.filter((g) => g.scheduled && (g.raw[table.tableName] ?? 0) === 0);
      if (lacking.length === 0) continue;
      const files = await gamesWithFiles(ctx.store, table, d.date);
      for (const g of lacking) if (files.has(g.gameId)) gaps.push({ gameId: g.gameId, date: d.date, table });
    }
  }
  return gaps;
}

/**
 * Re-runs the primary's raw processors for the dates of their gaps — cascaded, so phase 3 and
 * on pick the restored games up — and adds one `primary_rerun_requested` row per game and
 * table to `into.rows`.
 */
async function requestPrimaryRerun(
  ctx: PipelineContext,
  gaps: readonly RerunGap[],
  into: { runId: string; now: Date; last: LastObservations; targets: CoverageTargets; rows: CoverageLogRow[] },
): Promise<PrimaryRepair> {
  const only: Record<string, string[]> = {};
  for (const g of gaps) only[g.table.processor] = [...new Set([...(only[g.table.processor] ?? []), g.date])].sort();
  const processors = Object.keys(only);
  const dates = [...new Set(gaps.map((g) => g.date))].sort();
  const record = await startCascadingBackfill(ctx, {
    processors: processors.map((p) => ctx.registry.get(p)),
    dates,
    only,
    cascade: true,
    // Live priority: a repair outranks any backfill on every queue; it still commits through the gates.
    priority: PRIORITY.live,
  });
  for (const g of gaps) {
    into.rows.push(
      verdictRow('primary_rerun_requested', g, {
        runId: into.runId,
        now: into.now,
        last: into.last,
        primaryTable: into.targets.primary?.tableName,
        table: g.table.tableName,
        details: { backfill_id: record.id, processor: g.table.processor, source: g.table.source },
      }),
    );
  }
  return { backfillId: record.id, processors, dates, games: [...new Set(gaps.map((g) => g.gameId))] };
}

/**
 * Step one: scan, log what changed, re-run the primary's raw processors for the games its
 * files hold and its tables lack, ask the fallback source for the games no source has and the
 * primary has no files of.
 */
export async function startAudit(ctx: PipelineContext, opts: AuditOptions): Promise<AuditState> {
  const now = new Date();
  const runId = runIdOf(opts, now);
  const dates = await ctx.source.gameDates(opts.start, opts.end);
  const warehouse = await ctx.warehouse();
  await ensureCoverageLog(warehouse);
  const targets = coverageTargets(ctx.registry);
  const scan = await scanCoverage(ctx, warehouse, dates, targets);
  const last = lastObservations(await warehouse.readSlices(sourceCoverageLog.table, dates));
  const obs = observationEvents({ scan, last, runId, now });
  const rows = [...obs.rows];
  const repairs = opts.fallback !== false;
  let repair: AuditState['repair'];
  const gaps = repairs ? await primaryGaps(ctx, scan) : [];
  if (gaps.length > 0) {
    repair = await requestPrimaryRerun(ctx, gaps, { runId, now, last: obs.last, targets, rows });
    log.info(
      `audit ${runId}: ${repair.games.length} game(s) missing from ${repair.processors.join(', ')} re-run from ${primarySource().label}'s raw files for ${repair.dates.join(', ')} (backfill ${repair.backfillId})`,
    );
  }
  // The fallback stands in for the primary's player lines: asked only when no file holds them.
  const primaryFiles = new Set(gaps.filter((g) => g.table === targets.primary).map((g) => g.gameId));
  const unfilled = obs.uncovered.filter((g) => !primaryFiles.has(g.gameId));
  let fallback: AuditState['fallback'];
  const fb = targets.fallback;
  if (repairs && fb && unfilled.length > 0) {
    const fbDates = [...new Set(unfilled.map((g) => g.date))].sort();
    // Live priority, as the re-run above.
    const record = await requestFallback(ctx, fb, fbDates, PRIORITY.live);
    fallback = { backfillId: record.id, dates: fbDates, games: unfilled.map((g) => g.gameId) };
    for (const g of unfilled) {
      rows.push(
        verdictRow('fallback_requested', g, {
          runId,
          now,
          last: obs.last,
          primaryTable: targets.primary?.tableName,
          table: fb.tableName,
          details: { backfill_id: record.id, scraper: fb.scraper, source: fb.source },
        }),
      );
    }
    log.info(`audit ${runId}: ${unfilled.length} game(s) in no source; ${fb.scraper} asked for ${fbDates.join(', ')} (backfill ${record.id})`);
  }
  const logged = await stageLog(ctx, rows);
  const waitMs = scaledMs(ctx.config, opts.fallbackWaitSeconds ?? AUDIT_DEFAULTS.fallbackWaitSeconds);
  return {
    runId,
    start: opts.start,
    end: opts.end,
    dates,
    startedAt: now.toISOString(),
    deadline: new Date(now.getTime() + waitMs).toISOString(),
    repair,
    fallback,
    fallbackEnabled: repairs && fb !== undefined,
    detected: rows.filter(digestWorthy),
    counts: count(rows),
    logged,
  };
}

/**
 * Whether the repairs step one asked for — the primary's re-run (raw load, phase 3) and the
 * fallback (scrape, raw load, phase 3) — have all ended for their dates.
 */
export async function fallbackSettled(ctx: PipelineContext, state: Pick<AuditState, 'fallback' | 'repair'>): Promise<boolean> {
  for (const backfillId of [state.repair?.backfillId, state.fallback?.backfillId]) {
    if (backfillId === undefined) continue;
    const progress = await cascadeProgress(ctx, await getBackfill(ctx, backfillId));
    const settled = ([1, 2, 3] as const).every((p) => {
      const c = progress.perPhase[p];
      return !c || c.pending + c.running + c.waiting === 0;
    });
    if (!settled) return false;
  }
  return true;
}

/** Step two: rescan, log what the fallback changed, judge and announce, keep a snapshot for the dashboard. */
export async function finishAudit(ctx: PipelineContext, state: AuditState): Promise<AuditReport> {
  const now = new Date();
  const warehouse = await ctx.warehouse();
  await ensureCoverageLog(warehouse);
  const targets = coverageTargets(ctx.registry);
  const scan = await scanCoverage(ctx, warehouse, state.dates, targets);
  const last = lastObservations(await warehouse.readSlices(sourceCoverageLog.table, state.dates));
  const asked = new Set(state.fallback?.games ?? []);
  const obs = observationEvents({ scan, last, runId: state.runId, now, fallbackRequested: asked });
  const rows = [...obs.rows];
  // With a fallback to ask, only the games it was asked for are judged now (one that went
  // missing meanwhile is asked for by the next audit). Without one, nothing can fill them.
  // A game whose fallback is still landing (the deadline passed first) is judged by the next
  // audit: a critical alert must never be a slow fallback.
  const fbStatus = (date: string) => scan.dates.find((d) => d.date === date)?.statuses[targets.fallback?.processor ?? ''];
  const critical = state.fallbackEnabled ? obs.uncovered.filter((g) => asked.has(g.gameId) && !inProgress(fbStatus(g.date))) : obs.uncovered;
  for (const g of critical) {
    rows.push(
      verdictRow('no_source', g, {
        runId: state.runId,
        now,
        last: obs.last,
        primaryTable: targets.primary?.tableName,
        details: {
          sources: targets.names,
          fallback_backfill_id: state.fallback?.backfillId ?? null,
          note: targets.fallback ? 'the fallback source was asked and has nothing either' : 'no fallback source is configured',
        },
      }),
    );
  }
  const logged = await stageLog(ctx, rows);
  // A fallback scrape fetches whole dates: its rows of games the primary has are no news.
  const news = [...state.detected, ...rows].filter((r) => !(r.layer === 'raw' && r.event_type === 'found' && r.fallback_used && !asked.has(r.game_id)));
  const announced = await announceCoverage(ctx, state, news);
  const coverage = coverageReport(scan);
  await saveSnapshot(
    ctx,
    {
      runId: state.runId,
      start: state.start,
      end: state.end,
      finishedAt: now.toISOString(),
      critical: critical.length,
      findings: announced.digest.length,
    },
    coverage,
  );
  if (critical.length > 0)
    log.warn(`audit ${state.runId}: ${critical.length} game(s) have no data from any source: ${critical.map((g) => g.gameId).join(', ')}`);
  return {
    runId: state.runId,
    start: state.start,
    end: state.end,
    dates: state.dates.length,
    startedAt: state.startedAt,
    finishedAt: now.toISOString(),
    logged: state.logged + logged,
    events: count(rows, { ...state.counts }),
    repair: state.repair,
    fallback: state.fallback,
    critical: critical.map((g) => ({ gameId: g.gameId, date: g.date })),
    announced: { critical: announced.critical.length, digest: announced.digest.length },
    coverage,
  };
}

/**
 * Both steps in this process: waits (polling) for the repairs to settle, up to the deadline.
 * `onFallback` runs once a re-run or a fallback was asked for, before the wait (`phasegate audit` starts
 * the workers that land it there). Stopped by `signal` before the fallback settled, it throws
 * instead of judging: a game on its way would be called lost.
 */
export async function runAudit(
  ctx: PipelineContext,
  opts: AuditOptions & { signal?: AbortSignal | undefined; onFallback?: ((state: AuditState) => Promise<void>) | undefined },
): Promise<AuditReport> {
  const state = await startAudit(ctx, opts);
  if (state.fallback || state.repair) await opts.onFallback?.(state);
  const poll = Math.min(1000, scaledMs(ctx.config, AUDIT_DEFAULTS.pollSeconds));
  const waitFor = async (done: () => Promise<boolean>): Promise<boolean> => {
    let ok = await done();
    while (!ok && Date.now() < Date.parse(state.deadline) && !opts.signal?.aborted) {
      await new Promise((r) => setTimeout(r, poll));
      ok = await done();
    }
    return ok;
  };
  const runs = [state.repair?.backfillId, state.fallback?.backfillId].filter((id): id is string => id !== undefined);
  const follow = runs.map((id) => `phasegate status --backfill ${id}`).join('; ');
  if (!(await waitFor(() => fallbackSettled(ctx, state))) && opts.signal?.aborted) {
    throw new TransientError(
      `audit ${state.runId} stopped before its repairs landed: what it found is logged; the next audit judges the games (follow them: ${follow})`,
    );
  }
  const report = await finishAudit(ctx, state);
  // The audit's run ends when every slice its repairs reach is terminal (phases 4–5 too: the
  // refilled game's predictions), with its log rows landed.
  const ended = await waitFor(async () => {
    for (const id of runs) if (!(await runGraph(ctx, await getBackfill(ctx, id))).done) return false;
    return true;
  });
  const landed = ended && (await logsLanded(ctx, { timeoutMs: Math.max(0, Date.parse(state.deadline) - Date.now()), signal: opts.signal }));
  return { ...report, ended, logsLanded: landed, ...(ended ? {} : { follow }) };
}

/**
 * Asks the fallback source for some dates: its scraper, cascaded down every dependent phase
 * (its raw table, then phase 3 and on, which pick the best source per game). The audit's
 * repair and the demo's fallback nights both go through here.
 */
export function requestFallback(ctx: PipelineContext, fallback: CoverageSource, dates: readonly string[], priority?: number): Promise<BackfillRecord> {
  return startCascadingBackfill(ctx, {
    processors: [ctx.registry.get(fallback.scraper)],
    dates: [...dates],
    cascade: true,
    ...(priority !== undefined ? { priority } : {}),
  });
}
