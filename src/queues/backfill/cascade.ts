/**
 * Cascading backfills: a backfill of the upstream processors whose completion events carry
 * the work down every dependent phase (`--cascade`). The backfill record names only what was
 * requested; this module adds the processors the cascade reaches, so that progress, `status`
 * and `--wait` count them too, and resumes a stopped cascade from what the warehouse holds.
 */
import { inputsOf } from '../../processors/registry.ts';
import type { Phase, ProcessorDef } from '../../processors/types.ts';
import type { PipelineContext } from '../context.ts';
import { enqueueSlices } from '../enqueue.ts';
import { countCells, type RunGraph, runGraph, runProcessors, type StatusReader } from '../runs/graph.ts';
import { FINAL_STATES, type SliceState } from '../status-store.ts';
import { type BackfillRecord, type BackfillRequest, startBackfill } from './backfill.ts';

/** Requested processors plus, with `cascade`, everything downstream of them; in phase order. */
export const cascadeProcessors = runProcessors;

export interface CascadeRequest extends BackfillRequest {
  /**
   * Slices that will not run because the warehouse already holds them. A stopped run may have
   * left them marked pending or running; they are marked committed, which is what the
   * warehouse says, so the resumed backfill's progress can finish.
   */
  settled?: Record<string, string[]> | undefined;
}

function datesFor(req: BackfillRequest, processor: string): string[] {
  return req.only ? (req.only[processor] ?? []) : req.dates;
}

/**
 * Starts a backfill; with `cascade`, first marks every downstream processor pending for the
 * dates the cascade will reach. Marking them before any upstream commit matters twice: the
 * progress counts the downstream work from the start, and a look-back processor (rolling
 * features) waits for the earlier dates of its window instead of computing a date whose
 * history is about to change — one run per date instead of one per earlier commit.
 */
export async function startCascadingBackfill(ctx: PipelineContext, req: CascadeRequest): Promise<BackfillRecord & { added: number; alreadyQueued: number }> {
  const requested = new Set(req.processors.map((p) => p.name));
  // The dates each processor will run: its own for the requested ones; for a downstream
  // one, the dates started directly plus those an upstream processor runs (events carry them).
  const runs = new Map<string, Set<string>>(req.processors.map((p) => [p.name, new Set(datesFor(req, p.name))]));
  const downstream = req.cascade ? cascadeProcessors(ctx, { processors: [...requested], cascade: true }).filter((p) => !requested.has(p.name)) : [];
  for (const def of downstream) {
    const dates = new Set(req.startDownstream?.[def.name] ?? []);
    if (def.kind === 'transform') for (const dep of inputsOf(def)) for (const d of runs.get(dep) ?? []) dates.add(d);
    runs.set(def.name, dates);
    await ctx.statuses.setMany(def.name, [...dates], { status: 'pending' });
  }
  for (const [name, dates] of Object.entries(req.settled ?? {})) {
    const statuses = await ctx.statuses.getMany(name, dates);
    const stale = dates.filter((_, i) => !FINAL_STATES.has(statuses[i]?.status ?? 'pending'));
    for (const slice of stale) await ctx.statuses.update(name, slice, { status: 'committed', error: undefined, nextTryAt: undefined });
  }
  const record = await startBackfill(ctx, req);
  let { added, alreadyQueued } = record;
  for (const [name, dates] of Object.entries(req.startDownstream ?? {})) {
    if (dates.length === 0) continue;
    const res = await enqueueSlices(ctx, ctx.registry.get(name), dates, {
      backfillId: record.id,
      targets: record.processors,
      cascade: record.cascade,
      origin: 'backfill',
      priority: record.priority,
    });
    added += res.added;
    alreadyQueued += res.alreadyQueued;
  }
  return { ...record, added, alreadyQueued };
}

/**
 * `--only-missing`: keeps, per processor, the dates its table lacks (read from the warehouse,
 * not from memory), so a stopped backfill resumes where it stopped. A scraper keeps the
 * dates some dependent it feeds lacks: its files are only needed for those. With `cascade`,
 * a downstream table missing a date whose inputs all stay as they are is started directly
 * for that date — no upstream commit would ever come to start it.
 */
export async function onlyMissing(ctx: PipelineContext, req: BackfillRequest): Promise<CascadeRequest> {
  // While a worker holds the embedded DuckDB file, through its read relay (a table it has not
  // created yet reads as holding nothing there, and ensureTable creates nothing).
  const warehouse = await ctx.warehouse().catch(async (err: unknown) => (await import('../../warehouse/read-relay/client.ts')).relayOnLock(err, ctx));
  const lacks = new Map<string, Set<string>>();
  /** Dates of `req.dates` the processor's table does not hold (a scraper: those its fed dependents lack). */
  const lacking = async (def: ProcessorDef): Promise<Set<string>> => {
    let m = lacks.get(def.name);
    if (m) return m;
    if (def.kind === 'transform') {
      await warehouse.ensureTable(def.table);
      const present = new Set(await warehouse.presentSlices(def.table, req.dates));
      m = new Set(req.dates.filter((d) => !present.has(d)));
    } else {
      const fed = ctx.registry.dependents(def.name).filter((d) => requested.has(d.name) || req.cascade);
      m = new Set(fed.length === 0 ? req.dates : []);
      for (const d of fed) for (const date of await lacking(d)) m.add(date);
    }
    lacks.set(def.name, m);
    return m;
  };
  const requested = new Set(req.processors.map((p) => p.name));
  const only: Record<string, string[]> = {};
  for (const p of req.processors) {
    const missing = await lacking(p);
    only[p.name] = datesFor(req, p.name).filter((d) => missing.has(d));
  }
  const startDownstream: Record<string, string[]> = {};
  const settled: Record<string, string[]> = {};
  const runs = new Map<string, Set<string>>(Object.entries(only).map(([p, dates]) => [p, new Set(dates)]));
  for (const def of cascadeProcessors(ctx, { processors: [...requested], cascade: !!req.cascade })) {
    if (!requested.has(def.name) && def.kind === 'transform') {
      const upstreamRuns = (date: string) => def.dependsOn.some((dep) => runs.get(dep)?.has(date));
      const direct = [...(await lacking(def))].filter((date) => !upstreamRuns(date));
      if (direct.length > 0) startDownstream[def.name] = direct;
      // Whatever runs upstream of it runs it too: events carry every commit down.
      runs.set(def.name, new Set([...direct, ...req.dates.filter(upstreamRuns)]));
    }
    const missing = await lacking(def);
    settled[def.name] = req.dates.filter((d) => !runs.get(def.name)?.has(d) && !missing.has(d));
  }
  const dates = [...new Set([...Object.values(only).flat(), ...Object.values(startDownstream).flat()])].sort();
  return { ...req, only, dates, startDownstream, settled };
}

/** The states `status` reports per phase; staged counts as running, deferred as failed. */
export const PHASE_STATES = ['pending', 'running', 'committed', 'incomplete', 'empty', 'waiting', 'failed', 'upstream_failed', 'cancelled'] as const;
export type PhaseState = (typeof PHASE_STATES)[number];

/** How each slice state counts in a phase's line (the demo adds a second run's processors with it). */
export const PHASE_STATE_OF: Record<SliceState, PhaseState> = {
  pending: 'pending',
  running: 'running',
  staged: 'running',
  committed: 'committed',
  incomplete: 'incomplete',
  empty: 'empty',
  waiting: 'waiting',
  deferred: 'failed',
  failed: 'failed',
  upstream_failed: 'upstream_failed',
  cancelled: 'cancelled',
};

export interface CascadeProgress {
  id: string;
  /** Every slice the run reaches is in a terminal state (one an ended upstream settles counts). */
  done: boolean;
  perProcessor: Record<string, Record<SliceState, number>>;
  perPhase: Partial<Record<Phase, Record<PhaseState, number>>>;
  /** The run's graph the counts come from. */
  graph: RunGraph;
}

function zero<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export type { StatusReader } from '../runs/graph.ts';

/**
 * Progress of a run over every slice it reaches (src/queues/runs/graph.ts decides each
 * slice's state). `read` decides which statuses count: the latest ones by default; the
 * dashboard passes the backfill's own.
 */
export async function cascadeProgress(ctx: PipelineContext, record: BackfillRecord, read?: StatusReader): Promise<CascadeProgress> {
  const graph = await runGraph(ctx, record, { read });
  const perProcessor: CascadeProgress['perProcessor'] = {};
  const perPhase: CascadeProgress['perPhase'] = {};
  for (const def of graph.scope.processors) {
    const cells = [...(graph.cells.get(def.name)?.values() ?? [])];
    const counts = countCells(cells);
    perProcessor[def.name] = counts;
    const phase = perPhase[def.phase] ?? zero(PHASE_STATES);
    perPhase[def.phase] = phase;
    for (const c of cells) phase[PHASE_STATE_OF[c.state]] += 1;
  }
  return { id: record.id, done: graph.done, perProcessor, perPhase, graph };
}

export interface RunWaitOptions {
  /** @defaultValue 500 */
  pollMs?: number | undefined;
  /** Stop waiting after this long (real ms), the run not done. @defaultValue undefined (no limit) */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Called with each read of the run's progress. */
  onProgress?: ((p: CascadeProgress) => void) | undefined;
}

/**
 * The one wait for a run: polls its graph until every slice it reaches is final (a cascade's
 * downstream phases included), the signal aborts or the timeout passes. `--wait`
 * (src/cli/progress.ts, `waitForBackfill`) adds bars, the log rows and the failed-dates file.
 */
export async function waitForCascade(ctx: PipelineContext, record: BackfillRecord, opts: RunWaitOptions = {}): Promise<CascadeProgress> {
  const started = Date.now();
  for (;;) {
    const progress = await cascadeProgress(ctx, record);
    opts.onProgress?.(progress);
    if (progress.done || opts.signal?.aborted || (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs)) return progress;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/** One line per phase: `phase 3  pending 0 · running 0 · committed 48 · waiting 0 · failed 0`. */
export function phaseLines(progress: Pick<CascadeProgress, 'perPhase'>): string[] {
  return Object.entries(progress.perPhase).map(([phase, c]) => `phase ${phase}  ${PHASE_STATES.map((s) => `${s} ${c[s]}`).join(' · ')}`);
}
