/**
 * Staging: a phase job writes its rows as NDJSON — inline in Redis when small, else to the
 * object store — and registers them as pending for the target table; the table's commit queue
 * lands them later, in a batch (staged-objects.ts: what the commit reads).
 */

import { createHash, randomUUID } from 'node:crypto';
import pLimit, { type LimitFunction } from 'p-limit';
import { scaledMs, tableLimits } from '../../config/load-config.ts';
import { InputError } from '../../errors/input-error.ts';
import { checkSlice, type SliceCheck } from '../../integrity/slice-check.ts';
import { type Phase, type Row, type SliceExpectation, type TableSpec, type TransformDef, tableId } from '../../processors/types.ts';
import { RedisStep } from '../../redis/step.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { currentTraceparent } from '../../telemetry/tracing.ts';
import { warehouseCaps } from '../../warehouse/index.ts';
import type { PipelineContext } from '../context.ts';
import { QUEUE_DEFAULTS } from '../defaults.ts';
import { commitJobId, isCommitJobId, JOB_NAMES } from '../names.ts';
import { type Backlog, backlogOf, downstreamPhase, moreComing, ownBacklog, phaseBacklog, pipelineLoads, writerPhase } from './backlog-gather.ts';
import type { PendingSlice, Registered } from './table-gate.ts';

/**
 * A new key per staging: a commit in flight keeps reading the version it took. Random, not a
 * digest of the body: a slice's body is up to ~175 KB, and hashing every one cost 2.6 % of the
 * commit-gate process's CPU in a profile of `bench:scale --cascade` (the time already made the
 * key differ from the last staging's).
 */
export function stagingKey(table: string, slice: string): string {
  return `staging/${table}/${slice}/${Date.now()}-${randomUUID().slice(0, 18)}.ndjson`;
}

/**
 * What a slice's rows say, apart from when they were made: a digest of the values of the
 * table's columns in each row, the TIMESTAMP columns left out (`processed_at`, a prediction's
 * time: processing metadata), in a stable order. Two stagings of the same input have the same
 * one; a commit whose digest differs from the slice's last one changed what its downstream was
 * computed from.
 *
 * Each row is one array of values in the table's column order. Until 2026-12-06 it was the
 * row's `[name, value]` pairs, which cost 3.5 times as much (4.5 against 1.3 ms for a date of
 * player_game_summary's 46 columns) and was the largest single function of the commit-gate
 * process in a profile of `bench:scale --cascade` (5 of 95 busy seconds at 853 dates). A slice
 * last committed before that recommits as `changed` once: its downstream outside the run is
 * marked stale, which a run of it clears.
 */
export function contentHash(spec: TableSpec, rows: readonly Row[]): string {
  const names = spec.columns.filter((c) => c.type !== 'TIMESTAMP').map((c) => c.name);
  const lines = rows.map((row) => JSON.stringify(names.map((n) => row[n] ?? null))).sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return hash.digest('hex').slice(0, 16);
}

/** Rows as staged NDJSON: one JSON object per line (what a commit reads back). */
export function ndjson(rows: readonly Row[]): string {
  return ndjsonLines(rows).join('');
}

/** Each row's NDJSON line, `\n` included. */
function ndjsonLines(rows: readonly Row[]): string[] {
  const lines = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) lines[i] = `${JSON.stringify(rows[i])}\n`;
  return lines;
}

/** Bytes past a body's length in UTF-16 units its buffer starts with (`utf8Body`). */
const BODY_SLACK = 1024;

/**
 * The lines' UTF-8 bytes, encoded a line at a time into one buffer. Encoding the body as one
 * string cost three times as much: V8 first flattens the concatenated lines, and one line with
 * a character past Latin-1 (Jokić) makes the whole flat text two-byte, whose UTF-8 encoding is
 * the slow path — `Buffer.from` of the bodies `writeFile` was given took 3.4 s of the
 * commit-gate process's CPU in a profile of `bench:scale --cascade` at 853 dates (at ×1 and
 * BigQuery's caps). `chars` is the lines' length in UTF-16 units: the size of an ASCII body; the
 * buffer starts a little larger, for a few names past ASCII, so it is rarely grown.
 */
function utf8Body(lines: readonly string[], chars: number): Buffer {
  let buf = Buffer.allocUnsafe(chars + BODY_SLACK);
  let at = 0;
  for (const line of lines) {
    // A UTF-16 unit takes at most three bytes of UTF-8 (a surrogate pair, two units, takes four):
    // only a line that might not fit is measured.
    if (at + line.length * 3 > buf.length) {
      const need = at + Buffer.byteLength(line);
      if (need > buf.length) {
        const next = Buffer.allocUnsafe(Math.max(buf.length * 2, need));
        buf.copy(next, 0, 0, at);
        buf = next;
      }
    }
    at += buf.write(line, at, 'utf8');
  }
  return buf.subarray(0, at);
}

/**
 * Staged bodies being made and written at once, per object store (one per process). A phase
 * 3–5 worker runs a gathered read's jobs at once (`phaseConcurrency`: 256 by default), and each
 * job's body is its slice's rows as one string — ~175 KB for a player table's date — held until
 * its write returns. Writes to a local folder queue for libuv's four file-system threads, so at
 * 1,700 dates × 9 the commit-gate process held ~190 bodies at a time (36 MB of a 137 MB live
 * heap, in a heap snapshot of `bench:scale --cascade`), each in V8's large-object space until
 * the next full collection. Sixteen keep the file-system threads, or as many GCS uploads, busy;
 * the other jobs wait with their rows, which they hold anyway.
 */
const BODIES_AT_ONCE = 16;
const bodySlots = new WeakMap<ObjectStore, LimitFunction>();

function slotsOf(ctx: PipelineContext): LimitFunction {
  return kept(bodySlots, ctx.store, () => pLimit(BODIES_AT_ONCE));
}

/** What `map` keeps for `key`, made by `make` the first time. */
function kept<K extends object, V>(map: WeakMap<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * Where a staged body goes: inline in its pending entry when it is small enough
 * (`PHASEGATE_STAGING_INLINE_MAX_BYTES`), else an object of its own at `key()`. Small
 * slices are most of a backfill's slices (team box scores, log rows); their put, read and
 * delete were the largest part of a phase job's wall time on a local folder (libuv's four
 * file-system threads shared by every job) and are three requests per slice on GCS. The body
 * is made inside a slot (`BODIES_AT_ONCE`), so only a few exist at a time.
 */
function placeRows(ctx: PipelineContext, rows: readonly Row[], key: () => string): Promise<Pick<PendingSlice, 'object' | 'inline'>> {
  return slotsOf(ctx)(async () => {
    const lines = ndjsonLines(rows);
    let chars = 0;
    for (const line of lines) chars += line.length;
    const max = ctx.config.staging.inlineMaxBytes;
    if (chars <= max) {
      const body = lines.join('');
      if (Buffer.byteLength(body) <= max) return { object: '', inline: body };
    }
    const object = key();
    await ctx.store.put(object, utf8Body(lines, chars));
    return { object };
  });
}

/**
 * Stages a slice's rows as they are (no expectation): they are still checked for rows of
 * another slice, duplicate keys and `fatal` plausibility rules (InputError), and `warn`
 * issues are recorded on the rows.
 */
export async function stageRows(
  ctx: PipelineContext,
  def: TransformDef,
  slice: string,
  rows: readonly Row[],
  backfillId: string | undefined,
): Promise<PendingSlice> {
  return stageChecked(ctx, def, slice, checkSlice({ spec: def.table, processor: def.name, slice, rows, expectation: undefined }), backfillId);
}

/** What staging a slice came to: the check's verdict and, unless nothing was staged, the pending entry. */
export interface StagingOutcome {
  check: SliceCheck;
  entry?: PendingSlice | undefined;
}

/**
 * The phase worker's staging: checks the rows against what the slice must contain and stages
 * them, unless nothing came (`nothing`, `empty`): then nothing is staged, so the warehouse
 * keeps what it holds for the slice.
 */
export async function stageSlice(
  ctx: PipelineContext,
  def: TransformDef,
  slice: string,
  rows: readonly Row[],
  opts: {
    backfillId: string | undefined;
    expectation: SliceExpectation | undefined;
    /**
     * Adds the job's other writes of this step to the step that registers the slice: the
     * slice's `staged` status goes here, so it lands together with the registration — a commit
     * that lands the slice at once (an idle table does not wait) is never overwritten by a
     * `staged` written after it — and the end of the run (run-log.ts `endIn`).
     */
    alongside?: (step: RedisStep, check: SliceCheck, entry: PendingSlice) => Promise<void> | void;
  },
): Promise<StagingOutcome> {
  const check = checkSlice({ spec: def.table, processor: def.name, slice, rows, expectation: opts.expectation });
  if (check.outcome === 'nothing' || check.outcome === 'empty') return { check };
  const alongside = opts.alongside;
  return {
    check,
    entry: await stageChecked(ctx, def, slice, check, opts.backfillId, alongside ? (step, entry) => alongside(step, check, entry) : undefined),
  };
}

async function stageChecked(
  ctx: PipelineContext,
  def: TransformDef,
  slice: string,
  check: SliceCheck,
  backfillId: string | undefined,
  alongside?: (step: RedisStep, entry: PendingSlice) => Promise<void> | void,
): Promise<PendingSlice> {
  const table = tableId(def.table);
  const { rows } = check;
  const entry: PendingSlice = {
    ...(await placeRows(ctx, rows, () => stagingKey(table, slice))),
    rows: rows.length,
    processor: def.name,
    stagedAt: new Date().toISOString(),
    backfillId,
    units: check.units,
    ...(check.missing.length > 0 ? { missing: check.missing } : {}),
    expected: check.expected,
    ...(check.warnings > 0 ? { warnings: check.warnings } : {}),
    contentHash: contentHash(def.table, rows),
    traceparent: currentTraceparent(),
  };
  const step = new RedisStep(ctx.redis);
  const registered = ctx.gate.registerIn(step, table, slice, entry);
  await alongside?.(step, entry);
  await step.run(`staging of ${table} ${slice}`);
  const { seq, pending, previous } = registered();
  // The staging this one replaced was never taken by a commit: nothing will read it again.
  if (previous?.object && previous.object !== entry.object) await ctx.store.delete(previous.object).catch(() => undefined);
  await ensureCommitJob(ctx, table, seq, pending);
  return entry;
}

/**
 * Log tables batch harder than data tables: nobody waits on a log row, and every statement is
 * a table operation (BigQuery allows 5 per 10 s per table). A batch reads one object per
 * field, far below the 10,000 source URIs a query job's external table takes.
 */
export const LOG_COMMIT = { maxFields: 1000, gatherSeconds: 10 } as const;

/**
 * Stages rows for an append-mode (log) table: per slice in `rows`, one object registered
 * under its own pending field `<slice>#<id>` — a merge table's field is the slice itself and
 * a newer staging replaces the older, but log chunks from many jobs must all land. The
 * table's commit job lands every chunk of a batch with ONE INSERT; a log row never costs a
 * statement (or a load job) of its own.
 */
export async function stageAppendRows(ctx: PipelineContext, spec: TableSpec, processor: string, rows: readonly Row[]): Promise<number> {
  const step = new RedisStep(ctx.redis);
  const askCommit = await stageAppendRowsIn(step, ctx, spec, processor, rows);
  await step.run(`staging of ${rows.length} rows of ${tableId(spec)}`);
  await askCommit();
  return rows.length;
}

/**
 * `stageAppendRows` as part of a caller's step: the chunks register when the step runs (a chunk
 * too big to stay inline is written to the object store first). Returns what asks for their
 * commit job, to call once the step ran.
 */
export async function stageAppendRowsIn(
  step: RedisStep,
  ctx: PipelineContext,
  spec: TableSpec,
  processor: string,
  rows: readonly Row[],
): Promise<() => Promise<void>> {
  if (spec.writeMode !== 'append') throw new InputError(`${tableId(spec)} is not an append table`);
  const table = tableId(spec);
  const bySlice = new Map<string, Row[]>();
  for (const row of rows) {
    const slice = row[spec.sliceColumn];
    if (typeof slice !== 'string') throw new InputError(`${table}: a log row without ${spec.sliceColumn}`);
    const chunk = bySlice.get(slice) ?? [];
    chunk.push(row);
    bySlice.set(slice, chunk);
  }
  const registered: (() => Registered)[] = [];
  for (const [slice, chunk] of bySlice) {
    const id = randomUUID();
    const placed = await placeRows(ctx, chunk, () => `staging/${table}/${slice}/${Date.now()}-${id}.ndjson`);
    const entry: PendingSlice = { ...placed, rows: chunk.length, processor, stagedAt: new Date().toISOString() };
    registered.push(ctx.gate.registerIn(step, table, `${slice}#${id}`, entry));
  }
  return async () => {
    // The last registration saw the most pending fields (one step, in order).
    const last = registered.at(-1)?.();
    if (last) await ensureCommitJob(ctx, table, last.seq, last.pending, { fullAt: LOG_COMMIT.maxFields, gatherSeconds: LOG_COMMIT.gatherSeconds });
  };
}

/**
 * A data table's gather window, adapted to its headroom: the configured window times how much
 * of the table's caps is in use right now — the larger of the share of its table operations
 * spent in the current rate window (the commit queue's own BullMQ limiter, shared by every
 * process) and the share of its running-commit cap taken. A table far from its limits (a
 * daily run, the first date of a backfill) commits at once instead of waiting a full window;
 * a table at its rate limit cannot start a commit before its window frees, so it gathers at
 * least a full window and that commit takes more. Real milliseconds.
 */
export async function adaptiveGatherMs(ctx: PipelineContext, table: string, limits: ReturnType<typeof tableLimits>): Promise<number> {
  const queue = ctx.queues.commit(table);
  const windowMs = gatherWindowMs(ctx, limits);
  if (windowMs === 0) return 0;
  const limiter = queue.toKey('limiter');
  const res = await ctx.redis.multi().get(limiter).pttl(limiter).llen(queue.toKey('active')).exec();
  const used = Number(res?.[0]?.[1] ?? 0) || 0;
  const ttl = Number(res?.[1]?.[1] ?? 0) || 0;
  const running = Number(res?.[2]?.[1] ?? 0) || 0;
  if (used >= limits.opsMax) return Math.max(windowMs, ttl);
  const concurrency = Math.max(1, Math.min(warehouseCaps(ctx.config).runningDmlPerTable, limits.concurrency));
  const pressure = Math.min(1, Math.max(used / limits.opsMax, running / concurrency));
  return Math.round(windowMs * pressure);
}

/**
 * A raw table's gather while more of its phase's jobs are on their way: at least one window.
 * Far from its caps the table commits at once (`adaptiveGatherMs`), and at the start of a
 * backfill it is always far from them: its first statement took the one slice staged first and
 * the next took the rest of the first batch (1 + 56, then 64s, for the player box scores at 853
 * dates), so every later statement straddled two of the phase-3 waves, which start a date
 * range only when all of it has landed — the first wave of player_game_summary waited for the
 * raw table's third statement instead of its first. With the window, the burst fills the first
 * batch (a full batch starts at once). A daily run's lone job has nothing more coming and still
 * commits at once. Real milliseconds.
 */
async function burstGatherMs(ctx: PipelineContext, table: string, limits: ReturnType<typeof tableLimits>, adaptiveMs: number): Promise<number> {
  const windowMs = gatherWindowMs(ctx, limits);
  if (adaptiveMs >= windowMs) return adaptiveMs;
  const writer = writerPhase(ctx, table);
  if (writer === undefined) return adaptiveMs;
  return moreComing(await ownBacklog(ctx, writer)) ? windowMs : adaptiveMs;
}

/** The table's whole gather window (`PHASEGATE_COMMIT_GATHER_SECONDS`), real milliseconds. */
function gatherWindowMs(ctx: PipelineContext, limits: ReturnType<typeof tableLimits>): number {
  return limits.gatherSeconds > 0 ? scaledMs(ctx.config, limits.gatherSeconds) : 0;
}

/**
 * Per table, the commit sequence this process last asked a commit job for, and whether it made
 * that job start now (a full batch promotes it). Every staging until the next take sees the
 * same sequence and asks for the same job id, which BullMQ ignores after the first add (keeping
 * the first add's delay); so a repeat is skipped, saving the staging the add's round trip, the
 * adaptive gather's read and, on a table with a backlog (always full), the delayed check. Only
 * the job's own take moves the sequence on, so a job asked for has not run yet.
 */
const commitJobsAsked = new WeakMap<PipelineContext, Map<string, AskedCommit>>();

interface AskedCommit {
  seq: number;
  started: boolean;
  /** Set when the job gathers for its phase's backlog (backlog-gather.ts): the phase running dry starts it. */
  backlogPhase?: Phase | undefined;
}

/** The commits this process asked for that still gather for the phase's backlog. */
function gatheringFor(asked: Map<string, AskedCommit>, phase: Phase): [string, AskedCommit][] {
  return [...asked].filter(([, a]) => a.backlogPhase === phase && !a.started);
}

/**
 * When a phase has run dry but for the caller's own job, starts the commit jobs this process
 * delayed for that phase's backlog: no more of their slices are coming soon. Marks them started.
 */
async function startOnPhaseDrained(ctx: PipelineContext, asked: Map<string, AskedCommit>, phase: Phase, callerActive = true): Promise<void> {
  const gathering = gatheringFor(asked, phase);
  if (gathering.length === 0) return;
  if (moreComing(await ownBacklog(ctx, phase), callerActive)) return;
  const backlog = await phaseBacklog(ctx, phase);
  if (moreComing(backlog, callerActive) || backlog.upstreamBusy) return;
  for (const [table, a] of gathering) {
    a.started = true;
    const job = await ctx.queues.commit(table).getJob(commitJobId(a.seq));
    if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
  }
}

/** Phases of a process whose run-dry check (phaseJobFinished) is under way. */
const drainChecks = new WeakMap<PipelineContext, Set<Phase>>();

/** The phases whose tables gather for their backlog (backlog-gather.ts): 3–5. */
const GATHERING_PHASES = [3, 4, 5] as const satisfies readonly Phase[];

/**
 * A phase job of this process finished: if it was the last of its phase and of every phase
 * upstream, the commits gathering for the phase's backlog start — and so do those of the
 * phases downstream of it that are dry too (their partial batches waited for this one's next
 * wave). A staging checks this too, but jobs that stage together (their reads were gathered
 * into one) each see the others still running; the last to finish sees none. Dry for an
 * instant is not dry — the tracker may still be queueing the rest of the wave, and a commit
 * started then lands the wave in two statements — so the phase must still be dry one commit
 * gather window later (`PHASEGATE_COMMIT_GATHER_SECONDS`).
 *
 * The last job of a wave may run in another process than the one whose staging asked for the
 * commit (phase 3–5 workers on several machines), so what starts is every commit gathering for
 * the phase's tables, found in Redis (`delayedGathers`), not only this process's.
 */
export function phaseJobFinished(ctx: PipelineContext, phase: Phase): Promise<void> {
  // Jobs that end in one turn of the event loop (their replies came in one read) share one
  // check, made after that turn: it sees none of them running, as the last one's would. A job
  // that ends once a check began asks for the next.
  const byPhase = kept(runDryChecks, ctx, () => new Map<Phase, Promise<void>>());
  const waiting = byPhase.get(phase);
  if (waiting) return waiting;
  const check = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
    byPhase.delete(phase);
    return startDryPhases(ctx, phase);
  });
  byPhase.set(phase, check);
  return check;
}

/** Per process and phase, the run-dry check asked for in this turn and not yet begun. */
const runDryChecks = new WeakMap<PipelineContext, Map<Phase, Promise<void>>>();

async function startDryPhases(ctx: PipelineContext, phase: Phase): Promise<void> {
  // Its phase still busy: nothing is dry there or downstream (it is upstream of those phases).
  if (moreComing(await ownBacklog(ctx, phase), false)) return;
  const loads = await pipelineLoads(ctx, 5);
  const dry = GATHERING_PHASES.filter((q) => q >= phase && isDry(backlogOf(loads, q)));
  await Promise.all(dry.map((q) => startIfDry(ctx, q)));
}

/** No job of the phase waits or runs, nor of any phase upstream: no more of its slices are coming soon. */
function isDry(backlog: Backlog): boolean {
  return !moreComing(backlog, false) && !backlog.upstreamBusy;
}

/** Starts the phase's gathering commits if it is still dry one gather window later. */
async function startIfDry(ctx: PipelineContext, phase: Phase): Promise<void> {
  const checking = kept(drainChecks, ctx, () => new Set<Phase>());
  if (checking.has(phase)) return;
  checking.add(phase);
  try {
    const asked = commitJobsAsked.get(ctx);
    const local = asked ? gatheringFor(asked, phase) : [];
    if (local.length === 0 && (await delayedGathers(ctx, phase)).length === 0) return;
    // Unref'd: a closing process does not wait for it (its commits are found by the gate anyway).
    await new Promise((r) => setTimeout(r, scaledMs(ctx.config, ctx.config.table.gatherSeconds)).unref());
    if (!isDry(await phaseBacklog(ctx, phase))) return;
    for (const [, a] of local) a.started = true;
    for (const job of await delayedGathers(ctx, phase)) await job.promote().catch(() => undefined);
  } finally {
    checking.delete(phase);
  }
}

/**
 * The commit jobs of the phase's tables still waiting out a gather, in any process: a table's
 * `c<seq>` job, delayed, on its first attempt. A retry waiting out its backoff and the wake-up
 * of held slices (`h<due>`, hold.ts) are not gathers and are left alone.
 */
async function delayedGathers(ctx: PipelineContext, phase: Phase) {
  const tables = ctx.registry.gatedTables().filter((t) => downstreamPhase(ctx, t) === phase);
  const delayed = await Promise.all(tables.map((t) => ctx.queues.commit(t).getDelayed()));
  return delayed.flat().filter((job) => job.name === JOB_NAMES.commit && isCommitJobId(job.id) && job.attemptsMade === 0);
}

/**
 * Makes sure a commit job will take the table's pending slices. Its id comes from the
 * table's commit sequence, so every phase job staging before the commit takes its batch
 * lands in the same job (BullMQ ignores a duplicate id). The job waits a gather window so a
 * burst of phase jobs becomes one statement — for a data table the window adapts to the
 * table's headroom (`adaptiveGatherMs`), and a phase 3–5 table's grows to
 * `backlogGatherSeconds` while its phase has jobs waiting or running (backlog-gather.ts); a log
 * table passes its own fixed one — and a full batch, or the phase running dry, starts it at once.
 */
export async function ensureCommitJob(
  ctx: PipelineContext,
  table: string,
  seq: number,
  pending: number,
  opts: { fullAt?: number; gatherSeconds?: number } = {},
): Promise<void> {
  const limits = tableLimits(ctx.config, table);
  const full = pending >= (opts.fullAt ?? limits.commitMaxSlices);
  const asked = kept(commitJobsAsked, ctx, () => new Map<string, AskedCommit>());
  const last = asked.get(table);
  const phase = opts.gatherSeconds === undefined ? downstreamPhase(ctx, table) : undefined;
  if (last?.seq === seq && (last.started || !full)) {
    if (phase !== undefined) await startOnPhaseDrained(ctx, asked, phase);
    return;
  }
  const queue = ctx.queues.commit(table);
  const jobId = commitJobId(seq);
  let gatherMs = full ? 0 : opts.gatherSeconds !== undefined ? scaledMs(ctx.config, opts.gatherSeconds) : await adaptiveGatherMs(ctx, table, limits);
  if (!full && opts.gatherSeconds === undefined && phase === undefined) gatherMs = await burstGatherMs(ctx, table, limits, gatherMs);
  let backlogPhase: Phase | undefined;
  if (!full && phase !== undefined && (limits.backlogGatherSeconds > 0 || limits.upstreamGatherSeconds > 0)) {
    const backlog = await phaseBacklog(ctx, phase);
    const own = limits.backlogGatherSeconds > 0 && moreComing(backlog);
    const upstream = limits.upstreamGatherSeconds > 0 && backlog.upstreamBusy;
    if (own) gatherMs = Math.max(gatherMs, scaledMs(ctx.config, limits.backlogGatherSeconds));
    if (upstream) gatherMs = Math.max(gatherMs, scaledMs(ctx.config, limits.upstreamGatherSeconds));
    if (own || upstream) backlogPhase = phase;
  }
  const job = await queue.add(
    JOB_NAMES.commit,
    { table },
    {
      jobId,
      delay: gatherMs,
      // A transient failure (backend error, reset connection) is retried with jitter, so many
      // tables' commits failing together do not all come back at the same instant.
      backoff: { type: 'exponential', delay: scaledMs(ctx.config, QUEUE_DEFAULTS.commitJob.backoffSeconds), jitter: QUEUE_DEFAULTS.commitJob.backoffJitter },
    },
  );
  if (full && (await job.isDelayed())) await job.promote().catch(() => undefined);
  asked.set(table, { seq, started: full || (last?.seq === seq && last.started), backlogPhase });
  // This staging may be the last of its phase's wave: the other tables gathering for it need not wait.
  if (phase !== undefined && backlogPhase === undefined) await startOnPhaseDrained(ctx, asked, phase);
}
