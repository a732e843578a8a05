/**
 * `--wait`: follows a run until its whole graph is terminal — every slice it reaches, a
 * cascade's downstream phases and the slices it triggered beyond its dates included — on a
 * terminal with a bar per processor (src/cli/render), then writes a failed-dates file that
 * `--retry-failed` reads when any slice failed, was ruled out or is incomplete.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileError } from '../errors/file-error.ts';
import { toError } from '../errors/phasegate-error.ts';
import { type BackfillProgress, type BackfillRecord, backfillProgressOf } from '../queues/backfill/backfill.ts';
import { type CascadeProgress, waitForCascade } from '../queues/backfill/cascade.ts';
import { failedDatesFile } from '../queues/backfill/dates.ts';
import type { PipelineContext } from '../queues/context.ts';
import { logsLanded } from '../queues/runs/graph.ts';
import { type BackfillView, watchBackfill } from './render/backfill-view.ts';

export interface WaitOutcome {
  progress: BackfillProgress;
  /** The same last read of the run's graph, per phase (what `waitForCascade` returns). */
  run: CascadeProgress;
  failedFile?: string | undefined;
  elapsedMs: number;
  /** The run ended but its log rows had not landed within LOGS_WAIT_MS (no commit worker running?). */
  logsPending: boolean;
}

/** How long a finished run waits for its log rows to land (real ms): a few gather windows and MERGEs at any time scale. */
const LOGS_WAIT_MS = 120_000;

export interface WaitOptions {
  /** Draw bars on standard error (a terminal). Ignored when `view` is given. */
  bars: boolean;
  /** Bars the caller opened and stops: they outlive this wait (a cascade's later phases). */
  view?: BackfillView | undefined;
  /** Print `info` log lines above the bars (`--verbose`). @defaultValue false */
  verbose?: boolean | undefined;
  /** @defaultValue 500 */
  pollMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

export async function waitForBackfill(ctx: PipelineContext, record: BackfillRecord, opts: WaitOptions): Promise<WaitOutcome> {
  const started = Date.now();
  // Bars of its own when the caller has none: they stop with this wait.
  const own = !opts.view && opts.bars ? watchBackfill(ctx, record, { verbose: opts.verbose }) : undefined;
  let run: CascadeProgress;
  let progress: BackfillProgress;
  let logsPending = false;
  try {
    // A timeout of 0 waits as long as it takes.
    run = await waitForCascade(ctx, record, { pollMs: opts.pollMs, timeoutMs: opts.timeoutMs || undefined, signal: opts.signal });
    progress = backfillProgressOf(record, run.graph);
    // The run's log rows land through their own gates a gather window after its last slice.
    if (progress.done) logsPending = !(await logsLanded(ctx, { timeoutMs: LOGS_WAIT_MS, signal: opts.signal }));
  } finally {
    await own?.stop();
  }
  const failedFile = await writeFailedDates(ctx, record, progress);
  return { progress, run, failedFile, elapsedMs: Date.now() - started, logsPending };
}

/**
 * The failed-dates file of a run: its cascade flag and every slice of its graph that ended
 * failed, deferred, upstream_failed, cancelled or incomplete — `--retry-failed` re-runs them
 * and, with the cascade, everything downstream of them, as the original run would have.
 */
export async function writeFailedDates(ctx: PipelineContext, record: BackfillRecord, progress: BackfillProgress): Promise<string | undefined> {
  const slices = [...progress.graph.cells].flatMap(([processor, cells]) =>
    [...cells].sort(([a], [b]) => a.localeCompare(b)).map(([slice, cell]) => ({ processor, slice, status: cell.state, error: cell.status?.error })),
  );
  const file = failedDatesFile(record, slices);
  if (file.failures.length === 0) return undefined;
  const name = `failed_dates_${record.id}.json`;
  const body = `${JSON.stringify(file, null, 2)}\n`;
  // The data folder first; when it has no room (a full disk ended the run), the system's
  // temporary folder; when neither does, one line says so, and the statuses still hold them.
  const places = [path.join(ctx.config.dataDir, 'failed'), path.join(tmpdir(), 'phasegate-failed')];
  const refused: string[] = [];
  for (const dir of places) {
    const out = path.join(dir, name);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(out, body);
      if (refused.length > 0) process.stderr.write(`phasegate: failed-dates file: ${refused.join('; ')}; written to ${out} instead\n`);
      return out;
    } catch (err) {
      await rm(out, { force: true }).catch(() => undefined);
      refused.push(toError(fileError(err, 'writing', out)).message);
    }
  }
  process.stderr.write(
    `phasegate: failed-dates file not written: ${refused.join('; ')}; \`phasegate status --backfill ${record.id}\` lists the slices to run again\n`,
  );
  return undefined;
}
