/**
 * `naive`: the pipeline's original pattern from the incident. A plain pool of N workers, no
 * queue; per date: run the processor, DELETE the date's rows, then stream the new rows in
 * (`insertAll`). A date fails when its DELETE fails.
 *
 * Retries are what the incident's client did, no more: the Python BigQuery client re-runs a
 * job that failed with `rateLimitExceeded`, `backendError` or `internalError` (its default job
 * retry: exponential backoff from 1 s, capped at 60 s, full jitter, 600 s deadline). It does
 * not retry `resourcesExceeded` ("Too many DML statements outstanding") nor the
 * streaming-buffer `invalidQuery`, and the backfill script had no retry of its own.
 */

import { toError } from '../../../src/errors/phasegate-error.ts';
import { WarehouseError } from '../../../src/errors/warehouse-error.ts';
import { nbacPlayerBoxscore } from '../../../src/processors/nbac/player-boxscore.ts';
import type { TableSpec } from '../../../src/processors/types.ts';
import { openWarehouse } from '../../../src/warehouse/index.ts';
import { seededRandom } from '../../../src/warehouse/rules/prng.ts';
import type { ModeOutcome } from '../measure.ts';
import { asRulesWarehouse, emptyOutcome, type ModeOpener, sleep } from '../mode.ts';
import { FIXTURE_SCHEDULE } from '../raw-files.ts';

/** Reasons the Python client's default job retry re-runs a failed job on. */
const CLIENT_RETRIED = new Set(['rateLimitExceeded', 'backendError', 'internalError', 'jobRateLimitExceeded']);
const CLIENT_RETRY = { initialSeconds: 1, maxSeconds: 60, deadlineSeconds: 600 } as const;

/** Runs `work` for every item with at most `workers` in flight: the thread pool of the original script. */
export async function pool<T>(items: readonly T[], workers: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const one = async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, one));
}

export const openNaive: ModeOpener = async (env) => {
  const warehouse = asRulesWarehouse(await openWarehouse(env.config, env.raw.store, env.rules), 'naive');
  const random = seededRandom(env.opts.seed * 31 + 3);
  const scale = env.opts.timeScale;
  let clientRetries = 0;

  async function deleteDate(spec: TableSpec, date: string): Promise<number> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return (await warehouse.dml(spec, { kind: 'DELETE', slices: [date] })).rowsAffected;
      } catch (thrown) {
        const reason = thrown instanceof WarehouseError ? thrown.reason : undefined;
        const waitedSeconds = ((Date.now() - started) / 1000) * scale;
        if (!reason || !CLIENT_RETRIED.has(reason) || waitedSeconds > CLIENT_RETRY.deadlineSeconds) throw thrown;
        clientRetries++;
        const ceiling = Math.min(CLIENT_RETRY.maxSeconds, CLIENT_RETRY.initialSeconds * 2 ** attempt);
        await sleep((random() * ceiling * 1000) / scale);
      }
    }
  }

  return {
    warehouse,
    loadJobs: () => Object.values(warehouse.record().tables).reduce((n, t) => n + t.loadJobs, 0),
    async run({ startedAt, deadline, frontier }): Promise<ModeOutcome> {
      const out = emptyOutcome();
      let timedOut = false;
      await pool(env.raw.dates, env.opts.workers, async (date) => {
        if (Date.now() > deadline) {
          timedOut = true;
          return;
        }
        frontier.begun(date);
        const rows = await nbacPlayerBoxscore.run({ slice: date, store: env.raw.store, schedule: FIXTURE_SCHEDULE });
        try {
          out.rowsTouched += await deleteDate(env.spec, date);
        } catch (thrown) {
          const err = toError(thrown);
          if (err instanceof WarehouseError && err.kind === 'conflict') out.conflictDates.add(date);
          out.failed.set(date, err.message);
          return;
        }
        await warehouse.streamingInsert(env.spec, rows);
        out.writtenAtMs.set(date, Date.now() - startedAt);
      });
      return { ...out, waitsForBuffer: false, makespanMs: Date.now() - startedAt, timedOut, extra: { clientRetries } };
    },
    close: () => warehouse.close(),
  };
};
