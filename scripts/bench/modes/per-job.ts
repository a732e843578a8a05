/**
 * `per-job`: the obvious queue-based fix without group commit. One BullMQ job per date; each
 * job stages its rows, loads them into its own staging table (a load job), then MERGEs that
 * one date into the target (a one-slice commit). The table is protected the way a careful
 * engineer would: the queue's global concurrency is 2 (BigQuery runs 2 DML per table) and
 * its global rate limit is phasegate's own table-operation cap, so the only difference left
 * to phasegate is one statement per date instead of one per batch, and no conflict path.
 * Retries are phasegate's phase-job retries (PHASEGATE_JOB_ATTEMPTS, exponential backoff).
 *
 * This queue is built here rather than in src/queues on purpose: it is the strawman the
 * benchmark measures phasegate against, not part of the product.
 */
import { type Job, Queue, Worker } from 'bullmq';
import { scaledMs, tableLimits } from '../../../src/config/load-config.ts';
import { toError } from '../../../src/errors/phasegate-error.ts';
import { WarehouseError } from '../../../src/errors/warehouse-error.ts';
import { BIGQUERY_LIMITS } from '../../../src/limits/bigquery.ts';
import { nbacPlayerBoxscore } from '../../../src/processors/nbac/player-boxscore.ts';
import { tableId } from '../../../src/processors/types.ts';
import { connectRedis } from '../../../src/redis/connect.ts';
import { openWarehouse } from '../../../src/warehouse/index.ts';
import type { ModeOutcome } from '../measure.ts';
import { asRulesWarehouse, emptyOutcome, type ModeOpener, sleep } from '../mode.ts';
import { FIXTURE_SCHEDULE } from '../raw-files.ts';

interface DateJob {
  date: string;
}

/** BigQuery's running mutating DML per table (limits.ts). */
const TABLE_CONCURRENCY = BIGQUERY_LIMITS.runningMutatingDmlPerTable;
const QUEUE = 'bench-per-job';

/**
 * The embedded DuckDB's memory for this mode. Its staging tables, one per date, are 853 tables,
 * and DuckDB holds a new table's open row group in memory until its next checkpoint: at the
 * product's default `memory_limit` (128MB) it ran out past ~200 of them, and every later load
 * and read failed. BigQuery has no such ceiling, so the mode gets room for its tables unless
 * PHASEGATE_DUCKDB_MEMORY_LIMIT says otherwise.
 */
const STAGING_TABLES_MEMORY = '2GB';

export const openPerJob: ModeOpener = async (env) => {
  const { config, spec } = env;
  const memory = process.env.PHASEGATE_DUCKDB_MEMORY_LIMIT === undefined ? { duckdbMemoryLimit: STAGING_TABLES_MEMORY } : {};
  const warehouse = asRulesWarehouse(await openWarehouse({ ...config, ...memory }, env.raw.store, env.rules), 'per-job');
  // BullMQ workers need maxRetriesPerRequest: null so a blocking call is never cut short.
  const connection = connectRedis(config, { maxRetriesPerRequest: null });
  const queue = new Queue<DateJob>(QUEUE, { connection, prefix: config.prefix });
  const limits = tableLimits(config, tableId(spec));
  await queue.setGlobalConcurrency(TABLE_CONCURRENCY);
  await queue.setGlobalRateLimit(limits.opsMax, scaledMs(config, limits.opsWindowSeconds));
  let worker: Worker<DateJob> | undefined;

  return {
    warehouse,
    loadJobs: () => Object.values(warehouse.record().tables).reduce((n, t) => n + t.loadJobs, 0),
    async run({ startedAt, deadline, frontier }): Promise<ModeOutcome> {
      const out = emptyOutcome();
      const attempts = config.jobs.attempts;
      const backoffMs = scaledMs(config, config.jobs.backoffSeconds);
      /** When the retry policy alone would run a date's next attempt: its last failure plus BullMQ's exponential delay. */
      const retryDueMs = new Map<string, number>();
      const processJob = async (job: Job<DateJob>) => {
        const { date } = job.data;
        frontier.begun(date);
        if (!out.startedAtMs.has(date)) out.startedAtMs.set(date, Date.now() - startedAt);
        // The attempt that lands a date after a conflict: scheduled by the backoff for this time.
        const due = retryDueMs.get(date);
        if (due !== undefined) out.retryScheduledAtMs.set(date, due);
        const rows = await nbacPlayerBoxscore.run({ slice: date, store: env.raw.store, schedule: FIXTURE_SCHEDULE });
        const object = `staging/bench-per-job/${date}/${job.attemptsMade}.ndjson`;
        await env.raw.store.put(object, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : ''));
        const staging = { ...spec, table: `${spec.table}_stage_${date.replaceAll('-', '')}` };
        try {
          await warehouse.ensureTable(staging);
          await warehouse.loadJob(staging, [object]);
          const result = await warehouse.commit({ batchId: `per-job-${date}-a${job.attemptsMade}`, table: spec, slices: [date], objects: [object] });
          out.rowsTouched += result.rowsStaged;
        } catch (thrown) {
          if (thrown instanceof WarehouseError && thrown.kind === 'conflict') out.conflictDates.add(date);
          // BullMQ's exponential backoff after this failure: delay × 2^(attempts made before it).
          retryDueMs.set(date, Date.now() - startedAt + backoffMs * 2 ** job.attemptsMade);
          throw thrown;
        } finally {
          await env.raw.store.delete(object).catch(() => undefined);
        }
        out.writtenAtMs.set(date, Date.now() - startedAt);
      };
      worker = new Worker<DateJob>(QUEUE, processJob, { connection, prefix: config.prefix, concurrency: env.opts.workers });
      worker.on('error', (err) => env.log(`per-job worker: ${err.message}`));
      let finished = 0;
      worker.on('failed', (job, err) => {
        // BullMQ reports every failed attempt; only the last one fails the date.
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
          out.failed.set(job.data.date, toError(err).message);
          finished++;
        }
      });
      worker.on('completed', () => finished++);
      await queue.addBulk(
        env.raw.dates.map((date) => ({
          name: 'date',
          data: { date },
          opts: {
            jobId: date,
            attempts,
            backoff: { type: 'exponential', delay: backoffMs },
          },
        })),
      );
      let timedOut = false;
      let lastLog = Date.now();
      while (finished < env.raw.dates.length) {
        if (Date.now() > deadline) {
          timedOut = true;
          break;
        }
        if (env.opts.verbose && Date.now() - lastLog > 10_000) {
          lastLog = Date.now();
          env.log(`per-job: ${out.writtenAtMs.size} committed, ${out.failed.size} failed of ${env.raw.dates.length}`);
        }
        await sleep(100);
      }
      const makespanMs = Date.now() - startedAt;
      // Not forced: a job still running (the mode timed out) ends before its warehouse is read and closed.
      await worker.close();
      return {
        ...out,
        waitsForBuffer: false,
        latencyFrom: 'started',
        makespanMs,
        timedOut,
        extra: { tableConcurrency: TABLE_CONCURRENCY, rateLimit: `${limits.opsMax} per ${limits.opsWindowSeconds} s` },
      };
    },
    async close() {
      await worker?.close(true);
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await connection.quit().catch(() => connection.disconnect());
      await warehouse.close();
    },
  };
};
