/** `phasegate cancel <run id>`: ends a run; says what it removed and what still lands. */
import type { Command } from 'commander';
import { backfillProgress, getBackfill } from '../../queues/backfill/backfill.ts';
import { cancelRun } from '../../queues/runs/cancel.ts';
import { configFrom, type GlobalFlags, withRuntime } from '../common.ts';
import { writeFailedDates } from '../progress.ts';
import { plural } from '../render/text.ts';

export async function runCancel(id: string, flags: { json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  await withRuntime(config, async (rt) => {
    const outcome = await cancelRun(rt, id);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(outcome)}\n`);
      return;
    }
    if (outcome.alreadyEnded) {
      process.stdout.write(`run ${id} had already ended: nothing to cancel\n`);
      return;
    }
    process.stdout.write(
      `run ${id} cancelled: ${plural(outcome.removed, 'queued job')} removed, ${plural(outcome.cancelled, 'slice')} cancelled, ${plural(outcome.landing, 'slice')} still landing (running or staged)\n`,
    );
    const file = await writeFailedDates(rt, await getBackfill(rt, id), await backfillProgress(rt, await getBackfill(rt, id)));
    process.stdout.write(`  follow it: phasegate status --backfill ${id}\n`);
    if (file) process.stdout.write(`  failed dates written to ${file}\n  retry: phasegate backfill --retry-failed ${file}\n`);
  });
}
