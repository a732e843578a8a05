/**
 * The incident replay: the same dates, raw files, live writer and rules-layer seed for each
 * mode, each mode on its own fresh DuckDB file, rules layer and Redis prefix, one after the
 * other (running them at once would make them share two CPU cores and distort every figure).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig, productSettings } from '../../src/config/index.ts';
import { nbacPlayerBoxscore } from '../../src/processors/nbac/player-boxscore.ts';
import { ensureRedis, type RedisHandle } from '../../src/redis/ensure-redis.ts';
import { FixtureSource } from '../../src/sources/fixture/fixture-source.ts';
import { Frontier, LiveWriter } from './live-writer.ts';
import { buildReport, type ModeReport, tableContents } from './measure.ts';
import type { ModeOpener } from './mode.ts';
import { openNaive } from './modes/naive.ts';
import { openPerJob } from './modes/per-job.ts';
import { openPhasegate } from './modes/phasegate.ts';
import type { BenchOptions, Mode } from './options.ts';
import { prepareRawFiles } from './raw-files.ts';

const OPENERS: Record<Mode, ModeOpener> = { naive: openNaive, 'per-job': openPerJob, phasegate: openPhasegate };
const QUEUE_MODES: ReadonlySet<Mode> = new Set(['per-job', 'phasegate']);

async function deleteKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

/** PHASEGATE_* variables of the environment, which the bench hands on to every mode. */
export interface BenchRun {
  reports: ModeReport[];
}

export async function runBench(opts: BenchOptions, onReport: (report: ModeReport) => void = () => undefined): Promise<BenchRun> {
  const log = (line: string) => {
    if (opts.verbose) process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  };
  const dates = (await new FixtureSource().gameDates(opts.start, opts.end)).slice(0, opts.dates);
  if (dates.length === 0) throw new Error(`no game dates in ${opts.start}..${opts.end}`);
  await mkdir(opts.workDir, { recursive: true });
  const raw = await prepareRawFiles(opts.workDir, dates, log);
  log(
    `${dates.length} dates (${dates[0]}..${dates.at(-1)}), ${raw.expectedTotal} player rows; live writer streams ${opts.liveDates} dates, ${opts.liveLead}..${2 * opts.liveLead} ahead of the backfill, at ${opts.liveRate}/BigQuery min`,
  );

  let redis: RedisHandle | undefined;
  if (opts.modes.some((m) => QUEUE_MODES.has(m))) {
    redis = await ensureRedis(opts.redisUrl, false);
    if (redis.embedded) log(`no Redis at ${opts.redisUrl}: started redis-server at ${redis.url}`);
  }
  const reports: ModeReport[] = [];
  try {
    for (const mode of opts.modes) {
      const modeDir = path.join(opts.workDir, mode);
      await rm(modeDir, { recursive: true, force: true });
      await mkdir(modeDir, { recursive: true });
      const prefix = `bench-${mode}-${randomBytes(3).toString('hex')}`;
      const config = loadConfig({
        // Product settings (breaker, conflict backoff, table limits…) pass through from the
        // environment, so their effect can be measured; the bench owns the ones below.
        ...productSettings(process.env),
        REDIS_URL: redis?.url ?? opts.redisUrl,
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
        if (QUEUE_MODES.has(mode)) await deleteKeys(redis?.url ?? opts.redisUrl, `${prefix}:*`);
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
  }
  if (pg && perJob) {
    checks.push({
      target: "phasegate: table operations < 1/20 of per-job's",
      met: pg.tableOperations * 20 < perJob.tableOperations,
      detail: `${pg.tableOperations} vs ${perJob.tableOperations} / 20 = ${(perJob.tableOperations / 20).toFixed(1)}`,
    });
  }
  if (naive) {
    checks.push({
      target: 'naive: failures shown',
      met: naive.failedDates + naive.duplicateRows + naive.datesLost > 0,
      detail: `${naive.failedDates} failed (${
        Object.entries(naive.failureReasons)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none'
      }), ${naive.duplicateRows} duplicate rows`,
    });
  }
  return checks;
}
