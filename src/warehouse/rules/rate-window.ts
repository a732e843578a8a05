/**
 * Counters for BigQuery's per-table rate limits (values in ../bigquery/limits.ts): sliding
 * windows (table metadata update operations, DML statements) and a daily budget (load jobs).
 */

export class SlidingWindow {
  private readonly times: number[] = [];
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Takes one place at `now` if fewer than `limit` were taken in the window before it. */
  tryTake(now: number): boolean {
    while (this.times.length > 0 && (this.times[0] ?? 0) <= now - this.windowMs) this.times.shift();
    if (this.times.length >= this.limit) return false;
    this.times.push(now);
    return true;
  }
}

/** Counts per fixed day since `epoch`; days are `dayMs` long (BigQuery's day, scaled). */
export class DailyCounter {
  private day = 0;
  private count = 0;
  private readonly epoch: number;
  private readonly dayMs: number;

  constructor(epoch: number, dayMs: number) {
    this.epoch = epoch;
    this.dayMs = dayMs;
  }

  /** Counts one more at `now` and returns the day's count including it. */
  take(now: number): number {
    const day = Math.floor((now - this.epoch) / this.dayMs);
    if (day !== this.day) {
      this.day = day;
      this.count = 0;
    }
    return ++this.count;
  }
}
