/** The audit's look-back window: by default the 7 days before today (today's games are not over). */
import { InputError } from '../errors/input-error.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const RELATIVE = /^(\d{1,4})d$/i;

/** How many days back the audit looks by default. */
export const DEFAULT_LOOKBACK_DAYS = 7;

/** Today's date (YYYY-MM-DD) in a time zone (default UTC): the day a daily schedule fires on. */
export function todayIn(now: Date, tz?: string): string {
  try {
    // en-CA formats as YYYY-MM-DD.
    return new Intl.DateTimeFormat('en-CA', { timeZone: tz ?? 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  } catch {
    throw new InputError(`--tz: "${tz}" is not a known time zone (e.g. America/New_York)`);
  }
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function isDate(s: string): boolean {
  return DATE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);
}

/** `--since` (a date, or `Nd` days back from today) and `--until` (a date; default yesterday). */
export function auditWindow(opts: { since?: string | undefined; until?: string | undefined; now?: Date; tz?: string | undefined }): {
  start: string;
  end: string;
} {
  const today = todayIn(opts.now ?? new Date(), opts.tz);
  const since = opts.since?.trim();
  let start = addDays(today, -DEFAULT_LOOKBACK_DAYS);
  if (since) {
    const rel = RELATIVE.exec(since);
    if (rel) start = addDays(today, -Number(rel[1]));
    else if (isDate(since)) start = since;
    else throw new InputError(`--since: "${since}" is not a date (YYYY-MM-DD) or a number of days back (7d)`);
  }
  const until = opts.until?.trim();
  if (until && !isDate(until)) throw new InputError(`--until: "${until}" is not a date (YYYY-MM-DD)`);
  const end = until || addDays(today, -1);
  if (start > end) throw new InputError(`the window starts (${start}) after it ends (${end})`);
  return { start, end };
}
