/**
 * The one registry of queue names and job payload types. BullMQ objects are built only in
 * src/queues; everything else refers to queues through these names.
 */
import type { Phase } from '../processors/types.ts';

export const PHASES = [1, 2, 3, 4, 5] as const satisfies readonly Phase[];

/** `phase1` … `phase5`. */
export function phaseQueueName(phase: Phase): `phase${Phase}` {
  return `phase${phase}`;
}

/** The queue of a scraper with a request budget of its own (see `ScraperDef.rateLimit`). */
export function sourceQueueName(source: string): string {
  return `scrape-${source}`;
}

/** One commit queue ("table gate") per target table: `commit-nba_raw.nbac_player_boxscores`. */
export function commitQueueName(table: string): string {
  // BullMQ uses ':' as its key separator, so table ids keep their '.'.
  return `commit-${table}`;
}

export function isCommitQueue(name: string): boolean {
  return name.startsWith('commit-');
}

/** Lower runs first (BullMQ priorities): live/daily work always outranks backfills. */
export const PRIORITY = { live: 1, backfill: 10 } as const;

/** A phase job: run one processor for one slice. */
export interface PhaseJobData {
  processor: string;
  slice: string;
  /** The backfill this job belongs to, if any. */
  backfillId?: string | undefined;
  /**
   * Processors downstream of this one that should run for the slice once it lands
   * (the backfill's requested processors, or every dependent with --cascade).
   */
  targets: string[];
  /** Carry the work down every dependent phase, whether requested or not. */
  cascade: boolean;
  origin: 'backfill' | 'live' | 'upstream' | 'retry';
}

/** A commit job: land the pending slices of one table in one statement. */
export interface CommitJobData {
  table: string;
}

export const JOB_NAMES = { commit: 'commit' } as const;

/**
 * The scheduler queue: jobs its BullMQ job schedulers produce (`daily-audit`, `daily-live`)
 * and the audit's delayed second step. Schedulers live in Redis, so they outlive any worker.
 */
export const SCHEDULER_QUEUE = 'scheduler';

/** Jobs on the scheduler queue. */
export const SCHEDULER_JOBS = { dailyAudit: 'daily-audit', dailyLive: 'daily-live', auditNow: 'audit-now', auditFinish: 'audit-finish' } as const;
export type SchedulerJobName = (typeof SCHEDULER_JOBS)[keyof typeof SCHEDULER_JOBS];

/** A scheduler job's data: the time zone its "today" is in, or (audit-now/finish) its own fields. */
export interface SchedulerJobData {
  /** IANA time zone of the schedule: "yesterday" and "the last 7 days" are dates there. @defaultValue UTC */
  tz?: string | undefined;
  [field: string]: unknown;
}

/*
 * Job ids. Every id phasegate gives a job is built here: ids are how the same work is never
 * queued twice (BullMQ ignores an add whose id exists), so two places spelling one id
 * differently would be two jobs.
 */

/** A phase job: one per processor and slice. */
export function phaseJobId(processor: string, slice: string): string {
  return `${processor}.${slice}`;
}

/**
 * A table's commit job for commit sequence `seq`: every staging that saw the same sequence
 * asks for the same job, and the take that bumps the sequence makes later stagings ask for the next.
 */
export function commitJobId(seq: number): string {
  return `c${seq}`;
}

/** Whether a commit queue's job id is a gather's (`commitJobId`), not a held slices' wake-up. */
export function isCommitJobId(id: string | undefined): boolean {
  return id !== undefined && /^c\d+$/.test(id);
}

/** The commit job that takes a table's held slices once they are due at `dueMs`; every commit seeing that hold asks for this one. */
export function heldCommitJobId(dueMs: number): string {
  return `h${Math.round(dueMs)}`;
}

/** A one-off audit (`phasegate audit`) and its second step, by run id. */
export function auditJobId(step: 'now' | 'finish', runId: string): string {
  return `${step === 'now' ? SCHEDULER_JOBS.auditNow : SCHEDULER_JOBS.auditFinish}.${runId}`;
}

/** The dependency tracker's consumer group on the `committed` events stream (other readers, such as the Pub/Sub relay, have their own). */
export const TRACKER_GROUP = 'dependency-tracker';
