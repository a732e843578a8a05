/**
 * `--wait`: a progress bar per processor (cli-progress) while a backfill runs, then a summary
 * and, when anything failed, a failed-dates file that `--retry-failed` reads.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { type BackfillProgress, type BackfillRecord, backfillProgress } from '../queues/backfill.ts';
import type { PipelineContext } from '../queues/context.ts';
import type { FailedDatesFile } from '../queues/dates.ts';

export interface WaitOutcome {
  progress: BackfillProgress;
  failedFile?: string | undefined;
  elapsedMs: number;
}

export async function waitForBackfill(
  ctx: PipelineContext,
  record: BackfillRecord,
  opts: { bars: boolean; pollMs?: number; timeoutMs?: number; signal?: AbortSignal },
): Promise<WaitOutcome> {
  const started = Date.now();
  const multibar = opts.bars
    ? new cliProgress.MultiBar(
        {
          format:
            ' {processor} |{bar}| {value}/{total} committed {committed} · incomplete {incomplete} · empty {empty} · waiting {waiting} · failed {failed} · {eta_formatted}',
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_grey,
      )
    : undefined;
  const width = Math.max(...record.processors.map((p) => p.length));
  const bars = new Map(
    record.processors.map((p) => [
      p,
      multibar?.create(record.dates.length, 0, { processor: p.padEnd(width), committed: 0, incomplete: 0, empty: 0, waiting: 0, failed: 0 }),
    ]),
  );
  let progress: BackfillProgress;
  for (;;) {
    progress = await backfillProgress(ctx, record);
    for (const [p, counts] of Object.entries(progress.perProcessor)) {
      const done = counts.committed + counts.incomplete + counts.empty + counts.failed + counts.deferred;
      bars.get(p)?.update(done, {
        committed: counts.committed,
        incomplete: counts.incomplete,
        empty: counts.empty,
        waiting: counts.waiting,
        failed: counts.failed + counts.deferred,
      });
    }
    if (progress.done || opts.signal?.aborted) break;
    if (opts.timeoutMs && Date.now() - started > opts.timeoutMs) break;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
  multibar?.stop();
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

export function summaryLines(record: BackfillRecord, progress: BackfillProgress): string[] {
  const lines = [`backfill ${record.id}: ${record.dates.length} dates × ${record.processors.length} processors`];
  for (const [p, c] of Object.entries(progress.perProcessor)) {
    lines.push(
      `  ${p}: ${c.committed} committed, ${c.incomplete} incomplete, ${c.empty} empty, ${c.failed} failed, ${c.deferred} deferred, ${c.waiting} waiting, ${c.pending + c.running + c.staged} not finished`,
    );
  }
  return lines;
}
