/**
 * The incident replay: the same dates, raw files, live writer and rules-layer seed for each
 * mode, each mode on its own fresh DuckDB file, rules layer and Redis prefix, one after the
 * other (running them at once would make them share two CPU cores and distort every figure).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, productSettings } from '../../src/config/load-config.ts';
import { nbacPlayerBoxscore } from '../../src/processors/nbac/player-boxscore.ts';
import { connectRedis, nodeFor, type RedisTarget } from '../../src/redis/connect.ts';
import { ensureRedis, type RedisHandle } from '../../src/redis/ensure-redis.ts';
import { FixtureSource } from '../../src/sources/fixture/fixture-source.ts';
import { Frontier, type LiveStream, LiveWriter } from './live-writer.ts';
import { buildReport, type ModeOutcome, type ModeReport, round, tableContents } from './measure.ts';
import type { ModeOpener } from './mode.ts';
import { openNaive } from './modes/naive.ts';
import { openPerJob } from './modes/per-job.ts';
import { openPhasegate } from './modes/phasegate.ts';
import { type BenchOptions, type Mode, progressLog } from './options.ts';
import { prepareRawFiles } from './raw-files.ts';

const OPENERS: Record<Mode, ModeOpener> = { naive: openNaive, 'per-job': openPerJob, phasegate: openPhasegate };
const QUEUE_MODES: ReadonlySet<Mode> = new Set(['per-job', 'phasegate']);

/** Deletes every key under `prefix` (Redis's glob takes a tag's braces literally). */
async function deleteKeys(target: RedisTarget, prefix: string): Promise<void> {
  const redis = connectRedis(target, { maxRetriesPerRequest: null });
  try {
    // On a cluster, a hash-tagged prefix's keys all live on the master of its slot.
    await redis.ping();
    const server = nodeFor(redis, prefix) ?? redis;
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

/** Per date, BigQuery seconds since the mode's start: begun (staged/started), written, streamed by the live writer. */
async function writeTrace(
  dir: string,
  mode: Mode,
  dates: readonly string[],
  outcome: ModeOutcome,
  streams: readonly LiveStream[],
  scale: number,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const bq = (ms: number | undefined) => (ms === undefined ? null : round((ms / 1000) * scale));
  const streamed = new Map(streams.map((s) => [s.date, s.atMs]));
  const lines = dates.map((d) =>
    JSON.stringify({
      date: d,
      begun: bq(outcome.startedAtMs.get(d)),
      written: bq(outcome.writtenAtMs.get(d)),
      streamed: bq(streamed.get(d)),
      conflict: outcome.conflictDates.has(d),
      failed: outcome.failed.get(d) ?? null,
    }),
  );
  await writeFile(path.join(dir, `${mode}.ndjson`), `${lines.join('\n')}\n`);
  const statements = (outcome.statements ?? []).map((s) => JSON.stringify({ start: bq(s.startMs), end: bq(s.endMs), slices: s.slices, ok: s.ok }));
  if (statements.length > 0) await writeFile(path.join(dir, `${mode}-statements.ndjson`), `${statements.join('\n')}\n`);
}

/** PHASEGATE_* variables of the environment, which the bench hands on to every mode. */
export interface BenchRun {
  reports: ModeReport[];
}

export async function runBench(opts: BenchOptions, onReport: (report: ModeReport) => void = () => undefined): Promise<BenchRun> {
  const log = progressLog('bench', opts.verbose);
  const dates = (await new FixtureSource().gameDates(opts.start, opts.end)).slice(0, opts.dates);
  if (dates.length === 0) throw new Error(`no game dates in ${opts.start}..${opts.end}`);
  await mkdir(opts.workDir, { recursive: true });
  const raw = await prepareRawFiles(opts.workDir, dates, log);
  log(
    `${dates.length} dates (${dates[0]}..${dates.at(-1)}), ${raw.expectedTotal} player rows; live writer streams ${opts.liveDates} dates, ${opts.liveLead}..${2 * opts.liveLead} ahead of the backfill, at ${opts.liveRate}/BigQuery min`,
  );

  let redis: RedisHandle | undefined;
  // phasegate never starts a cluster: its nodes answer, or the mode's first command says why.
  const cluster = opts.redisCluster !== undefined;
  if (!cluster && opts.modes.some((m) => QUEUE_MODES.has(m))) {
    redis = await ensureRedis(opts.redisUrl, false);
    if (redis.embedded) log(`no Redis at ${opts.redisUrl}: started redis-server at ${redis.url}`);
  }
  const reports: ModeReport[] = [];
  try {
    for (const mode of opts.modes) {
      const modeDir = path.join(opts.workDir, mode);
      await rm(modeDir, { recursive: true, force: true });
      await mkdir(modeDir, { recursive: true });
      const tag = `bench-${mode}-${randomBytes(3).toString('hex')}`;
      // A cluster runs every key of a queue in one slot: the prefix is a hash tag there.
      const prefix = cluster ? `{${tag}}` : tag;
      const config = loadConfig({
        // Product settings (breaker, conflict backoff, table limits…) pass through from the
        // environment, so their effect can be measured; the bench owns the ones below.
        ...productSettings(process.env),
        REDIS_URL: redis?.url ?? opts.redisUrl,
        ...(opts.redisCluster !== undefined ? { PHASEGATE_REDIS_CLUSTER: opts.redisCluster } : {}),
        PHASEGATE_PREFIX: prefix,
        PHASEGATE_DATA_DIR: modeDir,
        PHASEGATE_STORE_DIR: raw.storeDir,
        PHASEGATE_TIME_SCALE: String(opts.timeScale),
        PHASEGATE_LOG_LEVEL: 'error',
      });
      const rules = { timeScale: opts.timeScale, streamingBufferSeconds: opts.bufferSeconds, seed: opts.seed };
      const spec = nbacPlayerBoxscore.table;
      log(`${mode}: starting`);
      const opened = await OPENERS[mode]({ opts, raw, config, rules, spec, log });
      try {
        // The table exists before the live writer's first insertAll, as it did in production.
        await opened.warehouse.ensureTable(spec);
        const startedAt = Date.now();
        const frontier = new Frontier(dates);
        const live = new LiveWriter({
          warehouse: opened.warehouse,
          spec,
          store: raw.store,
          dates,
          frontier,
          count: opts.liveDates,
          ratePerMinute: opts.liveRate,
          lead: opts.liveLead,
          timeScale: opts.timeScale,
          seed: opts.seed,
          startedAt,
        });
        live.start();
        const outcome = await opened.run({ startedAt, deadline: startedAt + opts.timeoutSeconds * 1000, frontier });
        await live.stop();
        if (opts.traceDir) await writeTrace(opts.traceDir, mode, dates, outcome, live.streams, opts.timeScale);
        const contents = await tableContents(opened.warehouse, spec);
        const record = opened.warehouse.record().tables[`${spec.dataset}.${spec.table}`];
        if (!record) throw new Error(`${mode}: the rules layer saw no operation on ${spec.dataset}.${spec.table}`);
        const report = buildReport({
          mode,
          dates,
          workers: opts.workers,
          expectedRows: raw.expectedRows,
          expectedTotal: raw.expectedTotal,
          contents,
          record,
          loadJobsAllTables: opened.loadJobs(),
          rules: opened.warehouse.options,
          outcome,
          live: { target: opts.liveDates, streams: live.streams, errors: live.errors },
          timeScale: opts.timeScale,
        });
        reports.push(report);
        onReport(report);
        log(`${mode}: done in ${report.makespanSeconds.real} s`);
      } finally {
        await opened.close();
        if (QUEUE_MODES.has(mode)) await deleteKeys(config, prefix);
      }
    }
  } finally {
    await redis?.stop();
  }
  return { reports };
}

/** The issue's "Done when" checks, one line each, for the log and the docs. */
export function targetChecks(reports: readonly ModeReport[]): { target: string; met: boolean; detail: string }[] {
  const pg = reports.find((r) => r.mode === 'phasegate');
  const perJob = reports.find((r) => r.mode === 'per-job');
  const naive = reports.find((r) => r.mode === 'naive');
  const checks: { target: string; met: boolean; detail: string }[] = [];
  if (pg) {
    checks.push({
      target: 'phasegate: 0 failed dates',
      met: pg.failedDates === 0 && pg.deferredDates === 0,
      detail: `${pg.failedDates} failed, ${pg.deferredDates} deferred`,
    });
    checks.push({ target: 'phasegate: 0 dates lost', met: pg.datesLost === 0, detail: String(pg.datesLost) });
    checks.push({ target: 'phasegate: 0 duplicate rows', met: pg.duplicateRows === 0, detail: String(pg.duplicateRows) });
    checks.push({ target: 'phasegate: peak queued DML < 20', met: pg.peakQueuedDml < 20, detail: String(pg.peakQueuedDml) });
    checks.push({ target: 'phasegate: peak running DML ≤ 2', met: pg.peakRunningDml <= 2, detail: String(pg.peakRunningDml) });
    checks.push({
      target: 'phasegate: every conflict resolved (and conflicts did happen)',
      met: pg.conflictsMet > 0 && pg.conflictsResolved === pg.conflictsMet,
      detail: `${pg.conflictsResolved}/${pg.conflictsMet}`,
    });
    checks.push({ target: 'phasegate: finished', met: !pg.timedOut, detail: pg.timedOut ? 'timed out' : 'yes' });
    checks.push({
      target: 'phasegate: makespan ≤ 1.15 × its quota lower bound',
      met: pg.makespanSeconds.bigquery <= 1.15 * pg.quotaLowerBoundSeconds,
      detail: `${pg.makespanSeconds.bigquery} s vs ${pg.quotaLowerBoundSeconds} s (× ${pg.makespanOverBound ?? '—'})`,
    });
    const gather = Number(pg.gatherWindowSeconds ?? 0);
    const commit = (pg.commitSeconds as { p50: number | null } | undefined)?.p50 ?? 0;
    const clean = pg.dateLatencySeconds.clean.p95;
    checks.push({
      target: "phasegate: clean-date p95 (staged → in the table) < 2 gather windows + one commit's latency",
      met: clean !== null && clean < 2 * gather + commit,
      detail: `p95 ${clean ?? '—'} s vs 2 × ${gather} s + ${commit} s (median MERGE) = ${round(2 * gather + commit)} s; conflicting dates p95 ${pg.dateLatencySeconds.conflicting.p95 ?? '—'} s`,
    });
  }
  if (pg && perJob) {
    checks.push({
      target: "phasegate: table operations < 1/20 of per-job's",
      met: pg.tableOperations * 20 < perJob.tableOperations,
      detail: `${pg.tableOperations} vs ${perJob.tableOperations} / 20 = ${(perJob.tableOperations / 20).toFixed(1)}`,
    });
  }
  if (naive) {
    const runs = naive.processorRuns as { started: number; failed: number; failureReasons: Record<string, number> } | undefined;
    const outstanding = (reasons: Record<string, number> | undefined) => Object.keys(reasons ?? {}).some((k) => k.startsWith('DML outstanding'));
    checks.push({
      target: 'naive: ≥ 30 % of dates failed, "Too many DML statements outstanding" among the reasons',
      met: naive.failureRate >= 0.3 && (outstanding(naive.failureReasons) || outstanding(runs?.failureReasons)),
      detail: `${naive.failedDates} of ${naive.dates} dates (${round(naive.failureRate * 100)} %) failed (first failure per date: ${
        Object.entries(naive.failureReasons)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none'
      }); ${
        runs
          ? `${runs.failed} of ${runs.started} processor runs failed (${Object.entries(runs.failureReasons)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ')})`
          : ''
      }; ${naive.duplicateRows} duplicate rows`,
    });
  }
  if (perJob) {
    const by = perJob.conflictsResolvedBy as { mechanism: number; queueOrderLuck: number } | undefined;
    checks.push({
      target: 'per-job: conflicts resolved by a mechanism vs by the luck of queue order',
      met: by !== undefined,
      detail: by
        ? `${perJob.conflictsMet} met: ${by.mechanism} by its retry policy, ${by.queueOrderLuck} by queue-order luck (retry scheduled before the buffer flushed, run after it), ${perJob.failedDates} failed`
        : 'not reported',
    });
  }
  return checks;
}
