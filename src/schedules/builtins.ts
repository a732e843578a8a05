/**
 * The schedules phasegate knows: each one a BullMQ job scheduler on the scheduler queue whose
 * id is the schedule's name, so `schedule set` of the same name twice updates one scheduler.
 */
import { SCHEDULER_JOBS, type SchedulerJobName } from '../queues/names.ts';

export interface BuiltinSchedule {
  name: string;
  /** The scheduler job it produces. */
  job: SchedulerJobName;
  description: string;
  /** What `schedule list` suggests when it is not set (times in the schedule's --tz). */
  suggestedCron: string;
}

export const BUILTIN_SCHEDULES: readonly BuiltinSchedule[] = [
  {
    name: 'daily-live',
    job: SCHEDULER_JOBS.dailyLive,
    description: "yesterday's games: every primary scraper, cascaded through phase 5 at live priority",
    // After the last West-coast games have ended and the feeds have settled.
    suggestedCron: '0 6 * * *',
  },
  {
    name: 'daily-audit',
    job: SCHEDULER_JOBS.dailyAudit,
    description: 'source-coverage audit of the last 7 days: logs coverage, fills gaps from the fallback, alerts on games no source has',
    // After daily-live has had time to land.
    suggestedCron: '0 9 * * *',
  },
];

export function builtinSchedule(name: string): BuiltinSchedule | undefined {
  return BUILTIN_SCHEDULES.find((s) => s.name === name);
}
