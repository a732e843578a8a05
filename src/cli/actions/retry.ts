/** `phasegate retry --deferred`: brings deferred slices back with one command; nothing is re-run. */
import type { Command } from 'commander';
import { InputError } from '../../errors/input-error.ts';
import { retryDeferred } from '../../queues/conflicts/hold.ts';
import { configFrom, type GlobalFlags, withRuntime } from '../common.ts';

export async function runRetry(flags: { deferred?: boolean; table?: string; slices?: string; json?: boolean }, cmd: Command): Promise<void> {
  if (!flags.deferred) throw new InputError('retry: say what to retry: --deferred (failed dates: phasegate backfill --retry-failed <file>)');
  const slices = flags.slices
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of slices ?? []) if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) throw new InputError(`--slices: "${s}" is not a YYYY-MM-DD date`);
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  await withRuntime(config, async (rt) => {
    const result = await retryDeferred(rt, { table: flags.table, slices });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    if (result.length === 0) process.stdout.write('no deferred slices\n');
    for (const r of result) process.stdout.write(`${r.table}: ${r.slices.length} deferred slices queued for commit now (${r.slices.join(', ')})\n`);
  });
}
