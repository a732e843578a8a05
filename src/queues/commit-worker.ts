/**
 * The table gate's commit job: takes every pending slice of one table (up to the batch
 * limits) and lands them with ONE statement. A slice counts as committed only once that
 * statement succeeded. The queue's global concurrency and rate limit are the table's caps.
 */
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import { scaledMs } from '../config/index.ts';
import { classifyWarehouseError } from '../errors/classify.ts';
import { log } from '../log.ts';
import { type TransformDef, tableId } from '../processors/types.ts';
import type { CommitResult } from '../warehouse/types.ts';
import type { PipelineContext } from './context.ts';
import { type CommittedEvent, publishCommitted } from './events.ts';
import { type CommitJobData, commitQueueName } from './names.ts';
import { ensureCommitJob } from './staging.ts';
import type { TakenBatch } from './table-gate.ts';

export interface CommitJobResult {
  slices: number;
  rows: number;
  rowsAffected: number;
  batchId?: string;
}

/** Backoff with full jitter: a random delay in [base·2^n / 2, base·2^n], capped. */
export function backoffMs(baseMs: number, attempt: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

const ensured = new WeakMap<object, Set<string>>();

async function ensureTableOnce(ctx: PipelineContext, def: TransformDef): Promise<void> {
  const warehouse = await ctx.warehouse();
  let done = ensured.get(warehouse);
  if (!done) ensured.set(warehouse, (done = new Set()));
  const id = tableId(def.table);
  if (done.has(id)) return;
  await warehouse.ensureTable(def.table);
  done.add(id);
}

async function markCommitted(ctx: PipelineContext, table: string, batch: TakenBatch, batchId: string): Promise<void> {
  const committedAt = new Date().toISOString();
  const events: CommittedEvent[] = [];
  for (const slice of batch.slices) {
    const entry = batch.entries[slice];
    if (!entry) continue;
    await ctx.statuses.update(entry.processor, slice, {
      status: 'committed',
      rows: entry.rows,
      batchId,
      committedAt,
      error: undefined,
      nextTryAt: undefined,
      backfillId: entry.backfillId,
    });
    events.push({ type: 'committed', processor: entry.processor, table, slice, rows: entry.rows, batchId, committedAt, backfillId: entry.backfillId });
  }
  await publishCommitted(ctx.redis, ctx.keys, events);
}

export function commitProcessor(ctx: PipelineContext) {
  return async (job: Job<CommitJobData>, token?: string): Promise<CommitJobResult> => {
    const table = job.data.table;
    const def = ctx.registry.writerOf(table);
    const jobId = job.id ?? 'unknown';
    const { batch, remaining } = await ctx.gate.take(table, jobId, {
      maxSlices: ctx.config.table.commitMaxSlices,
      maxRows: ctx.config.table.commitMaxRows,
    });
    // More than one batch is waiting: queue the next commit now rather than after a gather.
    if (remaining > 0) await ensureCommitJob(ctx, table, await ctx.gate.currentSeq(table), ctx.config.table.commitMaxSlices);
    if (!batch) return { slices: 0, rows: 0, rowsAffected: 0 };

    const batchId = `${jobId}-a${job.attemptsMade}`;
    const rows = Object.values(batch.entries).reduce((n, e) => n + e.rows, 0);
    const started = Date.now();
    let result: CommitResult;
    try {
      await ensureTableOnce(ctx, def);
      const opsToday = await ctx.gate.countTableOp(table);
      if (opsToday > ctx.config.table.dailyBudget) {
        throw Object.assign(new Error(`phasegate: table ${table} used its daily budget of ${ctx.config.table.dailyBudget} operations`), { reason: 'quotaExceeded' });
      }
      const warehouse = await ctx.warehouse();
      result = await warehouse.commit({
        batchId: `${table}-${batchId}`,
        table: def.table,
        slices: batch.slices,
        objects: batch.slices.map((s) => batch.entries[s]?.object).filter((o): o is string => !!o),
      });
    } catch (thrown) {
      const err = classifyWarehouseError(thrown, table);
      const reason = `commit of ${batch.slices.length} slices (${batch.slices[0]}…${batch.slices.at(-1)}) to ${table}: ${err.message}`;
      const outOfAttempts = err.kind === 'transient' && job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (err.kind === 'permanent' || outOfAttempts) {
        for (const slice of batch.slices) {
          const entry = batch.entries[slice];
          if (entry) await ctx.statuses.update(entry.processor, slice, { status: 'failed', error: reason });
        }
        await ctx.gate.release(table, batch);
        log.error(reason);
        throw new UnrecoverableError(reason);
      }
      // Busy, transient or conflict: the batch stays taken and is tried again after a
      // backoff. Delaying the job (instead of failing it) does not use up its attempts:
      // a busy table is not a failure.
      const delay = backoffMs(scaledMs(ctx.config, 10), job.attemptsMade, scaledMs(ctx.config, 20 * 60));
      const nextTryAt = new Date(Date.now() + delay).toISOString();
      for (const slice of batch.slices) {
        const entry = batch.entries[slice];
        if (entry) await ctx.statuses.update(entry.processor, slice, { status: 'waiting', error: `${err.kind}: ${err.message}`, nextTryAt });
      }
      log.warn(`${reason} — ${err.kind}, next try at ${nextTryAt}`);
      if (err.kind === 'transient') throw err;
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
    await markCommitted(ctx, table, batch, batchId);
    await ctx.gate.release(table, batch);
    await Promise.all(batch.slices.map((s) => {
      const object = batch.entries[s]?.object;
      return object ? ctx.store.delete(object).catch(() => undefined) : undefined;
    }));
    log.info(`committed ${batch.slices.length} slices, ${rows} rows to ${table} in ${Date.now() - started} ms (one statement)`);
    return { slices: batch.slices.length, rows, rowsAffected: result.rowsAffected, batchId };
  };
}

export function startCommitWorker(ctx: PipelineContext, table: string): Worker<CommitJobData> {
  const worker = new Worker<CommitJobData>(commitQueueName(table), commitProcessor(ctx), {
    connection: ctx.redis,
    prefix: ctx.config.prefix,
    // The real cap is the queue's global concurrency (see QueueSet.applyTableCaps); this
    // only lets one process run up to that many.
    concurrency: 2,
    stalledInterval: ctx.config.jobs.stalledSeconds * 1000,
    lockDuration: ctx.config.jobs.stalledSeconds * 1000,
    maxStalledCount: 5,
  });
  worker.on('error', (err) => log.error(`${commitQueueName(table)} worker: ${err.message}`));
  return worker;
}
