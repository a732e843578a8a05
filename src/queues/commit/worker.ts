/**
 * The table gate's commit job: takes every pending slice of one table (up to the batch
 * limits) and lands them with ONE statement. A slice counts as committed only once that
 * statement succeeded. The queue's global concurrency and rate limit are the table's caps.
 *
 * What can go wrong, and what happens:
 * - streaming-buffer conflict (rows some other writer streamed): the slices still in the
 *   buffer are held back with exponential backoff (conflict-hold.ts), the rest commit at once
 *   in one statement; every try is a conflict-log row; the table's breaker hears of it.
 * - busy (DML queue full, rate limit, concurrent update): the job waits with backoff and
 *   jitter without using up an attempt; a full DML queue drops the table to one commit at a
 *   time for a while (commit-throttle.ts).
 * - transient (backend error, reset connection): retried by BullMQ with jittered backoff,
 *   counting attempts; permanent, or out of attempts: the slices fail with the reason.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import { scaledMs, tableLimits } from '../../config/load-config.ts';
import { busyCause, classifyWarehouseError } from '../../errors/classify.ts';
import { IntegrityGuardError } from '../../errors/integrity-guard-error.ts';
import { PermanentError } from '../../errors/permanent-error.ts';
import type { WarehouseError } from '../../errors/warehouse-error.ts';
import type { SliceVerdict } from '../../integrity/holdings.ts';
import { describeMissing } from '../../integrity/slice-check.ts';
import type { TableWriteKind } from '../../limits/bigquery.ts';
import { log } from '../../log.ts';
import type { Phase, TableSpec } from '../../processors/types.ts';
import { RedisStep } from '../../redis/step.ts';
import { deleteMany } from '../../storage/delete-many.ts';
import { bullmqTelemetry, committedSpan, describeActive, recordError } from '../../telemetry/tracing.ts';
import { warehouseCaps } from '../../warehouse/index.ts';
import type { CommitBatch, CommitResult } from '../../warehouse/types.ts';
import { type Admission, admitCommit, recordCommit, releaseProbe } from '../conflicts/breaker.ts';
import {
  ensureHeldCommitJob,
  findBuffered,
  type HoldInfo,
  holdConflicting,
  holdInfos,
  PROCESSED_AT,
  resolveConflicts,
  waitingText,
} from '../conflicts/hold.ts';
import type { PipelineContext } from '../context.ts';
import { QUEUE_DEFAULTS, workerLockOptions } from '../defaults.ts';
import { backfillScope, settleDownstream } from '../events/settle.ts';
import { type CommittedEvent, publishCommittedIn, streamCapFrom } from '../events/stream.ts';
import { type CommitJobData, commitQueueName } from '../names.ts';
import { deploymentId } from '../redis-epoch.ts';
import { announceFinishedBackfills } from '../runs/finished.ts';
import type { LastCommit } from '../status-store.ts';
import { logWorkerErrors } from '../worker-errors.ts';
import { downstreamPhase } from './backlog-gather.ts';
import { busyDelayMs } from './backoff.ts';
import { ensureTableOnce } from './ensure-table.ts';
import { batchMoves, gateIntegrity, guardable, guardedSlices, type SliceMove } from './integrity.ts';
import { placeWindowMs } from './ops-window.ts';
import { keepStaged, stagedObjectKeys, stagedObjects } from './staged-objects.ts';
import { ensureCommitJob, LOG_COMMIT, phaseJobFinished } from './staging.ts';
import { sweepStaging } from './staging-sweep.ts';
import { TableGateStore, type TakenBatch } from './table-gate.ts';
import { noteBusy, noteSuccess, reapplyThrottle } from './throttle.ts';

export { backoffMs } from './backoff.ts';

export interface CommitJobResult {
  slices: number;
  rows: number;
  rowsAffected: number;
  batchId?: string;
  /** Slices held back by a streaming-buffer conflict (waiting or deferred). */
  held?: number;
  /** Slices put back to pending because the worker closed before the statement started (GivenBack). */
  givenBack?: number;
}

async function markCommitted(
  ctx: PipelineContext,
  table: string,
  batch: TakenBatch,
  batchId: string,
  overrides: ReadonlyMap<string, SliceVerdict>,
): Promise<void> {
  const committedAt = new Date().toISOString();
  const events: CommittedEvent[] = [];
  const previous = await lastCommits(ctx, batch);
  // One status merge per slice and one event each, in one step: a 64-slice batch costs one
  // round trip, and the events land with the statuses the tracker reads when it handles them.
  const step = new RedisStep(ctx.redis);
  for (const slice of batch.slices) {
    const entry = batch.entries[slice];
    if (!entry) continue;
    // A slice missing some scheduled games landed what it has, and is never reported as plainly committed.
    const incomplete = (entry.missing?.length ?? 0) > 0;
    const notes = [entry.expected === null ? 'no schedule: the files present were the expectation' : undefined, overrides.get(slice)?.message].filter(Boolean);
    const patch = {
      status: incomplete ? 'incomplete' : 'committed',
      rows: entry.rows,
      batchId,
      committedAt,
      error: incomplete
        ? `committed ${describeMissing({ missing: entry.missing ?? [], expected: entry.expected ?? null, units: entry.units ?? {} })}`
        : undefined,
      missingGames: entry.missing,
      nothingLanded: undefined,
      warnings: entry.warnings,
      note: notes.length > 0 ? notes.join('; ') : undefined,
      nextTryAt: undefined,
      backfillId: entry.backfillId,
      contentHash: entry.contentHash,
      // Recomputed: whatever it was computed from before, it is up to date now.
      stale: undefined,
      upstream: undefined,
    } as const;
    ctx.statuses.updateIn(step, entry.processor, slice, patch);
    const last: LastCommit = { committedAt, rows: entry.rows, contentHash: entry.contentHash, backfillId: entry.backfillId };
    step.add((multi) => multi.hset(ctx.keys.lastCommitted(entry.processor), slice, JSON.stringify(last)));
    const before = previous.get(`${entry.processor}/${slice}`);
    const changed = before?.contentHash !== undefined && entry.contentHash !== undefined && before.contentHash !== entry.contentHash;
    events.push({
      type: 'committed',
      processor: entry.processor,
      table,
      slice,
      rows: entry.rows,
      batchId,
      committedAt,
      backfillId: entry.backfillId,
      ...(changed ? { changed: true } : {}),
      traceparent: committedSpan(
        { 'phasegate.processor': entry.processor, 'phasegate.table': table, 'phasegate.slice': slice, 'phasegate.rows': entry.rows },
        entry.traceparent,
      ),
    });
  }
  publishCommittedIn(step, ctx.keys, events, streamCapFrom(ctx.config));
  await step.run(`marking ${events.length} slices of ${table} committed`);
}

/** The last commit of each slice of a batch (`processor/slice` → it), read in one round trip per processor. */
async function lastCommits(ctx: PipelineContext, batch: TakenBatch): Promise<Map<string, LastCommit>> {
  const byProcessor = new Map<string, string[]>();
  for (const slice of batch.slices) {
    const entry = batch.entries[slice];
    if (entry) byProcessor.set(entry.processor, [...(byProcessor.get(entry.processor) ?? []), slice]);
  }
  const out = new Map<string, LastCommit>();
  for (const [processor, slices] of byProcessor) {
    const raws = await ctx.redis.hmget(ctx.keys.lastCommitted(processor), ...slices);
    raws.forEach((raw, i) => {
      if (raw) out.set(`${processor}/${slices[i]}`, JSON.parse(raw) as LastCommit);
    });
  }
  return out;
}

/**
 * Counts one write of the table today. Only a write BigQuery counts as a table modification
 * (a load, copy or query-append job) spends the daily budget, and over it fails as BigQuery
 * would; DML does not — "DML statements don't count toward the number of table modifications
 * per day" (cloud.google.com/bigquery/quotas; limits.ts) — so a table's group commits, MERGEs
 * and INSERTs over a temporary external table, never run out in a UTC day.
 */
async function spendTableOp(ctx: PipelineContext, table: string, kind: TableWriteKind): Promise<void> {
  const modification = (await ctx.warehouse()).capabilities.countsAsDailyModification(kind);
  const today = await ctx.gate.countTableOp(table, modification);
  if (!modification) return;
  const budget = tableLimits(ctx.config, table).dailyBudget;
  if (today > budget) {
    throw new PermanentError(`phasegate: table ${table} used its daily budget of ${budget} table modifications`, { reason: 'quotaExceeded', table });
  }
}

/** Every group commit is one DML statement: a MERGE, or an INSERT … SELECT for log tables. */
const COMMIT_WRITE: TableWriteKind = 'dml';

/**
 * Waits for a place in the table's rate window, then returns: call it last before the statement.
 * BullMQ's rate limiter, which starts commit jobs, counts in fixed windows — it lets a window's
 * last starts and the next window's first ones through together, up to twice its cap in one
 * stretch of a window — and a job's statement follows its start by its reads and its batch. The
 * place is taken in BigQuery's own terms: at most `opsMax` statements started in the window
 * before this one (sliding), in Redis for every process.
 */
export async function waitForOpsSlot(ctx: PipelineContext, table: string, statement: string, signal?: AbortSignal): Promise<void> {
  const limits = tableLimits(ctx.config, table);
  const window = { max: limits.opsMax, windowMs: placeWindowMs(scaledMs(ctx.config, limits.opsWindowSeconds)) };
  // Unique per statement run: a job may run the same statement again (a MERGE refused by the
  // streaming buffer, found flushed, is tried once more over the same slices), and a member
  // taken twice would count once.
  const member = `${statement}#${randomUUID()}`;
  for (;;) {
    // A worker closing gives the batch back rather than wait out the window (GivenBack).
    if (signal?.aborted) throw new GivenBack(table, signal.reason);
    const waitMs = await ctx.gate.takeOpsSlot(table, window, member);
    if (waitMs === 0) {
      // The statement starts now, not when the request left: not waited for, it only has to
      // land before a window has passed.
      void ctx.gate
        .restampOpsSlot(table, member, Date.now())
        .catch((err: unknown) => log.warn(`${table}: restamping its rate-window place: ${(err as Error).message}`));
      return;
    }
    // Cut short when the signal aborts: the loop's first line then gives the batch back.
    await sleep(waitMs, undefined, { signal }).catch((err: unknown) => {
      if (!signal?.aborted) throw err;
    });
  }
}

/**
 * A commit's statement that had not started when its worker was told to stop (the job's
 * signal: the runtime's close cancels its gates' jobs): it was waiting for its place in the
 * table's rate window — up to one window, 10 s of BigQuery's clock — and gives its batch back
 * instead, so a closing worker does not hold its close for it. Nothing ran: the slices are
 * pending again and the next gate to start lands them. A statement already sent is waited for.
 */
class GivenBack extends Error {
  constructor(table: string, reason: unknown) {
    super(`${table}: statement not started (${String(reason ?? 'cancelled')}); its batch is given back`);
  }
}

/**
 * Puts a batch whose statement never started back to pending (a newer staging of a slice, made
 * meanwhile, stays) and asks for a commit of it: its commit job ends without landing it (GivenBack).
 */
async function giveBack(ctx: PipelineContext, table: string, batch: TakenBatch, why: GivenBack, batchId: string): Promise<CommitJobResult> {
  await ctx.gate.putBack(table, batch, batch.slices);
  await commitReady(ctx, table, (await ctx.gate.held(table)).length);
  log.info(`${why.message}: ${batch.slices.length} slices pending again`);
  return { slices: 0, rows: 0, rowsAffected: 0, batchId, givenBack: batch.slices.length };
}

/** A group commit's statement, once it has its place in the table's rate window. */
async function landStatement(ctx: PipelineContext, table: string, statement: CommitBatch, signal: AbortSignal | undefined): Promise<CommitResult> {
  const warehouse = await ctx.warehouse();
  // Nothing awaited between the place and the statement.
  await waitForOpsSlot(ctx, table, statement.batchId, signal);
  return warehouse.commit(statement);
}

/**
 * The warehouse's batch id for a set of fields: the job attempt plus a hash of the fields, so
 * the statement after a split (fewer slices) gets its own BigQuery job id, while a re-run of
 * the same job over the same fields reuses it (and cannot run the statement twice). A guarded
 * statement (`CommitBatch.guard`) is another statement: the unguarded one after its guard
 * trips, over the same fields, must not meet its id (BigQuery's 409 adoption would find other
 * SQL under it and refuse the commit for good).
 */
export async function statementId(ctx: PipelineContext, table: string, batchId: string, fields: readonly string[], guarded = false): Promise<string> {
  const hash = createHash('sha256').update(fields.join(',')).digest('hex').slice(0, 10);
  // The prefix and the deployment's id make a job id unique across pipelines sharing datasets
  // and across a Redis wipe, where batch ids start again (BigQuery would answer 409 with the
  // earlier job's statement and the commit would fail for good).
  // BigQuery job ids take letters, digits, _ and - only: a cluster prefix's hash-tag braces go.
  return `${ctx.config.prefix.replace(/[{}]/g, '')}-${await deploymentId(ctx.redis, ctx.keys)}-${table}-${batchId}${guarded ? '-g' : ''}-${hash}`;
}

function describe(table: string, fields: readonly string[]): string {
  return `commit of ${fields.length} slices (${fields[0]}…${fields.at(-1)}) to ${table}`;
}

/**
 * A landed batch's staged objects, a few at a time (up to 1,000 for a log batch; see
 * delete-many.ts). A failed delete only leaves an object behind for the bucket's lifecycle
 * rule on `staging/` (README, "Running on BigQuery").
 */
async function deleteStaged(ctx: PipelineContext, table: string, batch: TakenBatch): Promise<void> {
  const objects = stagedObjectKeys(table, batch);
  await deleteMany(ctx.store, objects).catch((err: unknown) => log.warn(`${table}: staged objects left for the lifecycle rule: ${(err as Error).message}`));
}

/** Releases the batch; queues a commit at once if slices were re-staged while it was in flight. */
async function releaseBatch(ctx: PipelineContext, table: string, batch: TakenBatch): Promise<void> {
  const ready = await ctx.gate.release(table, batch);
  if (ready > 0) await ensureCommitJob(ctx, table, await ctx.gate.currentSeq(table), ready);
}

/**
 * A failure other than a conflict. Busy: wait with backoff (not an attempt). Transient:
 * BullMQ retries with jittered backoff, counting attempts. Permanent or out of attempts: the
 * slices fail with a reason a person can read, and the batch is released.
 */
async function failOrDelay(
  ctx: PipelineContext,
  job: Job<CommitJobData>,
  token: string | undefined,
  table: string,
  batch: TakenBatch,
  err: WarehouseError,
): Promise<never> {
  const append = ctx.registry.isLogTable(table);
  const reason = `${describe(table, batch.slices)}: ${err.message}`;
  const outOfAttempts = err.kind === 'transient' && job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  if (err.kind === 'permanent' || outOfAttempts) {
    if (!append) {
      for (const slice of batch.slices) {
        const entry = batch.entries[slice];
        if (!entry) continue;
        await ctx.statuses.update(entry.processor, slice, { status: 'failed', error: reason, nextTryAt: undefined });
        await settleDownstream(ctx, entry.processor, slice, await backfillScope(ctx, entry.backfillId));
      }
    }
    // A log batch that cannot land keeps its staged objects for a person to look at, inline rows written out too.
    const kept = append ? await keepStaged(ctx, table, batch).catch(() => stagedObjectKeys(table, batch)) : [];
    await ctx.gate.release(table, batch);
    log.error(append ? `${reason} (staged objects kept: ${kept.join(', ')})` : reason);
    if (!append)
      await announceFinishedBackfills(
        ctx,
        Object.values(batch.entries).map((e) => e.backfillId),
      );
    throw new UnrecoverableError(reason);
  }
  let delay: number | undefined;
  if (err.kind === 'busy') {
    const cause = busyCause(err);
    const streak = await noteBusy(ctx, table, cause);
    delay = busyDelayMs(ctx.config, cause, streak);
  }
  if (!append) {
    const nextTryAt = new Date(Date.now() + (delay ?? 0)).toISOString();
    const what = err.kind === 'busy' ? `table busy (${busyCause(err)})` : 'transient error';
    for (const slice of batch.slices) {
      const entry = batch.entries[slice];
      if (entry)
        await ctx.statuses.update(entry.processor, slice, {
          status: 'waiting',
          error: `waiting: ${what}: ${err.message}`,
          nextTryAt: delay !== undefined ? nextTryAt : undefined,
        });
    }
  }
  log.warn(`${reason} — ${err.kind}${delay !== undefined ? `, next try in ${delay} ms` : ', BullMQ retries it'}`);
  if (err.kind === 'transient' || delay === undefined) throw err;
  // Delaying the job (instead of failing it) does not use up its attempts: a busy table is not a failure.
  await job.moveToDelayed(Date.now() + delay, token);
  throw new DelayedError();
}

/** Log tables: append-only, never in the streaming buffer's way; one INSERT for every chunk taken. */
async function commitAppend(
  ctx: PipelineContext,
  job: Job<CommitJobData>,
  token: string | undefined,
  table: string,
  spec: TableSpec,
  batch: TakenBatch,
  signal: AbortSignal | undefined,
): Promise<CommitJobResult> {
  const batchId = `${job.id ?? 'unknown'}-a${job.attemptsMade}`;
  const rows = Object.values(batch.entries).reduce((n, e) => n + e.rows, 0);
  let result: CommitResult;
  try {
    // First: a log batch that cannot land keeps its rows as objects, inline ones too.
    const objects = await stagedObjects(ctx, table, batch);
    await ensureTableOnce(ctx, spec, () => waitForOpsSlot(ctx, table, `${batchId}-ddl`, signal));
    await spendTableOp(ctx, table, COMMIT_WRITE);
    result = await landStatement(
      ctx,
      table,
      {
        batchId: await statementId(ctx, table, batchId, batch.slices),
        table: spec,
        // Many chunks per date: the statement's slices are the distinct dates.
        slices: TableGateStore.slicesOf(batch),
        objects,
      },
      signal,
    );
  } catch (thrown) {
    if (thrown instanceof GivenBack) return giveBack(ctx, table, batch, thrown, batchId);
    return failOrDelay(ctx, job, token, table, batch, classifyWarehouseError(thrown, table));
  }
  await releaseBatch(ctx, table, batch);
  await deleteStaged(ctx, table, batch);
  log.debug(`logged ${rows} rows from ${batch.slices.length} chunks to ${table} (one statement)`);
  return { slices: batch.slices.length, rows, rowsAffected: result.rowsAffected, batchId };
}

interface MergeState {
  /** A MERGE ran (so the breaker has a verdict to hear). */
  tried: boolean;
  /** Some MERGE of this job met the streaming buffer. */
  metConflict: boolean;
  held: number;
  /**
   * The breaker's share: slices of the batch not held before (a retry of a held slice counts
   * neither way), and how many of them the buffer held back — found by the read before the
   * MERGE or by a refused MERGE.
   */
  mergeSlices: number;
  mergeHeld: number;
}

/**
 * An open breaker stops the retries of held slices, not the table: slices of the batch that
 * the streaming buffer held back before go back on hold, untouched (no MERGE, no read, no
 * conflict-log row), until the breaker lets retries through again; the rest of the batch
 * commits as usual. A slice a person brought back (`retry --deferred`) is not held.
 */
async function holdRetriesWhileOpen(
  ctx: PipelineContext,
  table: string,
  batch: TakenBatch,
  infos: Map<string, HoldInfo>,
  admission: Admission,
  jobId: string,
): Promise<{ held: number; batch: TakenBatch }> {
  if (admission.retries || admission.holdUntilMs === undefined) return { held: 0, batch };
  const until = admission.holdUntilMs;
  const fields = batch.slices.filter((f) => {
    const info = infos.get(f);
    return info !== undefined && info.deferredAt === undefined;
  });
  if (fields.length === 0) return { held: 0, batch };
  const nextTryAt = new Date(until).toISOString();
  await ensureHeldCommitJob(ctx, table, until, jobId);
  const objects = new Map(fields.map((f) => [f, batch.entries[f]]));
  const { batch: rest, superseded } = await ctx.gate.hold(
    table,
    batch,
    fields.map((field) => ({ field, dueMs: until, info: JSON.stringify({ ...infos.get(field), nextTryAt }) })),
  );
  for (const f of fields) infos.delete(f);
  const unused = superseded.map((f) => objects.get(f)?.object).filter((o): o is string => !!o);
  await deleteMany(ctx.store, unused).catch((err: unknown) => log.warn(`${table}: superseded staged objects: ${(err as Error).message}`));
  for (const field of fields) {
    const processor = objects.get(field)?.processor;
    if (processor)
      await ctx.statuses.update(processor, field, {
        status: 'waiting',
        error: `${waitingText(nextTryAt)} (the table's circuit breaker is ${admission.state}: retries of held slices wait, clean slices keep landing)`,
        nextTryAt,
      });
  }
  log.info(
    `${table}: circuit breaker ${admission.state}: ${fields.length} held slices stay held until ${nextTryAt}; ${rest.slices.length} clean slices commit`,
  );
  return { held: fields.length, batch: rest };
}

/**
 * Merge tables: slices that conflicted before are first checked (a read) and held again
 * while their partitions are still buffered; the rest go in ONE MERGE. If the MERGE meets
 * the buffer anyway, the buffered slices are found and held, and the others land in one
 * more statement. At most two refused MERGEs per job: after a second, everything left waits.
 */
async function commitMerge(
  ctx: PipelineContext,
  job: Job<CommitJobData>,
  token: string | undefined,
  table: string,
  spec: TableSpec,
  taken: TakenBatch,
  admission: Admission,
  signal: AbortSignal | undefined,
): Promise<CommitJobResult> {
  const jobId = job.id ?? 'unknown';
  // What the commit lands: each step that takes slices out (held, refused) hands back the rest.
  let batch = taken;
  const batchId = `${jobId}-a${job.attemptsMade}`;
  const infos: Map<string, HoldInfo> = await holdInfos(ctx, table, batch.slices);
  const state: MergeState = { tried: false, metConflict: false, held: 0, mergeSlices: 0, mergeHeld: 0 };
  const hold = async (fields: readonly string[], error: string, detected: 'merge' | 'check', oldestEntryTime?: Date) => {
    const outcome = await holdConflicting(ctx, { table, spec, batch, fields, infos, jobId, batchId, error, detected, oldestEntryTime });
    batch = outcome.batch;
    const held = outcome.waiting.length + outcome.deferred.length;
    state.held += held;
    state.mergeHeld += fields.filter((f) => fresh.has(f)).length;
  };
  const whileOpen = await holdRetriesWhileOpen(ctx, table, batch, infos, admission, jobId);
  state.held += whileOpen.held;
  batch = whileOpen.batch;
  // Slices met for the first time: what the breaker judges this commit by (a half-open probe
  // is judged by everything it tries: its retries are the question).
  const fresh = new Set(batch.slices.filter((f) => admission.probe || !infos.has(f)));
  state.mergeSlices = fresh.size;
  const probe = admission.probe;
  let result: CommitResult = { rowsAffected: 0, rowsStaged: 0 };
  let overrides: ReadonlyMap<string, SliceVerdict> = new Map();
  let moves: ReadonlyMap<string, SliceMove> = new Map();
  try {
    await ensureTableOnce(ctx, spec, () => waitForOpsSlot(ctx, table, `${batchId}-ddl`, signal));
    // A slice that would shrink or move committed rows never lands. A clean batch — nearly
    // every one — is judged by its own statement (the guard: no read before it, on BigQuery no
    // second query job); a batch whose backfill allows an override, or whose guard tripped, is
    // judged here first, and the slices it refuses leave the batch.
    let guarded = await guardable(ctx, batch);
    if (!guarded) ({ overrides, moves, batch } = await gateIntegrity(ctx, table, spec, batch, jobId));
    // Ask first: a read is cheaper than a MERGE BigQuery would refuse (and the refusal would
    // count against the table's DML queue and its breaker, and make the clean slices of the
    // batch wait for a second statement). Retries always ask; on a table whose rows say when
    // they were processed, every slice does — `tables.get` answers first, and only a table
    // with a streaming buffer is queried — so a buffered date costs only itself.
    const asking = spec.columns.some((c) => c.name === PROCESSED_AT && c.type === 'TIMESTAMP') ? [...batch.slices] : batch.slices.filter((f) => infos.has(f));
    if (asking.length > 0) {
      const found = await findBuffered(ctx, spec, asking);
      if (found.slices.length > 0)
        await hold(found.slices, 'partition still holds rows in the streaming buffer (checked before the MERGE)', 'check', found.oldestEntryTime);
    }
    for (let bufferRefusals = 0; batch.slices.length > 0; ) {
      try {
        await spendTableOp(ctx, table, COMMIT_WRITE);
        state.tried = true;
        result = await landStatement(
          ctx,
          table,
          {
            batchId: await statementId(ctx, table, batchId, batch.slices, guarded),
            table: spec,
            slices: batch.slices,
            objects: await stagedObjects(ctx, table, batch),
            // Allowed moves of the slices still in the batch (held ones wait with theirs).
            ...batchMoves(moves, batch.slices),
            ...(guarded ? { guard: guardedSlices(batch) } : {}),
          },
          signal,
        );
        break;
      } catch (thrown) {
        // Not a warehouse error: nothing ran (the outer catch gives the batch back).
        if (thrown instanceof GivenBack) throw thrown;
        if (guarded && thrown instanceof IntegrityGuardError) {
          // Nothing landed: judge each slice, and the rest of the batch goes in the next statement.
          log.info(
            `${describe(table, batch.slices)}: the statement's guard refused the batch (it would shrink or move committed rows; nothing landed); judging each slice`,
          );
          guarded = false;
          ({ overrides, moves, batch } = await gateIntegrity(ctx, table, spec, batch, jobId));
          continue;
        }
        const err = classifyWarehouseError(thrown, table);
        if (err.kind !== 'conflict') throw err;
        state.metConflict = true;
        if (bufferRefusals++ === 0) {
          const found = await findBuffered(ctx, spec, batch.slices);
          // None found: the buffer flushed meanwhile (or the check missed them); the next
          // round tries the whole batch once more and holds everything if refused again.
          if (found.slices.length > 0) await hold(found.slices, err.message, 'merge', found.oldestEntryTime);
          log.info(
            `${describe(table, [...batch.slices, ...found.slices])} met the streaming buffer: ${found.slices.length} held, ${batch.slices.length} commit now`,
          );
        } else {
          await hold([...batch.slices], err.message, 'merge');
        }
      }
    }
  } catch (thrown) {
    if (thrown instanceof GivenBack) {
      // No statement ran (slices held by the check before it stay held), as after a failure.
      await breakerVerdict(ctx, table, jobId, probe, { ...state, tried: state.metConflict });
      return giveBack(ctx, table, batch, thrown, batchId);
    }
    const err = classifyWarehouseError(thrown, table);
    recordError(trace.getActiveSpan(), err, err.kind);
    // A busy or failed MERGE says nothing about the streaming buffer; only a conflict met earlier counts.
    await breakerVerdict(ctx, table, jobId, probe, { ...state, tried: state.metConflict });
    return failOrDelay(ctx, job, token, table, batch, err);
  }
  await breakerVerdict(ctx, table, jobId, probe, state);
  const rows = Object.values(batch.entries).reduce((n, e) => n + e.rows, 0);
  describeActive(
    { 'phasegate.table': table, 'phasegate.slices': batch.slices.length, 'phasegate.rows': rows, 'phasegate.batch_id': batchId, 'phasegate.held': state.held },
    Object.values(batch.entries).map((e) => e.traceparent),
  );
  if (batch.slices.length > 0) {
    if (state.tried) await noteSuccess(ctx, table);
    await markCommitted(ctx, table, batch, batchId, overrides);
    // Before the release: a crash in between re-runs the job, which logs the same rows again (deduped).
    await resolveConflicts(ctx, table, batch, infos);
    log.info(`committed ${batch.slices.length} slices, ${rows} rows to ${table} (one statement)${state.held ? `; ${state.held} held back` : ''}`);
  }
  await releaseBatch(ctx, table, batch);
  await deleteStaged(ctx, table, batch);
  await announceFinishedBackfills(
    ctx,
    Object.values(batch.entries).map((e) => e.backfillId),
  );
  return { slices: batch.slices.length, rows, rowsAffected: result.rowsAffected, batchId, held: state.held };
}

/**
 * Tells the breaker how the job's commit went — the share of its fresh slices (not held
 * before) that the streaming buffer held back, whether the read before the MERGE found them
 * or a refused MERGE did — and announces a trip. A commit of retries only says nothing.
 */
async function breakerVerdict(ctx: PipelineContext, table: string, jobId: string, probe: boolean, state: MergeState): Promise<void> {
  if (state.mergeSlices === 0 || (!state.tried && state.mergeHeld === 0)) {
    if (probe) await releaseProbe(ctx, table, jobId);
    return;
  }
  const outcome = { tried: state.mergeSlices, held: state.mergeHeld };
  const moved = await recordCommit(ctx, table, jobId, outcome);
  if (moved === 'tripped' || moved === 'reopened') {
    const b = ctx.config.breaker;
    const minutes = Math.round(b.cooldownSeconds / 60);
    const share = `${Math.round(b.conflictShare * 100)} %`;
    log.warn(
      `${table}: circuit breaker ${moved === 'tripped' ? 'tripped' : 're-opened after its probe met a conflict'}; retries of held slices paused ${minutes} min, clean slices keep landing`,
    );
    await ctx.notifier.notify({
      kind: 'breaker-tripped',
      subject: table,
      title: `circuit breaker ${moved === 'tripped' ? 'tripped' : 're-opened'} on ${table}`,
      text:
        moved === 'tripped'
          ? `More than ${Math.round(b.tripShare * 100)} % of the last commits on ${table} had more than ${share} of their slices held back by BigQuery's streaming buffer. Retries of held slices pause for ${minutes} min (clean slices keep landing), then one probe commit tries them.`
          : `The probe commit on ${table} had ${outcome.held} of ${outcome.tried} slices held back by the streaming buffer again. Retries of held slices pause another ${minutes} min; clean slices keep landing.`,
    });
  } else if (moved === 'closed') {
    log.info(`${table}: probe commit was clean; circuit breaker closed`);
  }
}

export function commitProcessor(ctx: PipelineContext) {
  // The signal: the runtime's close cancels its gates' jobs, and one still waiting for its rate-window place gives its batch back.
  return async (job: Job<CommitJobData>, token?: string, signal?: AbortSignal): Promise<CommitJobResult> => {
    const table = job.data.table;
    const spec = ctx.registry.tableSpec(table);
    const append = spec.writeMode === 'append';
    const jobId = job.id ?? 'unknown';
    const limits = tableLimits(ctx.config, table);
    // An open breaker never stops the table: it tells this job to hold retries of held slices
    // back (see breaker.ts); clean slices commit under the table's normal caps.
    const admission: Admission = append ? { probe: false, retries: true, state: 'closed' } : await admitCommit(ctx, table, jobId);
    const probe = admission.probe;
    const { batch, remaining, nextDueMs, seq } = await ctx.gate.take(table, jobId, {
      maxSlices: append ? LOG_COMMIT.maxFields : limits.commitMaxSlices,
      maxRows: limits.commitMaxRows,
    });
    // More than one batch is waiting: queue the next commit now rather than after a gather —
    // unless what is left is a phase 3–5 table's partial batch: the rest of its wave may still
    // be coming, and it gathers like any other (backlog-gather.ts).
    if (remaining > 0) {
      const partial = remaining < limits.commitMaxSlices && downstreamPhase(ctx, table) !== undefined;
      await ensureCommitJob(ctx, table, seq, remaining, partial ? {} : { fullAt: 1 });
    }
    // Held slices come back when due, by a delayed job; every take makes sure it exists.
    if (nextDueMs !== undefined) await ensureHeldCommitJob(ctx, table, nextDueMs, jobId);
    if (!batch) {
      if (probe) await releaseProbe(ctx, table, jobId);
      return { slices: 0, rows: 0, rowsAffected: 0 };
    }
    return append ? commitAppend(ctx, job, token, table, spec, batch, signal) : commitMerge(ctx, job, token, table, spec, batch, admission, signal);
  };
}

export function startCommitWorker(ctx: PipelineContext, table: string): Worker<CommitJobData> {
  const worker = new Worker<CommitJobData>(commitQueueName(table), commitProcessor(ctx), {
    connection: ctx.queues.connection,
    prefix: ctx.config.prefix,
    // The real cap is the queue's global concurrency (`QueueSet.applyTableCaps`, from the table's
    // `concurrency` setting), which binds every process; this only lets one process run up to
    // the warehouse's running-DML cap.
    concurrency: warehouseCaps(ctx.config).runningDmlPerTable,
    ...workerLockOptions(ctx.config),
    ...bullmqTelemetry(),
    maxStalledCount: QUEUE_DEFAULTS.commitJob.maxStalledCount,
  });
  logWorkerErrors(worker, `${commitQueueName(table)} worker`);
  // A data table's commit landing may be the last work upstream of a phase 3–5 table gathering
  // for its next wave: if nothing else is coming, that gather starts (backlog-gather.ts).
  const writer = ctx.registry.isLogTable(table) ? undefined : ctx.registry.writerOf(table).phase;
  if (writer !== undefined && writer < 5) {
    const landed = () =>
      void phaseJobFinished(ctx, (writer + 1) as Phase).catch((err: unknown) =>
        log.warn(`${table}: starting the gathered commits downstream: ${(err as Error).message}`),
      );
    worker.on('completed', landed);
    worker.on('failed', landed);
  }
  return worker;
}

/** Job states in which a taken batch has nobody left to land it. */
const DEAD_STATES = new Set(['completed', 'failed', 'unknown']);

/**
 * Mends what a crash between two steps may have left: the table's caps (and a lowered
 * concurrency that outlived a restart), batches whose job is gone put back, a wake-up job for
 * held slices, a commit for anything pending. Run at every worker start.
 */
export async function mendTableGate(ctx: PipelineContext, table: string): Promise<void> {
  await ctx.queues.applyTableCaps(table);
  await reapplyThrottle(ctx, table);
  const queue = ctx.queues.commit(table);
  for (const [jobId, batch] of await ctx.gate.takenBatches(table)) {
    const state = await queue.getJobState(jobId);
    if (!DEAD_STATES.has(state)) continue;
    // Its job is gone (failed after too many stalls, removed): the slices go back to pending.
    log.warn(`${table}: batch of job ${jobId} (${state}) had no one to land it; its ${batch.slices.length} slices are pending again`);
    await ctx.gate.putBack(table, batch, batch.slices);
  }
  const held = await ctx.gate.held(table);
  const due = held.filter((h) => Number.isFinite(h.dueMs)).map((h) => h.dueMs);
  if (due.length > 0) await ensureHeldCommitJob(ctx, table, Math.min(...due));
  await commitReady(ctx, table, held.length);
}

/** Asks for a commit of the table's pending slices that are not held back (`held` of them are). */
async function commitReady(ctx: PipelineContext, table: string, held: number): Promise<void> {
  const ready = (await ctx.gate.pendingCount(table)) - held;
  if (ready > 0) await ensureCommitJob(ctx, table, await ctx.gate.currentSeq(table), ready);
}

/** Opens a table's gate in this process: mends it, then starts its commit worker. */
export async function startTableGate(ctx: PipelineContext, table: string): Promise<Worker<CommitJobData>> {
  await mendTableGate(ctx, table);
  // Housekeeping: a gate that cannot tidy its staging folder still commits.
  await sweepStaging(ctx, table).catch((err: unknown) => log.warn(`${table}: could not tidy its staging files: ${(err as Error).message}`));
  return startCommitWorker(ctx, table);
}
