/**
 * `phasegate schedule list | set | remove`: the built-in schedules as BullMQ job schedulers.
 * They live in Redis (not in any process), so they survive worker restarts; upserting under
 * the schedule's name is idempotent, so setting one twice never makes two.
 */

import { todayIn } from '../coverage/window.ts';
import { InputError } from '../errors/input-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import type { PipelineContext } from '../queues/context.ts';
import { BUILTIN_SCHEDULES, builtinSchedule } from './builtins.ts';

export interface ScheduleView {
  name: string;
  description: string;
  registered: boolean;
  cron?: string | undefined;
  tz?: string | undefined;
  /** When the next job is due (ISO), as the scheduler says. */
  next?: string | undefined;
  /** Jobs it has produced so far. */
  iterations?: number | undefined;
  suggestedCron: string;
}

function known(name: string) {
  const s = builtinSchedule(name);
  if (!s) throw new InputError(`unknown schedule "${name}" (known: ${BUILTIN_SCHEDULES.map((b) => b.name).join(', ')})`);
  return s;
}

export async function listSchedules(ctx: Pick<PipelineContext, 'queues'>): Promise<ScheduleView[]> {
  const queue = ctx.queues.scheduler();
  return Promise.all(
    BUILTIN_SCHEDULES.map(async (b): Promise<ScheduleView> => {
      const s = await queue.getJobScheduler(b.name);
      return {
        name: b.name,
        description: b.description,
        registered: !!s,
        cron: s?.pattern,
        tz: s?.tz,
        next: s?.next ? new Date(s.next).toISOString() : undefined,
        iterations: s?.iterationCount,
        suggestedCron: b.suggestedCron,
      };
    }),
  );
}

export async function setSchedule(ctx: Pick<PipelineContext, 'queues'>, name: string, opts: { cron: string; tz?: string | undefined }): Promise<ScheduleView> {
  const b = known(name);
  const cron = opts.cron.trim();
  if (cron === '') throw new InputError('--cron: give a cron pattern, e.g. "0 9 * * *"');
  if (opts.tz !== undefined) todayIn(new Date(), opts.tz);
  try {
    await ctx.queues
      .scheduler()
      .upsertJobScheduler(b.name, { pattern: cron, ...(opts.tz ? { tz: opts.tz } : {}) }, { name: b.job, data: opts.tz ? { tz: opts.tz } : {} });
  } catch (err) {
    // BullMQ parses the pattern (cron-parser) before it writes anything.
    throw new InputError(`--cron: "${cron}" is not a valid cron pattern: ${(err as Error).message}`);
  }
  const view = (await listSchedules(ctx)).find((s) => s.name === b.name);
  if (!view) throw new TransientError(`schedule ${b.name} vanished after it was set`);
  return view;
}

export async function removeSchedule(ctx: Pick<PipelineContext, 'queues'>, name: string): Promise<boolean> {
  return ctx.queues.scheduler().removeJobScheduler(known(name).name);
}
