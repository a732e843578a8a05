/**
 * How long a commit waits before it tries again: pure functions of the attempt and the
 * configuration, so the timing is testable without a clock.
 */
import type { Config } from '../../config/load-config.ts';
import { scaledMs } from '../../config/load-config.ts';
import type { BusyCause } from '../../errors/classify.ts';

/** Backoff with half jitter: a random delay in [base·2^n / 2, base·2^n], capped. */
export function backoffMs(baseMs: number, attempt: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export type ConflictTiming = Config['conflict'];

/**
 * Nominal wait after a slice's n-th conflict (n ≥ 1), in BigQuery seconds: base·2^(n−1)
 * capped — 5, 10, 20, 20, … minutes by default, the pipeline team's 300/600/1200 s plan.
 */
export function conflictNominalSeconds(timing: Pick<ConflictTiming, 'retryBaseSeconds' | 'retryCapSeconds'>, attempt: number): number {
  return Math.min(timing.retryCapSeconds, timing.retryBaseSeconds * 2 ** Math.max(0, attempt - 1));
}

/**
 * The wait after the n-th conflict, jittered to nominal × (1 ± jitter) so slices held
 * together do not all come back in the same instant. BigQuery seconds (scale them to sleep).
 */
export function conflictDelaySeconds(
  timing: Pick<ConflictTiming, 'retryBaseSeconds' | 'retryCapSeconds' | 'jitter'>,
  attempt: number,
  random: () => number = Math.random,
): number {
  const nominal = conflictNominalSeconds(timing, attempt);
  return nominal * (1 + timing.jitter * (2 * random() - 1));
}

/**
 * The wait after a conflict, told by the buffer when it knows better: BigQuery keeps streamed
 * rows about `bufferSeconds`, so when the buffer's oldest entry is due to flush
 * (`flushInSeconds` from now) before the backoff's wait is over, the slice is tried right after
 * that flush — never sooner than `flushPollSeconds` (an entry due about now is looked at again
 * after that long). An unknown flush, or one overdue by more than that (BigQuery kept the rows
 * longer than usual), leaves the backoff's wait. BigQuery seconds.
 */
export function conflictWaitSeconds(timing: Pick<ConflictTiming, 'flushPollSeconds'>, backoffSeconds: number, flushInSeconds: number | undefined): number {
  if (flushInSeconds === undefined || !Number.isFinite(flushInSeconds)) return backoffSeconds;
  if (flushInSeconds <= -timing.flushPollSeconds || flushInSeconds >= backoffSeconds) return backoffSeconds;
  return Math.min(backoffSeconds, Math.max(timing.flushPollSeconds, flushInSeconds));
}

/** How many waits fit in the maximum wait at their nominal lengths: the log's `max_retries`. */
export function conflictMaxRetries(timing: Pick<ConflictTiming, 'retryBaseSeconds' | 'retryCapSeconds' | 'maxWaitSeconds'>): number {
  let waited = 0;
  let n = 0;
  for (;;) {
    const next = conflictNominalSeconds(timing, n + 1);
    if (waited + next > timing.maxWaitSeconds || n >= 10_000) return n;
    waited += next;
    n += 1;
  }
}

/**
 * Real ms a busy commit waits. Concurrent DML on one partition: a random 10–20 s, as BigQuery
 * advises. DML queue full or rate-limited: exponential in the table's busy streak, half
 * jittered, capped.
 */
export function busyDelayMs(config: Pick<Config, 'busy' | 'timeScale'>, cause: BusyCause, streak: number, random: () => number = Math.random): number {
  if (cause === 'serialize') return scaledMs(config, 10 + 10 * random());
  return backoffMs(scaledMs(config, config.busy.retryBaseSeconds), Math.max(0, streak - 1), scaledMs(config, config.busy.retryCapSeconds), random);
}
