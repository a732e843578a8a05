/**
 * The queue and worker settings phasegate gives BullMQ, in one place, each with why it has the
 * value it has. What a user may change is configuration (`PHASEGATE_JOB_ATTEMPTS`,
 * `PHASEGATE_JOB_BACKOFF_SECONDS`, `PHASEGATE_STALLED_SECONDS`, the table caps); these are the
 * rest. Seconds are BigQuery-clock seconds (scaled by `PHASEGATE_TIME_SCALE`) where they wait
 * on BigQuery, real seconds where they wait on Redis or a person.
 */
import type { Config } from '../config/load-config.ts';

const WEEK_SECONDS = 7 * 86_400;

export const QUEUE_DEFAULTS = {
  phaseJob: {
    /**
     * Completed phase jobs kept. Completed jobs go soon so a later run of the same (processor,
     * slice) — same job id — can be queued; the status store keeps what happened.
     * @defaultValue 1000
     */
    removeOnCompleteCount: 1000,
    /** Failed phase jobs are kept a week, for people to inspect and retry. @defaultValue 604800 (7 days) */
    removeOnFailAgeSeconds: WEEK_SECONDS,
    /**
     * Times a phase job may stall (its worker died or its event loop froze past the lock) before
     * BullMQ fails it: a job is idempotent, so a second and third hand-over are safe, and a job
     * that stalls every time is a job that kills its worker — it should fail, not loop.
     * @defaultValue 3
     */
    maxStalledCount: 3,
  },
  commitJob: {
    /**
     * Tries of a commit job. Busy tables and conflicts are handled inside the job (delayed, not
     * retried), so attempts are spent only on transient failures (5xx, network, a killed process):
     * eight tries with 10 s exponential backoff span ~21 min, longer than a BigQuery blip
     * usually lasts, and the batch stays in Redis for the next commit if they run out.
     * @defaultValue 8
     */
    attempts: 8,
    /** First retry delay (BigQuery clock), doubling. @defaultValue 10 */
    backoffSeconds: 10,
    /** Jitter of a commit job's retry delay, so the commits of tables that failed together do not retry in step. @defaultValue 0.5 */
    backoffJitter: 0.5,
    /** Completed commit jobs kept: the dashboard's commit history and `/metrics` read them. @defaultValue 200 */
    removeOnCompleteCount: 200,
    /** Failed commit jobs kept a week, for people. @defaultValue 604800 (7 days) */
    removeOnFailAgeSeconds: WEEK_SECONDS,
    /**
     * Times a commit job may stall before it fails. Higher than a phase job's: a commit that was
     * mid-MERGE when its process died re-reads the same batch and is safe to run again (the MERGE
     * is idempotent), and failing it would leave its slices for the restart sweep.
     * @defaultValue 5
     */
    maxStalledCount: 5,
  },
  schedulerJob: {
    /** Tries of a scheduled job (the daily audit, the daily live run): a day's run should not be lost to one blip. @defaultValue 3 */
    attempts: 3,
    /** First retry delay, doubling: a minute lets a restarting Redis or warehouse come back. @defaultValue 60 */
    backoffSeconds: 60,
    /** Completed scheduler jobs kept (about three months of daily runs). @defaultValue 100 */
    removeOnCompleteCount: 100,
    /** Failed scheduler jobs kept a week, for people. @defaultValue 604800 (7 days) */
    removeOnFailAgeSeconds: WEEK_SECONDS,
    /** Scheduler jobs one worker runs at once: the audit and the live run may overlap, nothing more is useful. @defaultValue 2 */
    workerConcurrency: 2,
  },
} as const;

/**
 * How long a worker's lock on a job lasts and how often stalled jobs are looked for: both
 * `PHASEGATE_STALLED_SECONDS`, so a job whose worker died is handed to another after that long.
 */
export function workerLockOptions(config: Pick<Config, 'jobs'>): { stalledInterval: number; lockDuration: number } {
  const ms = config.jobs.stalledSeconds * 1000;
  return { stalledInterval: ms, lockDuration: ms };
}

/**
 * Jobs one phase worker runs at once. Phase 3–5 jobs mostly wait on their reads, which jobs
 * running together share (group reads, src/warehouse/read-batch.ts): enough of them run at once
 * to fill a batch, since a group commit makes its slices ready together. The dry run's model
 * assumes the same.
 */
export function phaseConcurrency(config: Pick<Config, 'reads'>, phase: number, concurrency: number): number {
  const { gatherMs, batchJobs } = config.reads;
  return phase >= 3 && gatherMs > 0 ? Math.max(concurrency, batchJobs) : concurrency;
}

/**
 * Most jobs one BullMQ worker of a phase runs at once: a phase that runs more runs them in
 * several workers of one process (fetch lanes). A BullMQ worker takes its jobs from the queue
 * one round trip at a time (its main loop awaits each `moveToActive` before the next: "we fetch
 * jobs in sequence", bullmq/dist/cjs/classes/worker.js), so the last job of a burst — a group
 * commit's slices times the processors they unlock, all added at once by the tracker — started
 * a round trip per job after the first. Lanes take a burst in parallel: each `moveToActive`
 * leaves the queue's marker set while jobs wait (`addBaseMarkerIfNeeded`), waking the next lane.
 * Measured with bench:overhead's trigger part (committed event → dependent job starting, 200
 * dates, 8 runs each): one worker of 256, enqueued → started p95 27–88 ms (median 63), event →
 * start p95 52–127 ms (median 95); four of 64, 29–55 ms (median 38) and 48–99 ms (median 63).
 */
export const FETCH_LANE_JOBS = 64;

/** The concurrency of each worker a phase runs in one process (`FETCH_LANE_JOBS`): even shares of `phaseConcurrency`. */
export function phaseWorkerLanes(config: Pick<Config, 'reads'>, phase: number, concurrency: number): number[] {
  const total = phaseConcurrency(config, phase, concurrency);
  const lanes = Math.ceil(total / FETCH_LANE_JOBS);
  return Array.from({ length: lanes }, (_, i) => Math.floor(total / lanes) + (i < total % lanes ? 1 : 0));
}
