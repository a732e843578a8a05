/**
 * The processing-run log: one row per run of a phase job in
 * `nba_orchestration.processing_run_log`, staged for that table's group commit (many rows
 * per INSERT). A run in progress is noted in Redis; a note still there when the job starts
 * again belongs to a run that never finished — its process was killed — and becomes an
 * `interrupted` row, so crashes show in the log.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { log } from '../../log.ts';
import { RedisStep } from '../../redis/step.ts';
import { processingRunLog, type RunStatus } from '../../tables/processing-run-log.ts';
import { stageAppendRows, stageAppendRowsIn } from '../commit/staging.ts';
import type { PipelineContext } from '../context.ts';
import type { PhaseJobData } from '../names.ts';

/** One row of the run log (a type, so it is a `Row`). */
export type RunLogRow = {
  run_id: string;
  job_id: string;
  processor: string;
  phase: number;
  slice: string;
  status: RunStatus;
  row_count: number | null;
  duration_ms: number | null;
  error: string | null;
  notes: string | null;
  started_at: string;
  finished_at: string | null;
  attempt: number;
  backfill_id: string | null;
  run_date: string;
};

interface OpenRun {
  runId: string;
  processor: string;
  phase: number;
  slice: string;
  startedAt: string;
  attempt: number;
  backfillId?: string | undefined;
}

type RunOutcome = { rows?: number | undefined; error?: string | undefined; notes?: string | undefined };

export interface RunHandle {
  /** Logs how the run ended, unless `endIn` did. Never throws: a log row must not fail the job it describes. */
  finish(status: Exclude<RunStatus, 'interrupted'>, outcome?: RunOutcome): Promise<void>;
  /**
   * Ends the run in the job's last step: its row (inline in the log table's pending hash, a
   * few hundred bytes) and the end of its note land in that step's MULTI, so the end costs no
   * round trip of its own, and a kill leaves either both (the row is logged) or neither (the
   * note stays, and the next run of the job logs this one as interrupted). Once the step ran,
   * `finish` does nothing.
   */
  endIn(step: RedisStep, status: Exclude<RunStatus, 'interrupted'>, outcome?: RunOutcome): Promise<void>;
}

async function stage(ctx: PipelineContext, rows: RunLogRow[]): Promise<boolean> {
  try {
    await stageAppendRows(ctx, processingRunLog.table, processingRunLog.name, rows);
    return true;
  } catch (err) {
    log.error(`run log: could not stage ${rows.length} rows: ${(err as Error).message}`);
    return false;
  }
}

function rowOf(
  run: OpenRun,
  jobId: string,
  status: RunStatus,
  end: { at?: Date; rows?: number | undefined; error?: string | undefined; notes?: string | undefined },
): RunLogRow {
  return {
    run_id: run.runId,
    job_id: jobId,
    processor: run.processor,
    phase: run.phase,
    slice: run.slice,
    status,
    row_count: end.rows ?? null,
    duration_ms: end.at ? end.at.getTime() - Date.parse(run.startedAt) : null,
    error: end.error ?? null,
    notes: end.notes ?? null,
    started_at: run.startedAt,
    finished_at: end.at?.toISOString() ?? null,
    attempt: run.attempt,
    backfill_id: run.backfillId ?? null,
    run_date: run.startedAt.slice(0, 10),
  };
}

/**
 * Notes the start of a phase job's run (logging the run before it if that one was killed).
 * `alongside` adds the job's other writes of its first step (its `running` status) to the same
 * step: one round trip.
 */
export async function startRun(ctx: PipelineContext, job: Job<PhaseJobData>, phase: number, alongside?: (step: RedisStep) => void): Promise<RunHandle> {
  const key = ctx.keys.runsOpen();
  const jobId = job.id ?? `${job.data.processor}.${job.data.slice}`;
  const run: OpenRun = {
    runId: randomUUID(),
    processor: job.data.processor,
    phase,
    slice: job.data.slice,
    startedAt: new Date().toISOString(),
    attempt: job.attemptsMade + 1,
    backfillId: job.data.backfillId,
  };
  try {
    const step = new RedisStep(ctx.redis);
    const note = step.add((multi) => multi.hget(key, jobId).hset(key, jobId, JSON.stringify(run)));
    alongside?.(step);
    await step.run(`start of run ${jobId}`);
    const [previous] = note() as [string | null];
    if (previous) {
      const killed = JSON.parse(previous) as OpenRun;
      await stage(ctx, [rowOf(killed, jobId, 'interrupted', { error: 'the run never finished: its worker process stopped (killed or crashed)' })]);
    }
  } catch (err) {
    // The caller's own writes (its status) must land: their failure is the job's.
    if (alongside) throw err;
    log.warn(`run log: could not note the start of ${jobId}: ${(err as Error).message}`);
  }
  let ended = false;
  /** Queues the run's row and the end of its note into `step`; returns what asks for the log's commit, once the step ran. */
  const queueEnd = async (step: RedisStep, status: Exclude<RunStatus, 'interrupted'>, outcome: RunOutcome): Promise<() => Promise<void>> => {
    const askCommit = await stageAppendRowsIn(step, ctx, processingRunLog.table, processingRunLog.name, [
      rowOf(run, jobId, status, { at: new Date(), ...outcome }),
    ]);
    step.add((multi) => multi.hdel(key, jobId));
    return askCommit;
  };
  return {
    async finish(status, outcome = {}) {
      if (ended) return;
      ended = true;
      const step = new RedisStep(ctx.redis);
      try {
        const askCommit = await queueEnd(step, status, outcome);
        await step.run(`end of run ${jobId}`);
        await askCommit();
      } catch (err) {
        log.error(`run log: could not log the end of ${jobId}: ${(err as Error).message}`);
        await ctx.redis.hdel(key, jobId).catch(() => 0);
      }
    },
    async endIn(step, status, outcome = {}) {
      let askCommit: () => Promise<void>;
      try {
        askCommit = await queueEnd(step, status, outcome);
      } catch (err) {
        // Not logged with the step: `finish` logs it once the job ends.
        log.error(`run log: could not stage the end of ${jobId}: ${(err as Error).message}`);
        return;
      }
      step.afterRun(async () => {
        ended = true;
        await askCommit().catch((err: unknown) => log.error(`run log: could not ask for the log's commit: ${(err as Error).message}`));
      });
    },
  };
}

/**
 * One run-log row for what a table gate let through on a backfill's say-so (`--allow-shrink`,
 * `--allow-move`): the commit job is the run, the slice and the reason are the row.
 */
export async function logGateOverride(
  ctx: PipelineContext,
  entry: { processor: string; phase: number; slice: string; backfillId?: string | undefined; jobId: string; rows: number; notes: string },
): Promise<void> {
  const at = new Date();
  const run: OpenRun = {
    runId: randomUUID(),
    processor: entry.processor,
    phase: entry.phase,
    slice: entry.slice,
    startedAt: at.toISOString(),
    attempt: 1,
    backfillId: entry.backfillId,
  };
  await stage(ctx, [rowOf(run, entry.jobId, 'succeeded', { at, rows: entry.rows, notes: entry.notes })]);
}
