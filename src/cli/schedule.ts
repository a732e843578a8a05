/**
 * `phasegate schedule list | set NAME --cron "…" [--tz …] | remove NAME`: what it accepts and
 * its help; the work is in actions/schedule.ts. A running `phasegate worker` with the commit
 * gates (the default `--phases all`) works the schedules' jobs.
 */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('the daily schedules (BullMQ job schedulers in Redis): list, set, remove');
  schedule
    .command('list')
    .description('the built-in schedules (daily-live, daily-audit) and when they run next')
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/schedule.ts').then((m) => m.runScheduleList)));
  schedule
    .command('set <name>')
    .description('create or update a schedule (setting it again replaces it: never two)')
    .requiredOption('--cron <pattern>', 'cron pattern, e.g. "0 9 * * *" (a 6th leading field is seconds)')
    .option('--tz <zone>', 'IANA time zone of the pattern and of "yesterday" (default UTC)')
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/schedule.ts').then((m) => m.runScheduleSet)));
  schedule
    .command('remove <name>')
    .description('remove a schedule (its jobs stop; nothing else changes)')
    .action(lazyAction(() => import('./actions/schedule.ts').then((m) => m.runScheduleRemove)));
  withExamples(schedule, [
    ['phasegate schedule set daily-live --cron "0 6 * * *" --tz America/New_York', "yesterday's games through phase 5, every morning"],
    ['phasegate schedule set daily-audit --cron "0 9 * * *" --tz America/New_York', 'the source-coverage audit of the last 7 days, after the live run'],
    ['phasegate schedule list', 'what is set and when it runs next'],
  ]);
}
