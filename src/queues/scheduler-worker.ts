/**
 * The scheduler queue's worker: runs what the job schedulers produce (the daily audit, the
 * daily live run) and the audit's second step. A handler that is not ready yet (the audit's
 * fallback is still landing) asks to be tried again later: the job is moved back to delayed,
 * which holds no worker slot while it waits and spends no attempt.
 */

import { DelayedError, type Job, Worker } from 'bullmq';
import { DefinitionError } from '../errors/definition-error.ts';
import { log } from '../log.ts';
import type { PipelineContext } from './context.ts';
import { QUEUE_DEFAULTS, workerLockOptions } from './defaults.ts';
import { SCHEDULER_QUEUE, type SchedulerJobData } from './names.ts';
import { logWorkerErrors } from './worker-errors.ts';

/** What a handler did: its result, or when to try it again (with new data, if any). */
export type SchedulerOutcome = { result: unknown } | { retryAt: number; data?: SchedulerJobData | undefined };

export type SchedulerHandler = (job: Job<SchedulerJobData>) => Promise<SchedulerOutcome>;

export interface SchedulerWorkerOptions {
  /** Jobs at once; the audit reads the warehouse, the live run only enqueues. @defaultValue 2 */
  concurrency?: number;
}

export function startSchedulerWorker(
  ctx: PipelineContext,
  handlers: Readonly<Record<string, SchedulerHandler>>,
  options: SchedulerWorkerOptions = {},
): Worker<SchedulerJobData> {
  const worker = new Worker<SchedulerJobData>(
    SCHEDULER_QUEUE,
    async (job, token) => {
      const handler = handlers[job.name];
      // A job of a schedule this version does not know fails with the reason, never silently.
      if (!handler) throw new DefinitionError(`no handler for scheduler job "${job.name}" (known: ${Object.keys(handlers).join(', ')})`);
      const outcome = await handler(job);
      if ('result' in outcome) return outcome.result;
      if (outcome.data) await job.updateData(outcome.data);
      await job.moveToDelayed(outcome.retryAt, token);
      throw new DelayedError();
    },
    {
      connection: ctx.queues.connection,
      prefix: ctx.config.prefix,
      concurrency: options.concurrency ?? QUEUE_DEFAULTS.schedulerJob.workerConcurrency,
      ...workerLockOptions(ctx.config),
    },
  );
  logWorkerErrors(worker, 'scheduler worker');
  worker.on('failed', (job, err) => log.warn(`scheduler job ${job?.name ?? '?'} ${job?.id ?? ''} failed: ${err.message}`));
  return worker;
}
