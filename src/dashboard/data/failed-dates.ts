/**
 * The "export failed dates" download: the same `FailedDatesFile` that `backfill --wait`
 * writes, so `phasegate backfill --retry-failed <file>` reads it unchanged.
 */
import type { BackfillRecord } from '../../queues/backfill/backfill.ts';
import { type EndedSlice, type FailedDatesFile, failedDatesFile as fileOf } from '../../queues/backfill/dates.ts';
import { RETRIED_STATES, type SliceStatus } from '../../queues/status-store.ts';

/** States a person has to act on: nothing more happens to them by itself. */
export const RETRYABLE_STATES = RETRIED_STATES;

/**
 * The file for a backfill, from per-processor statuses of its dates (in the record's order):
 * every processor given — a cascade's downstream ones too — and every retryable slice.
 */
export function failedDatesFile(record: BackfillRecord, statuses: Record<string, readonly (SliceStatus | undefined)[]>, now = new Date()): FailedDatesFile {
  const slices: EndedSlice[] = [];
  for (const [processor, list] of Object.entries(statuses))
    list.forEach((s, i) => {
      const slice = record.dates[i];
      if (s && slice !== undefined) slices.push({ processor, slice, status: s.status, error: s.error });
    });
  return fileOf(record, slices, now);
}
