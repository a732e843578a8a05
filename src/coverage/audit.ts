/**
 * The source-coverage audit (seed 004): compares the schedule with every source's raw table
 * and the analytics table over a look-back window, logs what changed per game in
 * `nba_orchestration.source_coverage_log`, asks the fallback source for the games no source
 * has (a cascading backfill of its scraper, so phase 2 and 3 follow through the normal table
 * gates), and once that fallback has settled, judges: a game still in no source is critical
 * (announced at once), everything else it found goes into one digest.
 *
 * It runs in two steps so that nothing blocks a worker while the fallback lands: `startAudit`
 * (scan, log, request) and `finishAudit` (rescan, log, judge, announce). `runAudit` does both
 * in one process; the scheduler's worker runs the second as a delayed job of its own.
 */
import { scaledMs } from '../config/index.ts';
import { log } from '../log.ts';
import type { BackfillRecord } from '../queues/backfill/backfill.ts';
import { getBackfill } from '../queues/backfill/backfill.ts';
import { cascadeProgress, startCascadingBackfill } from '../queues/backfill/cascade.ts';
import { stageAppendRows } from '../queues/commit/staging.ts';
import type { PipelineContext } from '../queues/context.ts';
import { PRIORITY } from '../queues/names.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { announceCoverage, digestWorthy } from './alerts.ts';
import { type CoverageLogRow, inProgress, lastObservations, observationEvents, verdictRow } from './events.ts';
import { sourceCoverageLog } from './log-table.ts';
import { coverageReport, type DateCoverage } from './report.ts';
import { scanCoverage } from './scan.ts';
import { saveSnapshot } from './snapshot.ts';
import { type CoverageSource, coverageTargets } from './sources.ts';

/** The game-level view over the log, in the log's dataset. */
export const COVERAGE_VIEW = 'source_coverage_by_game';

export interface AuditOptions {
  /** First date of the window (YYYY-MM-DD, inclusive). */
  start: string;
  /** Last date of the window (inclusive). */
  end: string;
  /** @defaultValue `audit-<start>-<end>-<UTC time>` */
  runId?: string | undefined;
  /** Ask the fallback source for games no source has. @defaultValue true */
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
      await warehouse.ensureCoverageView(sourceCoverageLog.table, COVERAGE_VIEW);
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

/** Step one: scan, log what changed, ask the fallback source for the games no source has. */
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
  let fallback: AuditState['fallback'];
  const fb = targets.fallback;
  if (opts.fallback !== false && fb && obs.uncovered.length > 0) {
    const fbDates = [...new Set(obs.uncovered.map((g) => g.date))].sort();
    // Live priority: a repair outranks any backfill on every queue; it still commits through the gates.
    const record = await requestFallback(ctx, fb, fbDates, PRIORITY.live);
    fallback = { backfillId: record.id, dates: fbDates, games: obs.uncovered.map((g) => g.gameId) };
    for (const g of obs.uncovered) {
      rows.push(
        verdictRow('fallback_requested', g, {
          runId,
          now,
          last: obs.last,
          primaryTable: targets.sources.find((s) => s.role === 'primary')?.tableName,
          fallbackTable: fb.tableName,
          details: { backfill_id: record.id, scraper: fb.scraper, source: fb.source },
        }),
      );
    }
    log.info(`audit ${runId}: ${obs.uncovered.length} game(s) in no source; ${fb.scraper} asked for ${fbDates.join(', ')} (backfill ${record.id})`);
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
    fallback,
    fallbackEnabled: opts.fallback !== false && fb !== undefined,
    detected: rows.filter(digestWorthy),
    counts: count(rows),
    logged,
  };
}

/** Whether the fallback's scrape, raw load and phase 3 have all ended for its dates. */
export async function fallbackSettled(ctx: PipelineContext, state: Pick<AuditState, 'fallback'>): Promise<boolean> {
  if (!state.fallback) return true;
  const progress = await cascadeProgress(ctx, await getBackfill(ctx, state.fallback.backfillId));
  return ([1, 2, 3] as const).every((p) => {
    const c = progress.perPhase[p];
    return !c || c.pending + c.running + c.waiting === 0;
  });
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
        primaryTable: targets.sources.find((s) => s.role === 'primary')?.tableName,
        details: {
          sources: targets.sources.map((s) => s.source),
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
    fallback: state.fallback,
    critical: critical.map((g) => ({ gameId: g.gameId, date: g.date })),
    announced: { critical: announced.critical.length, digest: announced.digest.length },
    coverage,
  };
}

/**
 * Both steps in this process: waits (polling) for the fallback to settle, up to the deadline.
 * `onFallback` runs once a fallback was asked for, before the wait (`phasegate audit` starts
 * the workers that land it there). Stopped by `signal` before the fallback settled, it throws
 * instead of judging: a game on its way would be called lost.
 */
export async function runAudit(
  ctx: PipelineContext,
  opts: AuditOptions & { signal?: AbortSignal | undefined; onFallback?: ((state: AuditState) => Promise<void>) | undefined },
): Promise<AuditReport> {
  const state = await startAudit(ctx, opts);
  if (state.fallback) await opts.onFallback?.(state);
  const poll = Math.min(1000, scaledMs(ctx.config, AUDIT_DEFAULTS.pollSeconds));
  let settled = await fallbackSettled(ctx, state);
  while (!settled && Date.now() < Date.parse(state.deadline) && !opts.signal?.aborted) {
    await new Promise((r) => setTimeout(r, poll));
    settled = await fallbackSettled(ctx, state);
  }
  if (!settled && opts.signal?.aborted) {
    throw new Error(`audit ${state.runId} stopped before the fallback landed: what it found is logged; the next audit judges the games`);
  }
  return finishAudit(ctx, state);
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
