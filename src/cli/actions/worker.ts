/** `phasegate worker`: phase workers and/or the table gates until SIGINT/SIGTERM. */
import inspector from 'node:inspector';
import type { Command } from 'commander';
import { InputError } from '../../errors/input-error.ts';
import { log } from '../../log.ts';
import type { Phase } from '../../processors/types.ts';
import { PHASES } from '../../queues/names.ts';
import { configFrom, type GlobalFlags, parsePositiveInt, untilSignal, withRuntime } from '../common.ts';
import { dieWithParent, givenHeapCapMb, runCapped, workerHeapMb } from '../worker-heap.ts';

export function parsePhases(list: string): { phases: Phase[]; commit: boolean } {
  const parts = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const phases: Phase[] = [];
  let commit = false;
  for (const part of parts) {
    if (part === 'commit') commit = true;
    else if (part === 'all') {
      phases.push(...PHASES);
      commit = true;
    } else {
      const n = Number(part);
      if (!PHASES.includes(n as Phase)) throw new InputError(`--phases: "${part}" is not a phase (1–5), "commit" or "all"`);
      phases.push(n as Phase);
    }
  }
  return { phases: [...new Set(phases)], commit };
}

export async function runWorker(flags: { phases: string; concurrency: string }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  const { phases, commit } = parsePhases(flags.phases);
  const concurrency = parsePositiveInt(flags.concurrency, '--concurrency');
  const cap = workerHeapMb(config, { phases, commit, concurrency });
  const given = givenHeapCapMb(process.execArgv, process.env.NODE_OPTIONS);
  // Under a debugger (node --inspect) the work stays in the process being debugged, uncapped.
  if (cap !== undefined && given === undefined && inspector.url() === undefined) {
    // The work runs in a child node started with the cap; this process waits for it.
    process.exitCode = await runCapped(cap);
    return;
  }
  dieWithParent();
  const heap = given === undefined ? '' : `, JS heap cap ${given} MB`;
  await withRuntime(config, async (rt) => {
    await rt.startWorkers({ phases, commit, concurrency });
    log.info(`worker running: phases ${phases.join(',') || '-'}${commit ? ' + table commit gates' : ''}, concurrency ${concurrency}${heap}; Ctrl-C to stop`);
    const sig = await untilSignal();
    // close() waits for active jobs to finish; a job still running when the process
    // is killed is handed back to the queue by BullMQ's stalled-job check.
    log.info(`${sig}: finishing active jobs, then stopping`);
  });
}
