/** The work of `phasegate schedule list | set | remove` (the built-in schedules as BullMQ job schedulers). */
import type { Command } from 'commander';
import { listSchedules, removeSchedule, type ScheduleView, setSchedule } from '../../schedules/store.ts';
import { configFrom, type GlobalFlags, withRuntime } from '../common.ts';

function line(s: ScheduleView): string {
  const when = s.registered
    ? `cron "${s.cron}"${s.tz ? ` ${s.tz}` : ' UTC'}, next ${s.next ?? '—'}, ${s.iterations ?? 0} job(s) produced so far`
    : `not set (e.g. --cron "${s.suggestedCron}")`;
  return `${s.name.padEnd(12)} ${when}\n${' '.repeat(13)}${s.description}`;
}

export async function runScheduleList(flags: { json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  await withRuntime(config, async (rt) => {
    const list = await listSchedules(rt);
    if (flags.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    else for (const s of list) process.stdout.write(`${line(s)}\n`);
  });
}

export async function runScheduleSet(name: string, flags: { cron: string; tz?: string; json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  await withRuntime(config, async (rt) => {
    const view = await setSchedule(rt, name, { cron: flags.cron, tz: flags.tz });
    if (flags.json) process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
    else process.stdout.write(`${line(view)}\n`);
  });
}

export async function runScheduleRemove(name: string, _flags: unknown, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  await withRuntime(config, async (rt) => {
    const removed = await removeSchedule(rt, name);
    process.stdout.write(removed ? `removed schedule ${name}\n` : `schedule ${name} was not set\n`);
  });
}
