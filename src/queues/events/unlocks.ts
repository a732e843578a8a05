/**
 * What one completion event unlocks: for processor P committed slice D, every processor Q
 * that depends on P runs for D once all of Q's dependencies have committed D — and, when Q
 * looks back over P's earlier dates, for the later dates whose window includes D.
 *
 * Which downstream work follows an event:
 * - live work (no backfill id): every dependent, at live priority — corrections flow down;
 * - a backfill's work: every dependent with `--cascade`, otherwise only the processors the
 *   backfill named; at the backfill's priority, carrying its id so `status` can count it.
 */
import { log } from '../../log.ts';
import { datesIn, type Lookback, lookbackOf } from '../../processors/precompute/lookback.ts';
import { inputsOf } from '../../processors/registry.ts';
import type { TransformDef } from '../../processors/types.ts';
import { type BackfillRecord, getBackfill } from '../backfill/backfill.ts';
import type { PipelineContext } from '../context.ts';
import { PRIORITY } from '../names.ts';
import { cancelledStatus, isCancelled } from '../runs/cancel.ts';
import { inputVerdict, inputViews, noteExtra, RunScope, type Verdict } from '../runs/graph.ts';
import { markStaleDownstream } from '../runs/stale.ts';
import { endedWithoutLanding, landed, type SliceState, type SliceStatus, stateNow } from '../status-store.ts';
import { coveredSlices, type RunOutcome, requestRun } from './downstream.ts';
import { settleDownstream, writeVerdict } from './settle.ts';
import type { CommittedEvent } from './stream.ts';

/** States in which a slice will still change without a person: a look-back window waits for them. */
const IN_PROGRESS: ReadonlySet<SliceState> = new Set(['pending', 'running', 'staged', 'waiting']);

export interface UnlockTiming {
  /** Delay of an unlocked job, so a burst of commits for one date becomes one run. */
  debounceMs: number;
  /** Longest a look-back job waits for the earlier dates of its window. */
  windowWaitMs: number;
}

export type EventOutcome = 'done' | 'retry';

/** Backfill definitions never change once written, so they are cached for the tracker's life. */
export class BackfillLookup {
  private readonly cache = new Map<string, BackfillRecord | null>();
  private readonly scopes = new Map<string, RunScope>();

  constructor(private readonly ctx: PipelineContext) {}

  /** The run's own slices (without those it triggered beyond its dates: their inputs have landed). */
  scope(record: BackfillRecord): RunScope {
    let scope = this.scopes.get(record.id);
    if (!scope) {
      scope = new RunScope(this.ctx, record);
      if (this.scopes.size >= 100) this.scopes.delete(this.scopes.keys().next().value as string);
      this.scopes.set(record.id, scope);
    }
    return scope;
  }

  async get(id: string): Promise<BackfillRecord | undefined> {
    let record = this.cache.get(id);
    if (record === undefined) {
      record = await getBackfill(this.ctx, id).catch(() => null);
      // Bounded: a tracker living for months sees many backfills; the oldest go first.
      if (this.cache.size >= 1000) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(id, record);
    }
    return record ?? undefined;
  }
}

/** What the run graph says of some slices of `def` (src/queues/runs/graph.ts), with their own statuses. */
async function judgeSlices(
  ctx: PipelineContext,
  def: TransformDef,
  slices: readonly string[],
  run: RunScope | ((processor: string) => boolean),
): Promise<{ slice: string; verdict: Verdict; own: SliceStatus | undefined }[]> {
  const inputs = inputsOf(def);
  const [own, ...raw] = await Promise.all([def.name, ...inputs].map((p) => ctx.statuses.getMany(p, slices)));
  // An input this run does not produce, whose last run ended without landing, still counts
  // with the commit the warehouse keeps (a failed re-run hides no good rows); the run's own
  // inputs count as they ended in it. The last commit is read only where it matters.
  const ownInput = (p: string, slice: string) => run instanceof RunScope && run.has(p, slice);
  const lists = await Promise.all(
    inputs.map(async (p, j) => {
      const list = raw[j] ?? [];
      const now = (s: SliceStatus | undefined, i: number) => !ownInput(p, slices[i] as string) && endedWithoutLanding(s);
      if (!list.some(now)) return list;
      const last = await ctx.statuses.lastCommits(p, slices);
      return list.map((s, i) => (now(s, i) ? stateNow(s, last[i]) : s));
    }),
  );
  return slices.map((slice, i) => {
    const byInput = new Map(inputs.map((p, j) => [p, lists[j]?.[i]]));
    return {
      slice,
      own: own?.[i],
      verdict: inputVerdict(
        slice,
        inputViews(def, slice, run, (p) => byInput.get(p)),
      ),
    };
  });
}

interface WindowView {
  /** Later dates to refresh because the event's slice is in their window. */
  later: string[];
  /** Whether an earlier date of a slice's window is still being produced. */
  blocked(slice: string): boolean;
}

async function windowView(ctx: PipelineContext, lookback: Lookback, event: CommittedEvent): Promise<WindowView> {
  // Only the dates the answers depend on: the later dates to refresh and every candidate's
  // window (a season for the season-to-date window). Reading the input's whole status hash
  // made each event cost the length of every backfill the processor ever ran.
  const refresh = event.processor === lookback.input ? datesIn(lookback.later(event.slice)) : [];
  let start = event.slice;
  let end = event.slice;
  for (const slice of [event.slice, ...refresh]) {
    const w = lookback.earlier(slice);
    if (w.start < start) start = w.start;
    if (w.end > end) end = w.end;
    if (slice > end) end = slice;
  }
  const dates = datesIn({ start, end });
  const statuses = await ctx.statuses.getMany(lookback.input, dates);
  const inProgress: string[] = [];
  const committed = new Set<string>();
  statuses.forEach((s, i) => {
    if (!s) return;
    if (IN_PROGRESS.has(s.status)) inProgress.push(dates[i] as string);
    else if (landed(s)) committed.add(dates[i] as string);
  });
  const later = refresh.filter((d) => committed.has(d));
  return {
    later,
    blocked: (slice) => {
      const { start, end } = lookback.earlier(slice);
      return inProgress.some((d) => d >= start && d <= end);
    },
  };
}

/**
 * Enqueues what the event unlocked. `retry` when some unlocked work could not be queued yet
 * (its job, started before this commit, is still running): the event must stay
 * unacknowledged and be handled again.
 */
export async function handleEvent(
  ctx: PipelineContext,
  event: CommittedEvent,
  eventId: string,
  backfills: BackfillLookup,
  timing: UnlockTiming,
): Promise<EventOutcome> {
  if (!ctx.registry.has(event.processor)) {
    // phasegate's own log tables commit too, and nothing depends on them.
    log.debug(`dependency tracker: event ${eventId} is for ${event.processor}, which no processor depends on`);
    return 'done';
  }
  const record = event.backfillId ? await backfills.get(event.backfillId) : undefined;
  if (event.backfillId && !record) {
    log.warn(`dependency tracker: event ${eventId} names unknown backfill ${event.backfillId}; nothing downstream runs for it`);
    return 'done';
  }
  const all = ctx.registry.dependents(event.processor);
  const dependents = all.filter((q) => !record || record.cascade || record.processors.includes(q.name));
  // The commit changed the slice's rows: what is not run again now is out of date until it is.
  if (event.changed) {
    const left = all.filter((q) => !dependents.includes(q)).map((q) => q.name);
    if (left.length > 0) await markStaleDownstream(ctx, event.processor, event.slice, event.committedAt, left);
  }
  let outcome: EventOutcome = 'done';
  const run = record ? backfills.scope(record) : undefined;
  const cancelled = record !== undefined && (await isCancelled(ctx, record.id));
  const reached = ctx.registry.reached(record?.processors ?? [], record?.cascade ?? true);
  for (const def of dependents) {
    const lookback = lookbackOf(def);
    const window = lookback ? await windowView(ctx, lookback, event) : undefined;
    const judged = await judgeSlices(ctx, def, [event.slice, ...(window?.later ?? [])], run ?? ((p) => record === undefined || reached.has(p)));
    // Whether each ready slice's window is still in progress, worked out once.
    const blocked = new Map(judged.filter((j) => j.verdict.kind === 'ready').map(({ slice }) => [slice, window?.blocked(slice) ?? false]));
    // A backfill's job is unlocked only once every input the run reaches has landed the slice:
    // the burst the debounce waits out is over, and its wait would be paid at every phase of a
    // cascade's critical path. Live work, whose corrections come one table at a time, keeps it.
    const debounceMs = event.backfillId ? 0 : timing.debounceMs;
    const delayOf = (slice: string) => (blocked.get(slice) ? timing.windowWaitMs : debounceMs);
    // Read ahead only for a look-back's later dates: one slice alone is `requestRun`'s own check,
    // in the round trip it makes anyway.
    const covered =
      cancelled || blocked.size < 2
        ? new Set<string>()
        : await coveredSlices(
            ctx,
            def.name,
            [...blocked.keys()].map((slice) => ({ slice, delayMs: delayOf(slice) })),
            eventId,
          );
    const ready: typeof judged = [];
    for (const judgement of judged) {
      const { slice, verdict, own } = judgement;
      if (verdict.kind === 'ended') {
        // Ruled out by an input that ended without rows: a slice this run still waits for ends now.
        if (own?.status === 'pending') {
          await writeVerdict(ctx, def, slice, verdict, run, event.backfillId);
          await settleDownstream(ctx, def.name, slice, { backfillId: event.backfillId, targets: record?.processors ?? [], cascade: record?.cascade ?? true });
        }
      } else if (verdict.kind === 'ready') ready.push(judgement);
    }
    // Each slice's request touches only its own job, status and trigger, so they go out together:
    // a look-back event asks for up to a season of dates, and one request is four round trips —
    // one after the other, the last job of a 64-date commit was queued seconds after the first
    // on a busy process, and the downstream commit waited for it.
    const results = await Promise.all(
      ready.map(async ({ slice, own }): Promise<RunOutcome | undefined> => {
        if (cancelled) {
          // The run was cancelled: what its last jobs unlock ends cancelled instead of running.
          if (own?.status === 'pending' || own === undefined) await ctx.statuses.set(def.name, slice, cancelledStatus(event.backfillId as string));
          return undefined;
        }
        // A slice the run reaches beyond its own dates (a later date of a window) joins its graph
        // before its job exists: a progress read in between must not find the run ended.
        if (run && event.backfillId && !run.has(def.name, slice)) await noteExtra(ctx, event.backfillId, def.name, slice);
        if (covered.has(slice)) return undefined;
        const result: RunOutcome = await requestRun(ctx, {
          def,
          slice,
          eventId,
          backfillId: event.backfillId,
          targets: record?.processors ?? [],
          cascade: record?.cascade ?? true,
          priority: record?.priority ?? PRIORITY.live,
          delayMs: delayOf(slice),
        });
        if (result !== 'covered')
          log.debug(
            `dependency tracker: ${event.processor} ${event.slice} → ${def.name} ${slice}: ${result}${blocked.get(slice) ? ' (window still in progress)' : ''}`,
          );
        return result;
      }),
    );
    if (results.includes('busy')) outcome = 'retry';
  }
  return outcome;
}
