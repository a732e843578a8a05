/**
 * The "export failed dates" download: the same `FailedDatesFile` that `backfill --wait`
 * writes, so `phasegate backfill --retry-failed <file>` reads it unchanged.
 */
import type { BackfillProgress, BackfillRecord } from '../../queues/backfill.ts';
import type { FailedDatesFile } from '../../queues/dates.ts';
import type { SliceState } from '../../queues/status-store.ts';

/** States a person has to act on: nothing more happens to them by itself. */
export const RETRYABLE_STATES: ReadonlySet<SliceState> = new Set(['failed', 'deferred', 'incomplete']);

export function failedDatesFile(record: BackfillRecord, progress: BackfillProgress, now = new Date()): FailedDatesFile {
  const file: FailedDatesFile = { backfillId: record.id, createdAt: now.toISOString(), processors: {}, failures: [] };
  for (const p of record.processors) {
    const list = progress.statuses[p] ?? [];
    list.forEach((s, i) => {
      const slice = record.dates[i];
      if (!s || slice === undefined || !RETRYABLE_STATES.has(s.status)) return;
      const list = file.processors[p] ?? [];
      list.push(slice);
      file.processors[p] = list;
      file.failures.push({ processor: p, slice, status: s.status, error: s.error });
    });
  }
  return file;
}
