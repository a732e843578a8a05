/** Date arguments: validated `YYYY-MM-DD`, ranges, and date files. */
import { readFile } from 'node:fs/promises';
import { InputError } from '../../errors/input-error.ts';
import type { BackfillRecord } from '../runs/record.ts';
import { RETRIED_STATES, type SliceState } from '../status-store.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function parseDate(value: string, what = 'date'): string {
  const d = new Date(`${value}T00:00:00Z`);
  if (!DATE.test(value) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) {
    throw new InputError(`${what}: "${value}" is not a valid date (YYYY-MM-DD)`);
  }
  return value;
}

export function checkRange(start: string, end: string): void {
  parseDate(start, '--start');
  parseDate(end, '--end');
  if (start > end) throw new InputError(`--start ${start} is after --end ${end}`);
}

/** The failed-dates file `backfill --wait` writes and `--retry-failed` reads. */
export interface FailedDatesFile {
  backfillId: string;
  createdAt: string;
  /** The run cascaded: a retry carries the re-run slices down every dependent phase too. */
  cascade?: boolean | undefined;
  /** Per processor the dates that ended failed, deferred, upstream_failed, cancelled or incomplete. */
  processors: Record<string, string[]>;
  failures: { processor: string; slice: string; status: string; error?: string | undefined }[];
}

/** One slice a failed-dates file may list: its processor, date, state and reason. */
export interface EndedSlice {
  processor: string;
  slice: string;
  status: SliceState;
  error?: string | undefined;
}

/**
 * The failed-dates file of a run, from its slices (in the order given): its cascade and every
 * slice a retry runs again (`RETRIED_STATES`: failed, deferred, upstream_failed, cancelled,
 * incomplete — a retry once the missing games' files are there completes them). `backfill
 * --wait`, `cancel` and the dashboard's export all write this one shape.
 */
export function failedDatesFile(record: Pick<BackfillRecord, 'id' | 'cascade'>, slices: Iterable<EndedSlice>, now = new Date()): FailedDatesFile {
  const file: FailedDatesFile = { backfillId: record.id, createdAt: now.toISOString(), cascade: record.cascade, processors: {}, failures: [] };
  for (const s of slices) {
    if (!RETRIED_STATES.has(s.status)) continue;
    const dates = file.processors[s.processor] ?? [];
    dates.push(s.slice);
    file.processors[s.processor] = dates;
    file.failures.push({ processor: s.processor, slice: s.slice, status: s.status, error: s.error });
  }
  return file;
}

/**
 * Reads dates from a file: a JSON array of dates, `{dates: [...]}`, a failed-dates file, or
 * text with one date per line (CSV first column; a header line is skipped).
 */
export async function readDatesFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read dates file: ${(err as Error).message}`, { file });
  }
  const trimmed = text.trim();
  let dates: string[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      throw new InputError(`not valid JSON: ${(err as Error).message}`, { file });
    }
    if (Array.isArray(json)) dates = json.map(String);
    else if (json && typeof json === 'object' && Array.isArray((json as { dates?: unknown }).dates)) dates = (json as { dates: unknown[] }).dates.map(String);
    else if (json && typeof json === 'object' && (json as FailedDatesFile).processors) {
      dates = Object.values((json as FailedDatesFile).processors).flat();
    } else throw new InputError('JSON must be an array of dates, {"dates": [...]}, or a failed-dates file', { file });
  } else {
    dates = trimmed
      .split(/\r?\n/)
      .map((l) => (l.split(',')[0] ?? '').trim().replace(/^"|"$/g, ''))
      .filter((l) => l !== '' && !/^[a-z_]+$/i.test(l));
  }
  dates.forEach((d, i) => {
    try {
      parseDate(d);
    } catch {
      throw new InputError(`entry ${i + 1} "${d}" is not a valid date (YYYY-MM-DD)`, { file });
    }
  });
  if (dates.length === 0) throw new InputError('no dates in file', { file });
  return [...new Set(dates)].sort();
}

/** A value in an error message, cut short: the line must stay one line. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

export async function readFailedFile(file: string): Promise<FailedDatesFile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError(`cannot read failed-dates file: ${(err as Error).message}`, { file });
  }
  const f = json as FailedDatesFile;
  if (!f || typeof f !== 'object' || !f.processors || typeof f.processors !== 'object' || Array.isArray(f.processors)) {
    throw new InputError('not a failed-dates file (no "processors" map)', { file });
  }
  // A hand-edited file is checked entry by entry, so the error says which one is wrong.
  for (const [processor, dates] of Object.entries(f.processors as Record<string, unknown>)) {
    if (!Array.isArray(dates)) throw new InputError(`processors.${processor} must be a list of dates (YYYY-MM-DD), got ${shown(dates)}`, { file });
    dates.forEach((d, i) => {
      if (typeof d !== 'string') throw new InputError(`processors.${processor}[${i}] must be a date (YYYY-MM-DD), got ${shown(d)}`, { file });
      parseDate(d, `${file}: processors.${processor}[${i}]`);
    });
  }
  return f;
}
