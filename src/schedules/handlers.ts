/**
 * What each scheduler job does. The audit runs in two jobs: `daily-audit` (or `audit-now`)
 * scans, logs and asks the fallback; it then adds `audit-finish`, which waits — delayed, not
 * holding a worker — until the fallback has settled (or its deadline passed), then judges and
 * announces. The finish job's id is derived from the run, so it is never added twice.
 */
import type { Job } from 'bullmq';
import { scaledMs } from '../config/load-config.ts';
import { AUDIT_DEFAULTS, type AuditOptions, type AuditState, fallbackSettled, finishAudit, startAudit } from '../coverage/audit.ts';
import { auditWindow } from '../coverage/window.ts';
import type { PipelineContext } from '../queues/context.ts';
import { auditJobId, SCHEDULER_JOBS, type SchedulerJobData } from '../queues/names.ts';
import type { SchedulerHandler } from '../queues/scheduler-worker.ts';
import { runDailyLive, yesterday } from './daily-live.ts';

/** Step one in this job, step two as its own (delayed) job. */
async function startQueuedAudit(ctx: PipelineContext, opts: AuditOptions): Promise<{ runId: string; fallback: AuditState['fallback'] }> {
  const state = await startAudit(ctx, opts);
  await ctx.queues
    .scheduler()
    .add(
      SCHEDULER_JOBS.auditFinish,
      { state },
      { jobId: auditJobId('finish', state.runId), delay: state.fallback || state.repair ? scaledMs(ctx.config, AUDIT_DEFAULTS.pollSeconds) : 0 },
    );
  return { runId: state.runId, fallback: state.fallback };
}

/** The data of an `audit-now` job (`phasegate audit` when a worker holds the warehouse). */
export interface AuditNowData extends SchedulerJobData {
  start: string;
  end: string;
  runId: string;
  fallback: boolean;
}

export function schedulerHandlers(ctx: PipelineContext): Record<string, SchedulerHandler> {
  return {
    [SCHEDULER_JOBS.dailyLive]: async (job: Job<SchedulerJobData>) => ({ result: await runDailyLive(ctx, { date: yesterday(new Date(), job.data.tz) }) }),
    [SCHEDULER_JOBS.dailyAudit]: async (job: Job<SchedulerJobData>) => {
      const window = auditWindow({ now: new Date(), tz: job.data.tz });
      // One run per schedule tick: the tick's job id names it.
      return {
        result: await startQueuedAudit(ctx, { ...window, runId: `daily-audit-${window.end}-${job.id ?? Date.now()}`.replace(/[^A-Za-z0-9_.-]/g, '-') }),
      };
    },
    [SCHEDULER_JOBS.auditNow]: async (job: Job<SchedulerJobData>) => {
      const d = job.data as AuditNowData;
      return { result: await startQueuedAudit(ctx, { start: d.start, end: d.end, runId: d.runId, fallback: d.fallback }) };
    },
    [SCHEDULER_JOBS.auditFinish]: async (job: Job<SchedulerJobData>) => {
      const state = job.data.state as AuditState;
      if (!(await fallbackSettled(ctx, state)) && Date.now() < Date.parse(state.deadline)) {
        return { retryAt: Date.now() + scaledMs(ctx.config, AUDIT_DEFAULTS.pollSeconds) };
      }
      return { result: await finishAudit(ctx, state) };
    },
  };
}
