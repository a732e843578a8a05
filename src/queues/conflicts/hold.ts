/**
 * The conflict path's decisions: which slices of a batch still have rows in BigQuery's
 * streaming buffer, how long each waits, when one is deferred, and the one command that
 * brings deferred ones back.
 *
 * How a held slice waits: it goes back to the table's pending hash with a due time in the
 * gate's hold set (see `TableGateStore.hold`), which the take script skips until due, and a
 * delayed commit job (`h<due ms>`) is queued for that time. Nothing lives only in a job's
 * data or a process's memory: a SIGKILL at any point leaves each slice either in a taken
 * batch (its job is re-run by BullMQ's stalled check and re-reads the batch) or pending
 * (held or not), and the commit is an idempotent MERGE.
 */
import { createHash } from 'node:crypto';
import { scaledMs } from '../../config/load-config.ts';
import { InputError } from '../../errors/input-error.ts';
import { log } from '../../log.ts';
import type { TableSpec } from '../../processors/types.ts';
import { deleteMany } from '../../storage/delete-many.ts';
import type { ResolutionMethod } from '../../tables/streaming-conflict-log.ts';
import type { BufferedSlices } from '../../warehouse/types.ts';
import { conflictDelaySeconds, conflictMaxRetries, conflictWaitSeconds } from '../commit/backoff.ts';
import { ensureCommitJob } from '../commit/staging.ts';
import type { TakenBatch } from '../commit/table-gate.ts';
import type { PipelineContext } from '../context.ts';
import { QUEUE_DEFAULTS } from '../defaults.ts';
import { backfillScope, settleDownstream } from '../events/settle.ts';
import { heldCommitJobId, JOB_NAMES } from '../names.ts';
import { announceFinishedBackfills } from '../runs/finished.ts';
import { type ConflictEvent, type ConflictLogRow, logConflicts } from './log.ts';

/** The column a row's processing time is read from: the warehouse's own (the commit worker reads it here). */
export { PROCESSED_AT } from '../../warehouse/buffered-slices.ts';

/** What the conflict path keeps about a held slice, in the gate's hold-info hash. */
export interface HoldInfo {
  /** The conflict's id, `conflict_id` in the log: the same for all its tries. */
  conflictId: string;
  processor: string;
  /** Tries that met the streaming buffer so far. */
  attempts: number;
  firstAt: string;
  /** Start of the current wait: the first conflict, or the last time a person retried it. */
  waitStartedAt: string;
  nextTryAt?: string | undefined;
  /** Set while the slice is deferred. */
  deferredAt?: string | undefined;
  /** A person brought it back (`retry --deferred`, or a re-run after it was deferred). */
  manual?: boolean | undefined;
  lastError?: string | undefined;
}

export function parseHoldInfo(json: string | undefined): HoldInfo | undefined {
  return json ? (JSON.parse(json) as HoldInfo) : undefined;
}

/** The notes on a batch's fields, for the ones that have any (slices that conflicted before). */
export async function holdInfos(ctx: PipelineContext, table: string, fields: readonly string[]): Promise<Map<string, HoldInfo>> {
  const raw = await ctx.gate.holdInfo(table, fields);
  const out = new Map<string, HoldInfo>();
  fields.forEach((f, i) => {
    const info = parseHoldInfo(raw[i]);
    if (info) out.set(f, info);
  });
  return out;
}

/**
 * A conflict's id, derived from what met it first, so a commit job re-run after a crash logs
 * the same conflict (and its rows dedupe on the log's key) instead of inventing another.
 */
export function conflictIdFor(table: string, slice: string, jobId: string): string {
  return `cf-${createHash('sha256').update(`${table}|${slice}|${jobId}`).digest('hex').slice(0, 20)}`;
}

/** The status text of a held slice (the benchmark and people read it). */
export function waitingText(nextTryAt: string): string {
  return `waiting: streaming buffer, next try at ${nextTryAt}`;
}

/**
 * Which of `slices` sit in partitions that still hold streamed rows, as the warehouse's
 * streaming-buffer capability says (none for a warehouse without one); the slack is the
 * configured one on the run's clock.
 */
export async function findBuffered(ctx: PipelineContext, spec: TableSpec, slices: readonly string[]): Promise<BufferedSlices> {
  if (slices.length === 0) return { slices: [] };
  const buffer = (await ctx.warehouse()).capabilities.streamingBuffer;
  if (!buffer) return { slices: [] };
  return buffer.bufferedSlices(spec, slices, scaledMs(ctx.config, ctx.config.conflict.processedAtSlackSeconds));
}

/**
 * Queues the commit job that takes held slices when they come due. Its id is the due time,
 * so every commit that sees the same earliest hold asks for the same job.
 */
export async function ensureHeldCommitJob(ctx: PipelineContext, table: string, dueMs: number, callerJobId?: string, now = Date.now()): Promise<void> {
  let jobId = heldCommitJobId(dueMs);
  // The held job itself ran a moment early (clock skew): ask for another one, not itself.
  if (jobId === callerJobId) jobId = `${jobId}-${now}`;
  await ctx.queues.commit(table).add(
    JOB_NAMES.commit,
    { table },
    {
      jobId,
      delay: Math.max(0, Math.round(dueMs) - now),
      backoff: { type: 'exponential', delay: scaledMs(ctx.config, QUEUE_DEFAULTS.commitJob.backoffSeconds), jitter: QUEUE_DEFAULTS.commitJob.backoffJitter },
    },
  );
}

export interface HoldRequest {
  table: string;
  spec: TableSpec;
  batch: TakenBatch;
  /** Fields of the batch to hold back. */
  fields: readonly string[];
  infos: ReadonlyMap<string, HoldInfo>;
  jobId: string;
  batchId: string;
  /** BigQuery's text (from the refused MERGE), or what the check before the MERGE found. */
  error: string;
  /** `merge`: a MERGE was refused; `check`: a retry found its partition still buffered before trying. */
  detected: 'merge' | 'check';
  oldestEntryTime?: Date | undefined;
}

export interface HoldOutcome {
  waiting: { field: string; nextTryAt: string }[];
  deferred: string[];
  /** The batch without the held fields: what the commit goes on with. */
  batch: TakenBatch;
}

/**
 * Holds the given fields back: each waits 5, 10, 20, 20… min (jittered, scaled) after its
 * n-th conflict — or less, right after the buffer's oldest entry is due to flush when that
 * comes first (`conflictWaitSeconds`) — or, once the next wait would pass the maximum wait, is deferred: kept
 * pending but never taken until a person retries it. Every try is a conflict-log row.
 */
export async function holdConflicting(ctx: PipelineContext, req: HoldRequest, now = Date.now(), random: () => number = Math.random): Promise<HoldOutcome> {
  const timing = ctx.config.conflict;
  const maxRetries = conflictMaxRetries(timing);
  const nowIso = new Date(now).toISOString();
  const held: { field: string; dueMs: number; info: string }[] = [];
  const rows: ConflictLogRow[] = [];
  const events: ConflictEvent[] = [];
  const outcome: HoldOutcome = { waiting: [], deferred: [], batch: req.batch };
  // When the buffer's oldest entry is expected to flush, in BigQuery seconds from now.
  const flushIn = req.oldestEntryTime === undefined ? undefined : ((req.oldestEntryTime.getTime() - now) / 1000) * ctx.config.timeScale + timing.bufferSeconds;
  for (const field of req.fields) {
    const entry = req.batch.entries[field];
    if (!entry) continue;
    const prev = req.infos.get(field);
    // A deferred slice that is back was brought back by a person: its wait starts again.
    const revived = prev?.deferredAt !== undefined;
    const attempts = (prev?.attempts ?? 0) + 1;
    const waitStartedAt = revived || !prev ? nowIso : prev.waitStartedAt;
    const delaySeconds = conflictWaitSeconds(timing, conflictDelaySeconds(timing, attempts, random), flushIn);
    const waitedMs = now - Date.parse(waitStartedAt);
    const defer = waitedMs + scaledMs(ctx.config, delaySeconds) > scaledMs(ctx.config, timing.maxWaitSeconds);
    const dueMs = defer ? Number.POSITIVE_INFINITY : now + scaledMs(ctx.config, delaySeconds);
    const nextTryAt = defer ? undefined : new Date(dueMs).toISOString();
    const info: HoldInfo = {
      conflictId: prev?.conflictId ?? conflictIdFor(req.table, field, req.jobId),
      processor: entry.processor,
      attempts,
      firstAt: prev?.firstAt ?? nowIso,
      waitStartedAt,
      nextTryAt,
      deferredAt: defer ? nowIso : undefined,
      manual: revived || prev?.manual,
      lastError: req.error,
    };
    const waitedMin = Math.round((waitedMs / 60_000) * ctx.config.timeScale);
    const deferText = `deferred: rows still in the streaming buffer after ${waitedMin} min and ${attempts} tries; kept, retry with: phasegate retry --deferred --table ${req.table}`;
    held.push({ field, dueMs, info: JSON.stringify(info) });
    rows.push({
      conflict_id: info.conflictId,
      timestamp: nowIso,
      processor_name: entry.processor,
      game_id: null,
      game_date: field,
      conflict_type: 'streaming_buffer',
      retry_attempt: attempts,
      max_retries: maxRetries,
      delay_seconds: defer ? null : Math.round(delaySeconds),
      resolved: false,
      resolution_time: null,
      resolution_method: defer ? 'timeout' : null,
      rows_affected: entry.rows,
      error_message: defer ? deferText : req.error,
      details: JSON.stringify({
        table: req.table,
        detected: req.detected,
        batch_id: req.batchId,
        job_id: req.jobId,
        next_try_at: nextTryAt ?? null,
        oldest_entry_time: req.oldestEntryTime?.toISOString() ?? null,
        manual: info.manual === true,
      }),
    });
    events.push({
      table: req.table,
      processor: entry.processor,
      slice: field,
      conflictId: info.conflictId,
      event: defer ? 'deferred' : 'met',
      type: 'streaming_buffer',
      attempt: attempts,
      method: defer ? 'timeout' : undefined,
      at: nowIso,
    });
    if (defer) outcome.deferred.push(field);
    else outcome.waiting.push({ field, nextTryAt: nextTryAt as string });
  }
  if (held.length === 0) return outcome;

  // Log rows and the wake-up job go first: a crash before the hold re-runs this job, which
  // meets the same conflict and logs the same rows (same ids, deduped by the log's key).
  await logConflicts(ctx, rows, []);
  const earliest = Math.min(...held.map((h) => h.dueMs));
  if (Number.isFinite(earliest)) await ensureHeldCommitJob(ctx, req.table, earliest, req.jobId, now);
  const objects = new Map(held.map((h) => [h.field, req.batch.entries[h.field]]));
  const { batch: rest, superseded } = await ctx.gate.hold(req.table, req.batch, held);
  outcome.batch = rest;
  // A newer staging of the slice is pending in its place; the held object is unused now.
  const unused = superseded.map((f) => objects.get(f)?.object).filter((o): o is string => !!o);
  await deleteMany(ctx.store, unused).catch((err: unknown) => log.warn(`${req.table}: superseded staged objects: ${(err as Error).message}`));

  for (const { field, nextTryAt } of outcome.waiting) {
    const processor = objects.get(field)?.processor as string;
    await ctx.statuses.update(processor, field, { status: 'waiting', error: waitingText(nextTryAt), nextTryAt });
  }
  for (const field of outcome.deferred) {
    const processor = objects.get(field)?.processor as string;
    const row = rows.find((r) => r.game_date === field);
    await ctx.statuses.update(processor, field, { status: 'deferred', error: row?.error_message ?? 'deferred', nextTryAt: undefined });
    await settleDownstream(ctx, processor, field, await backfillScope(ctx, objects.get(field)?.backfillId));
  }
  await logConflicts(ctx, [], events);
  // A deferred slice is final, so its run may have ended with it: the commit announces only
  // the runs of what it landed, and without this a run whose last slice is deferred never ends.
  await announceFinishedBackfills(
    ctx,
    outcome.deferred.map((f) => objects.get(f)?.backfillId),
  );
  if (outcome.deferred.length > 0) {
    const list = outcome.deferred.join(', ');
    log.warn(`${req.table}: deferred ${outcome.deferred.length} slices still in the streaming buffer: ${list}`);
    await ctx.notifier.notify({
      kind: 'slices-deferred',
      subject: req.table,
      title: `${outcome.deferred.length} slice(s) of ${req.table} deferred (streaming buffer)`,
      text:
        `${list} still had rows in BigQuery's streaming buffer after the maximum wait. ` +
        `They are kept (status \`deferred\`), not dropped.\nRetry: \`phasegate retry --deferred --table ${req.table}\``,
    });
  }
  return outcome;
}

/** Logs the end of each conflict among committed fields: resolved by the retry or by a person. */
export async function resolveConflicts(
  ctx: PipelineContext,
  table: string,
  batch: TakenBatch,
  infos: ReadonlyMap<string, HoldInfo>,
  now = Date.now(),
): Promise<number> {
  const nowIso = new Date(now).toISOString();
  const rows: ConflictLogRow[] = [];
  const events: ConflictEvent[] = [];
  for (const field of batch.slices) {
    const info = infos.get(field);
    const entry = batch.entries[field];
    if (!info || !entry) continue;
    const method: ResolutionMethod = info.manual || info.deferredAt ? 'manual' : 'auto_retry';
    rows.push({
      conflict_id: info.conflictId,
      timestamp: nowIso,
      processor_name: info.processor,
      game_id: null,
      game_date: field,
      conflict_type: 'streaming_buffer',
      retry_attempt: info.attempts,
      max_retries: conflictMaxRetries(ctx.config.conflict),
      delay_seconds: null,
      resolved: true,
      resolution_time: nowIso,
      resolution_method: method,
      rows_affected: entry.rows,
      error_message: null,
      details: JSON.stringify({ table, batch_id: batch.jobId, first_at: info.firstAt, waited_ms: now - Date.parse(info.firstAt) }),
    });
    events.push({
      table,
      processor: info.processor,
      slice: field,
      conflictId: info.conflictId,
      event: 'resolved',
      type: 'streaming_buffer',
      attempt: info.attempts,
      method,
      at: nowIso,
    });
  }
  await logConflicts(ctx, rows, events);
  return rows.length;
}

export interface RetryDeferredResult {
  table: string;
  /** Slices made due now. */
  slices: string[];
}

/**
 * `phasegate retry --deferred`: makes the deferred slices of one table (or every table) due
 * now and queues a commit for them. Their staged rows were kept, so nothing is re-run; a
 * slice whose partition is still buffered is held again with a fresh wait.
 */
export async function retryDeferred(
  ctx: PipelineContext,
  opts: { table?: string | undefined; slices?: readonly string[] | undefined } = {},
): Promise<RetryDeferredResult[]> {
  const mergeTables = ctx.registry.gatedTables().filter((t) => !ctx.registry.isLogTable(t));
  if (opts.table !== undefined && !mergeTables.includes(opts.table)) {
    throw new InputError(`--table: "${opts.table}" is not a table phasegate commits to (known: ${mergeTables.join(', ')})`);
  }
  const out: RetryDeferredResult[] = [];
  for (const table of opts.table ? [opts.table] : mergeTables) {
    const slices = await ctx.gate.unpark(table, opts.slices ?? []);
    if (slices.length === 0) continue;
    const infos = await holdInfos(ctx, table, slices);
    const pending = await ctx.gate.pending(table);
    for (const slice of slices) {
      const processor = infos.get(slice)?.processor ?? pending.get(slice)?.processor;
      if (processor)
        await ctx.statuses.update(processor, slice, {
          status: 'waiting',
          error: 'waiting: retry requested, committing now',
          nextTryAt: new Date().toISOString(),
        });
    }
    await ensureCommitJob(ctx, table, await ctx.gate.currentSeq(table), 1, { fullAt: 1 });
    log.info(`${table}: ${slices.length} deferred slices made due now: ${slices.join(', ')}`);
    out.push({ table, slices });
  }
  return out;
}
