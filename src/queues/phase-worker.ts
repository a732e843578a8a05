/**
 * Runs phase jobs: a scraper fetches raw files for a slice; a transform turns its inputs into
 * rows and stages them for its table's gate. Neither writes the warehouse.
 */

import { trace } from '@opentelemetry/api';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { DefinitionError } from '../errors/definition-error.ts';
import { InputError } from '../errors/input-error.ts';
import { PhasegateError, toError } from '../errors/phasegate-error.ts';
import { RateLimitedError } from '../errors/rate-limited-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import { describeMissing, type SliceCheck } from '../integrity/slice-check.ts';
import { log } from '../log.ts';
import { type Phase, type ProcessorContext, type ScraperDef, type TransformDef, tableId } from '../processors/types.ts';
import { bullmqTelemetry, describeActive, inSpan, recordError } from '../telemetry/tracing.ts';
import { ReadBatcher } from '../warehouse/read-batch.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { ensureTableOnce } from './commit/ensure-table.ts';
import { phaseJobFinished, stageSlice } from './commit/staging.ts';
import type { PipelineContext } from './context.ts';
import { QUEUE_DEFAULTS, workerLockOptions } from './defaults.ts';
import { enqueueSlices } from './enqueue.ts';
import { settleDownstream } from './events/settle.ts';
import { type RunHandle, startRun } from './logs/run-log.ts';
import { type PhaseJobData, phaseQueueName, sourceQueueName } from './names.ts';
import { isCancelled } from './runs/cancel.ts';
import { announceFinishedBackfills } from './runs/finished.ts';
import { logWorkerErrors } from './worker-errors.ts';

export interface PhaseJobResult {
  rows?: number;
  files?: number;
  /** What the run log notes besides success: `incomplete: …`, `empty`, `unscheduled`. */
  note?: string | undefined;
}

async function runScraper(ctx: PipelineContext, def: ScraperDef, job: Job<PhaseJobData>): Promise<PhaseJobResult> {
  const { slice } = job.data;
  const result = await def.run({ slice, store: ctx.store, schedule: ctx.source, source: ctx.source, clients: ctx.clients, config: ctx.config });
  const { expected, written, missing } = result;
  if (missing.length > 0) log.warn(`${def.name} ${slice}: source has no data for ${missing.join(', ')}`);
  // A scraper's output lands in the object store, not the warehouse: landed = committed, unless
  // the source had nothing for some scheduled games (incomplete) or nothing was scheduled (empty).
  const status = missing.length > 0 ? 'incomplete' : expected.length === 0 ? 'empty' : 'committed';
  const covered = status === 'empty' ? await ctx.source.covers(slice) : true;
  await ctx.statuses.update(def.name, slice, {
    status,
    rows: written.length,
    committedAt: written.length > 0 ? new Date().toISOString() : undefined,
    missingGames: missing.length > 0 ? missing : undefined,
    expectedGames: covered ? expected.length : null,
    nothingLanded: status === 'incomplete' && written.length === 0 ? true : undefined,
    error:
      status === 'incomplete'
        ? `source has no data for ${missing.length} of ${expected.length} scheduled games: ${missing.join(', ')}`
        : status === 'empty'
          ? covered
            ? 'no games scheduled on this date'
            : 'the schedule does not cover this date (no files fetched)'
          : undefined,
    backfillId: job.data.backfillId,
  });
  const next = ctx.registry.dependents(def.name).filter((d) => job.data.cascade || job.data.targets.includes(d.name));
  // Its run was cancelled while it ran: what it fetched stays, nothing more starts for the run
  // (the cancel marked the slices it would have started cancelled).
  if (job.data.backfillId && (await isCancelled(ctx, job.data.backfillId))) return { files: written.length, note: status === 'committed' ? undefined : status };
  for (const dep of next) {
    await enqueueSlices(ctx, dep, [slice], {
      backfillId: job.data.backfillId,
      targets: job.data.targets,
      cascade: job.data.cascade,
      origin: 'upstream',
      priority: job.opts.priority,
    });
  }
  return { files: written.length, note: status === 'committed' ? undefined : status };
}

const readable = new WeakMap<PipelineContext, Promise<Warehouse>>();
const batchers = new WeakMap<Warehouse, ReadBatcher>();

/** The group reads of one warehouse in this process: the phase 3–5 jobs running here share them. */
function readBatcher(ctx: PipelineContext, warehouse: Warehouse): ReadBatcher {
  let b = batchers.get(warehouse);
  if (!b) {
    const readMany = warehouse.readTables?.bind(warehouse);
    b = new ReadBatcher(
      (spec, slices) => warehouse.readSlices(spec, slices),
      { gatherMs: ctx.config.reads.gatherMs, maxReads: ctx.config.reads.batchJobs },
      readMany,
    );
    batchers.set(warehouse, b);
  }
  return b;
}

/**
 * The warehouse a transform reads its inputs from. A process that does not hold the embedded
 * DuckDB file (the commit gate's process does: DuckDB lets one process open it) reads it through
 * the holder's read relay (src/warehouse/read-relay), as phase workers read BigQuery over the
 * network. A process running only phase work never takes the file itself, even when it starts
 * before the process running the gates: until that one serves reads, the job is tried again.
 */
function readableWarehouse(ctx: PipelineContext): Promise<Warehouse> {
  let w = readable.get(ctx);
  if (!w) {
    const relay = () => import('../warehouse/read-relay/client.ts');
    w =
      ctx.opensWarehouse?.() === false
        ? relay().then(async ({ advertisedRelay }) => {
            const reader = await advertisedRelay(ctx);
            if (reader) return reader;
            throw new TransientError(
              'no process serves the DuckDB file yet: phases 3–5 read it through the process running the table gates (`phasegate worker --phases commit`); tried again',
            );
          })
        : ctx.warehouse().catch(async (err: unknown) => (await relay()).relayOnLock(err, ctx));
    readable.set(ctx, w);
    // A failure other than the lock is the job's; the next job asks again.
    w.catch(() => readable.delete(ctx));
  }
  return w;
}

/** What the run log notes for a staged slice besides success. */
function stagedNote(check: SliceCheck): string | undefined {
  return check.outcome === 'complete' ? undefined : check.outcome === 'partial' ? `incomplete: ${describeMissing(check)}` : check.outcome;
}

async function runTransform(ctx: PipelineContext, def: TransformDef, job: Job<PhaseJobData>, run: RunHandle): Promise<PhaseJobResult> {
  const { slice, backfillId } = job.data;
  const warehouse = def.readsWarehouse ? await readableWarehouse(ctx) : undefined;
  const pctx: ProcessorContext = {
    slice,
    store: ctx.store,
    schedule: ctx.source,
    // An input table nobody has written yet (a fallback source that never ran) reads as empty.
    // Read together with the other phase 3–5 jobs running here (group reads).
    readTable: warehouse
      ? async (spec, slices) => {
          await ensureTableOnce({ warehouse: async () => warehouse }, ctx.registry.tableSpec(tableId(spec)));
          return readBatcher(ctx, warehouse).readSlices(spec, slices);
        }
      : undefined,
  };
  const expectation = def.expects ? await def.expects(pctx) : undefined;
  const rows = await def.run(pctx);
  // `staged` lands in the step that registers the slice, so the gate cannot take the slice
  // before it (see stageSlice): written after, it could overwrite the `committed` of a commit
  // that landed the slice in between. The end of the run lands with them.
  const table = tableId(def.table);
  const { check, entry } = await inSpan(`stage ${table}`, { 'phasegate.table': table, 'phasegate.slice': slice, 'phasegate.rows': rows.length }, () =>
    stageSlice(ctx, def, slice, rows, {
      backfillId,
      expectation,
      alongside: async (step, c, staged) => {
        ctx.statuses.updateIn(step, def.name, slice, {
          status: 'staged',
          rows: staged.rows,
          error: undefined,
          missingGames: c.missing.length > 0 ? c.missing : undefined,
          expectedGames: c.expected,
          warnings: c.warnings > 0 ? c.warnings : undefined,
          note: c.outcome === 'unscheduled' ? 'no schedule: the files present are the expectation' : undefined,
          backfillId,
        });
        await run.endIn(step, 'succeeded', { rows: staged.rows, notes: stagedNote(c) });
      },
    }),
  );
  const missingGames = check.missing.length > 0 ? check.missing : undefined;
  if (!entry) {
    // Nothing came: nothing is staged, so whatever the warehouse holds for the slice stays.
    const nothing = check.outcome === 'nothing';
    const error = nothing
      ? `no input for any of the ${check.expected} scheduled games (${check.missing.join(', ')}); nothing staged, the warehouse is unchanged`
      : check.expected === null
        ? 'no schedule for this date and no input; nothing staged'
        : 'no games scheduled and no input; nothing staged';
    const status = nothing ? 'incomplete' : 'empty';
    await ctx.statuses.set(def.name, slice, {
      status,
      rows: 0,
      error,
      missingGames,
      expectedGames: check.expected,
      nothingLanded: nothing || undefined,
      backfillId,
    });
    await settleDownstream(ctx, def.name, slice, job.data);
    return { rows: 0, note: status };
  }
  return { rows: entry.rows, note: stagedNote(check) };
}

export function phaseProcessor(ctx: PipelineContext) {
  return async (job: Job<PhaseJobData>): Promise<PhaseJobResult> => {
    if (!ctx.registry.has(job.data.processor)) {
      // A job added by hand (Bull Board) for a processor this version does not have: no retry can help.
      const why = `job ${job.id} on ${job.queueName}: unknown processor "${job.data.processor}"`;
      log.warn(`phase job failed (no retries): ${why}`);
      throw new UnrecoverableError(why);
    }
    const def = ctx.registry.get(job.data.processor);
    const attempt = job.attemptsMade + 1;
    describeActive({
      'phasegate.processor': def.name,
      'phasegate.slice': job.data.slice,
      'phasegate.attempt': attempt,
      'phasegate.run': job.data.backfillId ?? 'live',
    });
    // One row per run in nba_orchestration.processing_run_log (run-log.ts); the note of the run
    // and the `running` status land in one round trip.
    const run = await startRun(ctx, job, def.phase, (step) =>
      ctx.statuses.updateIn(step, def.name, job.data.slice, { status: 'running', attempts: attempt, backfillId: job.data.backfillId }),
    );
    try {
      const result = def.kind === 'scraper' ? await runScraper(ctx, def, job) : await runTransform(ctx, def, job, run);
      // A staged slice's run ended with its staging (endIn); this logs the others.
      await run.finish('succeeded', { rows: result.rows ?? result.files, notes: result.note });
      return result;
    } catch (thrown) {
      const err = toError(thrown);
      if (err instanceof RateLimitedError) {
        // Not a failure and not an attempt: the source's queue pauses (startSourceWorker).
        await ctx.statuses.update(def.name, job.data.slice, {
          status: 'pending',
          error: `waiting: ${err.message}`,
          nextTryAt: new Date(Date.now() + err.retryAfterMs).toISOString(),
        });
        await run.finish('retrying', { error: err.message });
        throw err;
      }
      const retryable = err instanceof PhasegateError ? err.retryable : !(err instanceof SyntaxError);
      const last = !retryable || attempt >= (job.opts.attempts ?? 1);
      const reason = `${def.name} ${job.data.slice}: ${err.message}`;
      if (last) {
        await ctx.statuses.update(def.name, job.data.slice, { status: 'failed', error: reason, attempts: attempt });
        await settleDownstream(ctx, def.name, job.data.slice, job.data);
      } else {
        await ctx.statuses.update(def.name, job.data.slice, { status: 'pending', error: reason, attempts: attempt });
      }
      log.warn(`phase job failed${last ? '' : ' (will retry)'}: ${reason}`);
      recordError(trace.getActiveSpan(), err, err instanceof PhasegateError ? (err.retryable ? 'transient' : 'permanent') : undefined);
      await run.finish(last ? 'failed' : 'retrying', { error: reason });
      if (last) await announceFinishedBackfills(ctx, [job.data.backfillId]);
      // Bad input fails at once: retrying a malformed file cannot help.
      if (err instanceof InputError || !retryable) throw new UnrecoverableError(reason);
      throw err;
    }
  };
}

/**
 * The worker of a source's own scraper queue: its BullMQ limiter is the source's request
 * budget, shared by every process, and a 429 pauses the queue for the source's Retry-After.
 */
export function startSourceWorker(ctx: PipelineContext, def: ScraperDef, concurrency: number): Worker<PhaseJobData> {
  const limit = def.rateLimit?.(ctx.config);
  if (!limit) throw new DefinitionError(`${def.name} has no queue of its own`);
  const run = phaseProcessor(ctx);
  const worker: Worker<PhaseJobData> = new Worker<PhaseJobData>(
    sourceQueueName(limit.queue),
    async (job) => {
      try {
        return await run(job);
      } catch (err) {
        if (!(err instanceof RateLimitedError)) throw err;
        await worker.rateLimit(err.retryAfterMs);
        throw Worker.RateLimitError();
      }
    },
    {
      connection: ctx.queues.connection,
      prefix: ctx.config.prefix,
      concurrency,
      limiter: { max: limit.max, duration: limit.durationMs },
      ...workerLockOptions(ctx.config),
      ...bullmqTelemetry(),
      maxStalledCount: QUEUE_DEFAULTS.phaseJob.maxStalledCount,
    },
  );
  logWorkerErrors(worker, `${sourceQueueName(limit.queue)} worker`);
  return worker;
}

/** One worker of a phase's queue; a phase running more than `FETCH_LANE_JOBS` jobs at once runs several (`phaseWorkerLanes`). */
export function startPhaseWorker(ctx: PipelineContext, phase: Phase, concurrency: number): Worker<PhaseJobData> {
  const worker = new Worker<PhaseJobData>(phaseQueueName(phase), phaseProcessor(ctx), {
    connection: ctx.queues.connection,
    prefix: ctx.config.prefix,
    concurrency,
    ...workerLockOptions(ctx.config),
    ...bullmqTelemetry(),
    maxStalledCount: QUEUE_DEFAULTS.phaseJob.maxStalledCount,
  });
  logWorkerErrors(worker, `phase${phase} worker`);
  if (phase >= 3) {
    // The last job of a wave to finish starts the commits gathering for it (backlog-gather.ts).
    const finished = () =>
      void phaseJobFinished(ctx, phase).catch((err: unknown) => log.warn(`phase${phase}: starting the gathered commits: ${(err as Error).message}`));
    worker.on('completed', finished);
    worker.on('failed', finished);
  }
  return worker;
}
