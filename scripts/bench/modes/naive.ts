/**
 * `naive`: the pipeline as it ran in the incident. A plain pool of N backfill workers, no
 * queue, writes the raw files — one per game, at the scraper's pace (`--scrape-seconds` per
 * file) — and every file written starts one run of the processor, the way the bucket's
 * Pub/Sub push started one run of an autoscaled service per file: no concurrency cap, no
 * queue. A worker's scraper fetches a date's games 4 at a time and writes each file as it
 * comes. Each run reads its file, DELETEs its game's rows (`DELETE … WHERE game_date = d AND
 * game_id = g`, a mutating DML statement through the rules layer, which judges the streaming
 * buffer per date partition as BigQuery does for a partition filter), then streams the rows in
 * (`insertAll`). A run fails when its DELETE fails; a date fails when any of its runs fails.
 *
 * Retries are what the incident's client did, no more: the Python BigQuery client re-runs a
 * job that failed with `rateLimitExceeded`, `backendError` or `internalError` (its default job
 * retry: exponential backoff from 1 s, capped at 60 s, full jitter, 600 s deadline). It does
 * not retry `resourcesExceeded` ("Too many DML statements outstanding") nor the
 * streaming-buffer `invalidQuery`, and neither the service nor the backfill script retried.
 */

import path from 'node:path';
import { scaledMs } from '../../../src/config/load-config.ts';
import { toError } from '../../../src/errors/phasegate-error.ts';
import { WarehouseError } from '../../../src/errors/warehouse-error.ts';
import { mulberry32 } from '../../../src/prng.ts';
import { PLAYER_BOXSCORE_PREFIX } from '../../../src/processors/nbac/boxscore-scrapers.ts';
import { nbacPlayerBoxscore } from '../../../src/processors/nbac/player-boxscore.ts';
import type { TableSpec } from '../../../src/processors/types.ts';
import type { ObjectStore } from '../../../src/storage/object-store.ts';
import { openWarehouse } from '../../../src/warehouse/index.ts';
import { type ModeOutcome, reasonKey } from '../measure.ts';
import { asRulesWarehouse, emptyOutcome, type ModeOpener, sleep } from '../mode.ts';
import { FIXTURE_SCHEDULE } from '../raw-files.ts';

/** Reasons the Python client's default job retry re-runs a failed job on. */
const CLIENT_RETRIED = new Set(['rateLimitExceeded', 'backendError', 'internalError', 'jobRateLimitExceeded']);
const CLIENT_RETRY = { initialSeconds: 1, maxSeconds: 60, deadlineSeconds: 600 } as const;
/** Games a scraper fetches at once for one date (src/processors/nbac/boxscore-scrapers.ts does the same). */
const SCRAPER_CONCURRENCY = 4;

/** Runs `work` for every item with at most `workers` in flight: the thread pool of the original script. */
export async function pool<T>(items: readonly T[], workers: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const one = async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, one));
}

/** The store as one processor run sees it: the one file that started the run, under its date's prefix. */
function oneFileStore(store: ObjectStore, file: string): ObjectStore {
  return {
    kind: store.kind,
    put: (key, body) => store.put(key, body),
    stash: (key, body) => store.stash(key, body),
    get: (key) => store.get(key),
    exists: (key) => store.exists(key),
    list: async (prefix) => (file.startsWith(prefix) ? [file] : []),
    delete: (key) => store.delete(key),
    uri: (key) => store.uri(key),
  };
}

interface DateRuns {
  files: number;
  succeeded: number;
  /** The first run of the date that failed, and why. */
  failure?: string | undefined;
}

export const openNaive: ModeOpener = async (env) => {
  const warehouse = asRulesWarehouse(await openWarehouse(env.config, env.raw.store, env.rules), 'naive');
  const random = mulberry32(env.opts.seed * 31 + 3);
  const scale = env.opts.timeScale;
  let clientRetries = 0;

  /** One game's DELETE, with the client's job retry. */
  async function deleteGame(spec: TableSpec, date: string, gameId: string): Promise<number> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return (await warehouse.dml(spec, { kind: 'DELETE', slices: [date], where: { column: 'game_id', values: [gameId] } })).rowsAffected;
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
      const byDate = new Map<string, DateRuns>();
      const runReasons: Record<string, number> = {};
      const runs: Promise<void>[] = [];
      let runsStarted = 0;
      let runsFailed = 0;
      let inFlight = 0;
      let peakInFlight = 0;
      let timedOut = false;

      /** One processor run, started by one file landing in the bucket. */
      const processorRun = async (date: string, file: string, dateRuns: DateRuns): Promise<void> => {
        runsStarted++;
        inFlight++;
        peakInFlight = Math.max(peakInFlight, inFlight);
        try {
          const gameId = path.basename(file, '.json');
          const rows = await nbacPlayerBoxscore.run({ slice: date, store: oneFileStore(env.raw.store, file), schedule: FIXTURE_SCHEDULE });
          try {
            out.rowsTouched += await deleteGame(env.spec, date, gameId);
          } catch (thrown) {
            const err = toError(thrown);
            runsFailed++;
            runReasons[reasonKey(err.message)] = (runReasons[reasonKey(err.message)] ?? 0) + 1;
            if (err instanceof WarehouseError && err.kind === 'conflict') out.conflictDates.add(date);
            dateRuns.failure ??= err.message;
            return;
          }
          await warehouse.streamingInsert(env.spec, rows);
          dateRuns.succeeded++;
          if (dateRuns.succeeded === dateRuns.files) out.writtenAtMs.set(date, Date.now() - startedAt);
        } finally {
          inFlight--;
        }
      };

      const fileGapMs = env.opts.scrapeSeconds > 0 ? scaledMs({ timeScale: scale }, env.opts.scrapeSeconds) : 0;
      const progress = setInterval(() => {
        if (env.opts.verbose)
          env.log(
            `naive: ${byDate.size} of ${env.raw.dates.length} dates begun, ${runsStarted} processor runs started, ${runsFailed} failed, ${inFlight} in flight`,
          );
      }, 10_000);
      await pool(env.raw.dates, env.opts.workers, async (date) => {
        if (Date.now() > deadline) {
          timedOut = true;
          return;
        }
        frontier.begun(date);
        out.startedAtMs.set(date, Date.now() - startedAt);
        const files = (await env.raw.store.list(PLAYER_BOXSCORE_PREFIX(date))).filter((k) => k.endsWith('.json'));
        const runsOfDate: DateRuns = { files: files.length, succeeded: 0 };
        byDate.set(date, runsOfDate);
        if (files.length === 0) out.writtenAtMs.set(date, Date.now() - startedAt);
        // The scraper fetches a date's games a few at a time (as the product's own scraper
        // does) and writes each file as it comes: the write is what starts a run.
        await pool(files, SCRAPER_CONCURRENCY, async (file) => {
          if (fileGapMs > 0) await sleep(fileGapMs);
          const body = await env.raw.store.get(file);
          if (body) await env.raw.store.put(file, body);
          runs.push(processorRun(date, file, runsOfDate));
        });
      });
      await Promise.all(runs);
      clearInterval(progress);
      for (const [date, r] of byDate) if (r.failure !== undefined) out.failed.set(date, r.failure);
      return {
        ...out,
        waitsForBuffer: false,
        latencyFrom: 'started',
        makespanMs: Date.now() - startedAt,
        timedOut,
        extra: {
          clientRetries,
          scrapeSecondsPerFile: env.opts.scrapeSeconds,
          processorRuns: { started: runsStarted, failed: runsFailed, peakInFlight, failureReasons: runReasons },
        },
      };
    },
    close: () => warehouse.close(),
  };
};
