/**
 * Builds and caches the BullMQ queues: one per phase and one commit queue per target table.
 * This is the only place queues are constructed.
 */

import { type JobsOptions, Queue } from 'bullmq';
import { type Config, scaledMs, tableLimits } from '../config/load-config.ts';
import type { Phase, ProcessorDef } from '../processors/types.ts';
import type { RedisClient } from '../redis/connect.ts';
import { RepeatedErrors } from '../redis/repeated-errors.ts';
import { bullmqTelemetry } from '../telemetry/tracing.ts';
import { warehouseCaps } from '../warehouse/index.ts';
import { QUEUE_DEFAULTS } from './defaults.ts';
import { type CommitJobData, commitQueueName, type PhaseJobData, phaseQueueName, SCHEDULER_QUEUE, type SchedulerJobData, sourceQueueName } from './names.ts';

export class QueueSet {
  private readonly phases = new Map<Phase, Queue<PhaseJobData>>();
  private readonly sources = new Map<string, Queue<PhaseJobData>>();
  private readonly commits = new Map<string, Queue<CommitJobData>>();
  private schedulerQueue: Queue<SchedulerJobData> | undefined;
  /**
   * The queues' `error` events (their shared connection's, re-emitted by each queue), one line
   * per outage. A BullMQ queue with no `error` listener prints each one with its stack.
   */
  private readonly errors = new RepeatedErrors('queues');

  constructor(
    readonly connection: RedisClient,
    readonly config: Config,
  ) {
    connection.on('ready', () => this.errors.ok());
  }

  private watched<Q extends Queue>(q: Q): Q {
    q.on('error', (err: Error) => this.errors.failed(err));
    return q;
  }

  /** Default options of a phase job: retried with exponential backoff, failures kept for people. */
  phaseJobOptions(): JobsOptions {
    return {
      attempts: this.config.jobs.attempts,
      backoff: { type: 'exponential', delay: scaledMs(this.config, this.config.jobs.backoffSeconds) },
      removeOnComplete: { count: QUEUE_DEFAULTS.phaseJob.removeOnCompleteCount },
      removeOnFail: { age: QUEUE_DEFAULTS.phaseJob.removeOnFailAgeSeconds },
    };
  }

  phase(phase: Phase): Queue<PhaseJobData> {
    let q = this.phases.get(phase);
    if (!q) {
      q = this.watched(
        new Queue<PhaseJobData>(phaseQueueName(phase), {
          connection: this.connection,
          prefix: this.config.prefix,
          ...bullmqTelemetry(),
          defaultJobOptions: this.phaseJobOptions(),
        }),
      );
      this.phases.set(phase, q);
    }
    return q;
  }

  /** A rate-limited source's scraper queue: phase-1 jobs like any other, on their own limiter. */
  source(name: string): Queue<PhaseJobData> {
    let q = this.sources.get(name);
    if (!q) {
      q = this.watched(
        new Queue<PhaseJobData>(sourceQueueName(name), {
          connection: this.connection,
          prefix: this.config.prefix,
          ...bullmqTelemetry(),
          defaultJobOptions: this.phaseJobOptions(),
        }),
      );
      this.sources.set(name, q);
    }
    return q;
  }

  /** The queue a processor's jobs go to: its source's own queue, or its phase's. */
  of(def: ProcessorDef): Queue<PhaseJobData> {
    if (def.kind === 'scraper' && def.rateLimit) return this.source(def.rateLimit(this.config).queue);
    return this.phase(def.phase);
  }

  /** The scheduler queue (job schedulers and the audit's second step); failures kept a week for people. */
  scheduler(): Queue<SchedulerJobData> {
    this.schedulerQueue ??= this.watched(
      new Queue<SchedulerJobData>(SCHEDULER_QUEUE, {
        connection: this.connection,
        prefix: this.config.prefix,
        defaultJobOptions: {
          attempts: QUEUE_DEFAULTS.schedulerJob.attempts,
          backoff: { type: 'exponential', delay: scaledMs(this.config, QUEUE_DEFAULTS.schedulerJob.backoffSeconds) },
          removeOnComplete: { count: QUEUE_DEFAULTS.schedulerJob.removeOnCompleteCount },
          removeOnFail: { age: QUEUE_DEFAULTS.schedulerJob.removeOnFailAgeSeconds },
        },
      }),
    );
    return this.schedulerQueue;
  }

  commit(table: string): Queue<CommitJobData> {
    let q = this.commits.get(table);
    if (!q) {
      q = this.watched(
        new Queue<CommitJobData>(commitQueueName(table), {
          connection: this.connection,
          prefix: this.config.prefix,
          ...bullmqTelemetry(),
          defaultJobOptions: {
            attempts: QUEUE_DEFAULTS.commitJob.attempts,
            backoff: { type: 'exponential', delay: scaledMs(this.config, QUEUE_DEFAULTS.commitJob.backoffSeconds) },
            removeOnComplete: { count: QUEUE_DEFAULTS.commitJob.removeOnCompleteCount },
            removeOnFail: { age: QUEUE_DEFAULTS.commitJob.removeOnFailAgeSeconds },
          },
        }),
      );
      this.commits.set(table, q);
    }
    return q;
  }

  /**
   * Sets a table gate's caps on its commit queue. BullMQ's global concurrency and global rate
   * limit live in Redis, so they bind every worker in every process.
   * The caps stay within the warehouse's running mutating DML per table (its declared caps:
   * BigQuery's on both backends) and BigQuery's per-window rates (limits.ts); config refuses
   * anything above them, and the min() keeps an override honest.
   */
  async applyTableCaps(table: string): Promise<void> {
    const q = this.commit(table);
    const limits = tableLimits(this.config, table);
    await q.setGlobalConcurrency(Math.min(warehouseCaps(this.config).runningDmlPerTable, limits.concurrency));
    await q.setGlobalRateLimit(limits.opsMax, scaledMs(this.config, limits.opsWindowSeconds));
  }

  all(): Queue[] {
    return [...this.phases.values(), ...this.sources.values(), ...this.commits.values(), ...(this.schedulerQueue ? [this.schedulerQueue] : [])] as Queue[];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
  }
}
