/**
 * `phasegate worker`'s heap cap. Node sizes a process's heap from the machine's RAM and lets
 * garbage pile up toward it before collecting hard, so a phase-2 worker holding ~40 MB peaks
 * at ~300 MB RSS on a large machine. The cap is a V8 flag fixed when the process starts (set
 * later with `v8.setFlagsFromString` it changes nothing), so the worker command runs its work
 * in a child node started with `--max-old-space-size`, unless node already has one.
 *
 * The parent only waits: it passes on SIGINT, SIGTERM and SIGHUP and ends with the child's
 * exit code. The child runs in its own process group, so a terminal's Ctrl-C reaches it once
 * (through the parent), and it kills itself when the parent dies without a word (SIGKILL):
 * the IPC channel between them closes.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Config } from '../config/load-config.ts';
import type { Phase } from '../processors/types.ts';
import { DUCKDB_ALLOCATOR_CONF } from '../warehouse/duckdb/allocator.ts';

/** The auto cap's floor and its growth per job running at once, MB (a phase-1/2 job holds one date's raw file and its rows). */
const AUTO_BASE_MB = 64;
const AUTO_PER_JOB_MB = 3;
/**
 * What phases 3–5 and the table gates add, MB: their batches are bounded by the settings, not
 * by the dates of a run — a gathered read serves at most `PHASEGATE_READ_BATCH_JOBS` jobs (a
 * quarter MB each here) and a commit lands at most `commitMaxSlices` slices. What is live
 * follows the phase 3–5 jobs in flight. Until 2026-12-05 a 1,700-date cascade ran out of heap
 * under a 110 MB cap with 96–106 MB live, nearly all rows: raw lines held as hash tables
 * (src/warehouse/row-shape.ts) and a read batch's per-job lists all alive at once
 * (src/warehouse/read-batch.ts). Since, it runs under 110 MB (JS heap peak 97.5 MB, 0 failed,
 * but slow: the collector runs all the time), so the cap of such a process (64 + 36 + 64 + 64
 * = 228 MB at `--concurrency` 12) is over twice what it holds at its peak
 * (bench:scale --cascade --sizes 1700, 2026-12-05).
 */
const DATA_BASE_MB = 64;
const READ_JOBS_PER_MB = 4;

export interface WorkerShape {
  phases: readonly Phase[];
  commit: boolean;
  concurrency: number;
}

/**
 * The heap cap a `phasegate worker` of this shape runs with, MB, or undefined for Node's own:
 * 64 + 3 MB per job at once, and 64 + a quarter MB per job a gathered read serves more when it
 * runs phases 3–5 or the table gates (with the embedded DuckDB its buffers are outside the heap,
 * under `PHASEGATE_DUCKDB_MEMORY_LIMIT`).
 */
export function workerHeapMb(config: Pick<Config, 'workerHeapMb' | 'reads'>, shape: WorkerShape): number | undefined {
  if (config.workerHeapMb !== undefined) return config.workerHeapMb === 0 ? undefined : config.workerHeapMb;
  const base = AUTO_BASE_MB + AUTO_PER_JOB_MB * shape.concurrency;
  const dataSized = shape.commit || shape.phases.some((p) => p >= 3);
  return dataSized ? base + DATA_BASE_MB + Math.ceil(config.reads.batchJobs / READ_JOBS_PER_MB) : base;
}

/**
 * The environment a capped worker process starts with: `MALLOC_ARENA_MAX=2` unless it is set,
 * and DuckDB's allocator told to return freed memory at once (src/warehouse/duckdb/allocator.ts).
 * glibc gives each thread that allocates at once an arena of its own (up to 8 per core), and
 * keeps what is freed in each. In a 1,700-date cascade (bench:scale, one run each) it took the
 * gate process from 515 to 477 MB with DuckDB limited to 96 MB, and from 576 to 572 MB at 256 MB,
 * for no speed we could see. glibc reads it when the process starts, so it can only be given
 * to a child.
 */
export function cappedProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2', DUCKDB_JE_MALLOC_CONF: env.DUCKDB_JE_MALLOC_CONF ?? DUCKDB_ALLOCATOR_CONF };
}

/**
 * The heap cap node was started with (`--max-old-space-size` among its flags or in
 * `NODE_OPTIONS`, the last one winning as node takes it), MB; undefined without one.
 */
export function givenHeapCapMb(execArgv: readonly string[], nodeOptions: string | undefined): number | undefined {
  const flag = /--max[-_]old[-_]space[-_]size[= ](\d+)/g;
  // NODE_OPTIONS comes before the command line's flags.
  const found = [...`${nodeOptions ?? ''} ${execArgv.join(' ')}`.matchAll(flag)];
  const last = found.at(-1)?.[1];
  return last === undefined ? undefined : Number(last);
}

/**
 * Node's flags for a process capped at `mb`: the old generation's cap, and the young
 * generation's semi-spaces at a 50th of it (4–16 MB; Node's own is 16). At 16 MB a phase-2
 * worker capped at 100 MB still peaked at 172–175 MB RSS; at 4 MB, 155–157 (bench:scale, 1,700 dates).
 * The commit-gate process with phases 3–5 (capped at 228 MB) took 400.8 / 419.2 MB at 9 MB
 * (a 25th) and 399.7 / 397.5 MB at 5, in the same time (218–236 s; bench:scale --cascade
 * --sizes 1700, 2026-12-05).
 */
export function heapFlags(mb: number): string[] {
  const semi = Math.min(16, Math.max(4, Math.round(mb / 50)));
  return [`--max-old-space-size=${mb}`, `--max-semi-space-size=${semi}`];
}

const PASSED_ON = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Names the capped child's parent (its pid), so the child tells its own parent from any other
 * process holding an IPC channel to it (a process manager that forks). Not a setting: outside
 * `PHASEGATE_*`, and the child removes it.
 */
const CHILD_OF = '__PHASEGATE_CAPPED_CHILD_OF';

/**
 * Runs this same command again in a child node capped at `mb`, and resolves with the exit
 * code to end with once the child has ended.
 */
export async function runCapped(mb: number): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...heapFlags(mb), ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
    env: { ...cappedProcessEnv(process.env), [CHILD_OF]: String(process.pid) },
  });
  const passOn = (sig: NodeJS.Signals) => child.kill(sig);
  for (const sig of PASSED_ON) process.on(sig, passOn);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 0)));
    });
  } finally {
    for (const sig of PASSED_ON) process.off(sig, passOn);
  }
}

/**
 * In the capped child: end at once if the parent dies (its IPC channel closes), as the whole
 * worker would have. The channel itself never keeps the child running. A process that is not
 * our capped child (run by hand, or forked by a process manager) is left alone.
 */
export function dieWithParent(): void {
  const parent = process.env[CHILD_OF];
  delete process.env[CHILD_OF];
  if (!process.send || parent !== String(process.ppid)) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel?.unref();
}
