/**
 * How long a DML job occupies its running slot. BigQuery DML is slow even on tiny tables
 * (seconds, not milliseconds), which is what makes its 2-running/20-queued limit bite.
 */
import type { DmlLatencyOptions } from './options.ts';

/** Real milliseconds a statement touching `rows` rows should take, with seeded jitter. */
export function dmlLatencyMs(model: DmlLatencyOptions, rows: number, timeScale: number, random: () => number): number {
  const seconds = model.baseSeconds + (model.perThousandRowsSeconds * rows) / 1000;
  const jittered = seconds * (1 + model.jitter * (2 * random() - 1));
  return Math.max(0, (jittered * 1000) / timeScale);
}
