/**
 * Look-back windows: a processor whose rows for date D read its input for earlier dates too
 * (rolling features). The dependency tracker uses the declaration twice: a commit of the
 * input for D re-runs the later dates whose window includes D, and a date waits while an
 * earlier date of its window is still being produced.
 */
import { seasonStartYearOfDate } from '../game-id.ts';
import type { DateRange, Lookback, ProcessorDef } from '../types.ts';

export type { DateRange, Lookback } from '../types.ts';

/** The transform's look-back window, when it declares one. */
export function lookbackOf(def: ProcessorDef): Lookback | undefined {
  return def.kind === 'transform' ? def.lookback : undefined;
}

const DAY_MS = 86_400_000;

/** A `YYYY-MM-DD` date as days since the epoch (NaN for anything else). */
function dayNumber(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / DAY_MS;
}

/**
 * Each day's text, made once: the tracker lists a season's dates per event and a rolling-features
 * job its season to date, ~200,000 dates in an 853-date cascade, and a `Date` and its ISO text
 * per date were 1.6 of the commit-gate process's 95 busy seconds (bench:scale --cascade, × 1).
 * A process meets a few thousand distinct days.
 */
const dayTexts = new Map<number, string>();

function dayText(day: number): string {
  let text = dayTexts.get(day);
  if (text === undefined) {
    text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    dayTexts.set(day, text);
  }
  return text;
}

export function addDays(date: string, days: number): string {
  const day = dayNumber(date);
  // Not a plain date (a time of day, an offset): the same answer as before, uncached.
  if (!Number.isInteger(day)) return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
  return dayText(day + days);
}

/** Calendar dates of a range, inclusive; empty when `from` is after `to`. */
export function datesIn(range: DateRange): string[] {
  const out: string[] = [];
  const first = dayNumber(range.start);
  const last = dayNumber(range.end);
  if (!Number.isInteger(first) || !Number.isInteger(last)) {
    for (let d = range.start; d <= range.end; d = addDays(d, 1)) out.push(d);
    return out;
  }
  for (let day = first; day <= last; day++) out.push(dayText(day));
  return out;
}

/**
 * The NBA season a date belongs to, as calendar bounds: July 1 to June 30, so that the
 * Finals (June) and the next preseason (October) fall in different seasons.
 */
export function seasonBounds(date: string): DateRange {
  const y = seasonStartYearOfDate(date);
  return { start: `${y}-07-01`, end: `${y + 1}-06-30` };
}

/**
 * The season to date: a slice reads every earlier date of its season. It is the window
 * "games played in season" needs, and it bounds the refresh of a recommitted date by the
 * end of its season (at most ~170 game dates), never beyond.
 */
export function seasonToDate(input: string): Lookback {
  return {
    input,
    earlier: (slice) => ({ start: seasonBounds(slice).start, end: addDays(slice, -1) }),
    later: (slice) => ({ start: addDays(slice, 1), end: seasonBounds(slice).end }),
  };
}
