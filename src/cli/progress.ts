/**
 * `--wait`: follows a backfill until its requested processors are done — on a terminal with a
 * bar per processor the backfill reaches (src/cli/render) — then writes a failed-dates file
 * that `--retry-failed` reads when any date failed or is incomplete.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type BackfillProgress, type BackfillRecord, backfillProgress } from '../queues/backfill/backfill.ts';
import type { FailedDatesFile } from '../queues/backfill/dates.ts';
import type { PipelineContext } from '../queues/context.ts';
import { type BackfillView, watchBackfill } from './render/backfill-view.ts';

export interface WaitOutcome {
  progress: BackfillProgress;
  failedFile?: string | undefined;
  elapsedMs: number;
}

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
  let progress: BackfillProgress;
  try {
    for (;;) {
      progress = await backfillProgress(ctx, record);
      if (progress.done || opts.signal?.aborted) break;
      if (opts.timeoutMs && Date.now() - started > opts.timeoutMs) break;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
  } finally {
    await own?.stop();
  }
  const failedFile = await writeFailedDates(ctx, record, progress);
  return { progress, failedFile, elapsedMs: Date.now() - started };
}

export async function writeFailedDates(ctx: PipelineContext, record: BackfillRecord, progress: BackfillProgress): Promise<string | undefined> {
  const file: FailedDatesFile = { backfillId: record.id, createdAt: new Date().toISOString(), processors: {}, failures: [] };
  for (const [p, list] of Object.entries(progress.statuses)) {
    list.forEach((s, i) => {
      const slice = record.dates[i] as string;
      // Incomplete slices go in too: a retry once the missing games' files are there completes them.
      if (s && (s.status === 'failed' || s.status === 'deferred' || s.status === 'incomplete')) {
        const dates = file.processors[p] ?? [];
        dates.push(slice);
        file.processors[p] = dates;
        file.failures.push({ processor: p, slice, status: s.status, error: s.error });
      }
    });
  }
  if (file.failures.length === 0) return undefined;
  const dir = path.join(ctx.config.dataDir, 'failed');
  await mkdir(dir, { recursive: true });
  const out = path.join(dir, `failed_dates_${record.id}.json`);
  await writeFile(out, `${JSON.stringify(file, null, 2)}\n`);
  return out;
}
