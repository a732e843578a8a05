/**
 * One `bench:scale` run, in a process of its own so its peak RSS is its own: a fresh
 * redis-server (so `INFO memory` is this run's alone), a fresh DuckDB file behind the BigQuery
 * rules, and a backfill of both raw tables' phase-2 processors (`--cascade`: and every
 * processor downstream of them) over the first N dates. This process is the commit gate (it
 * holds the DuckDB file); the phase workers run in it (`phaseProcesses` 0) or in that many
 * child processes of their own (phase-worker.ts). Prints one JSON line on stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, productSettings, withoutPhasegateEnv } from '../../../src/config/index.ts';
import { nbacPlayerBoxscore } from '../../../src/processors/nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../../../src/processors/nbac/team-boxscore.ts';
import { startBackfill } from '../../../src/queues/backfill/backfill.ts';
import { cascadeProgress } from '../../../src/queues/backfill/cascade.ts';
import { startRedisServer } from '../../../src/redis/ensure-redis.ts';
import { openRuntime } from '../../../src/runtime.ts';
import { asRulesWarehouse } from '../mode.ts';
import { RepeatedSeasonsSource } from './seasons.ts';

export interface ScaleRunSpec {
  dates: number;
  timeScale: number;
  workers: number;
  cascade: boolean;
  /** 0: phase workers in this process; otherwise that many phase-worker processes. */
  phaseProcesses: number;
  /** Root of the pre-scraped raw files (PHASEGATE_STORE_DIR). */
  storeDir: string;
  /** This run's own folder (DuckDB file); removed at the end. */
  runDir: string;
  seed: number;
  timeoutSeconds: number;
  /** node --max-old-space-size of every worker process (this one is started with it by the driver). */
  maxOldSpaceMb?: number | undefined;
}

export interface TableFigures {
  table: string;
  tableOperations: number;
  commits: number;
  rows: number;
  /** phasegate's own log tables (run log, conflict log): append-only, batched harder. */
  log: boolean;
}

export interface ScaleRunResult {
  dates: number;
  timeScale: number;
  cascade: boolean;
  phaseProcesses: number;
  timedOut: boolean;
  failed: number;
  makespanSeconds: { real: number; bigquery: number };
  realMsPerDate: number;
  tables: TableFigures[];
  /** Peak RSS of this process (commit gate, and phase workers when in-process), MB. */
  gateRssMb: number;
  /** Peak RSS of each phase-worker process, MB. */
  phaseWorkerRssMb: number[];
  /** This process's memory, sampled every 100 ms: peak JS heap in use, peak native memory outside it (DuckDB's buffers among it), MB. */
  gateMemoryMb: { heapUsedPeak: number; rssAtStart: number };
  redis: { usedMemoryMb: number; peakMemoryMb: number };
  warehouseFileMb: number;
}

const MB = 1024 * 1024;
const round1 = (n: number) => Math.round(n * 10) / 10;

/** Peak resident set (VmHWM) of a live process, in MB; 0 when it is gone. */
async function peakRssMb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0);
    return round1(kb / 1024);
  } catch {
    return 0;
  }
}

function startPhaseWorker(env: Record<string, string>, concurrency: number, maxOldSpaceMb: number | undefined): { child: ChildProcess; ready: Promise<void> } {
  const heap = maxOldSpaceMb ? [`--max-old-space-size=${maxOldSpaceMb}`] : [];
  const child = spawn(process.execPath, [...heap, '--import', 'tsx', path.join(import.meta.dirname, 'phase-worker.ts'), String(concurrency)], {
    env: { ...withoutPhasegateEnv(process.env), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`phase worker exited (code ${code}) before it was ready`)));
  });
  return { child, ready };
}

export async function scaleRun(spec: ScaleRunSpec): Promise<ScaleRunResult> {
  const redis = await startRedisServer();
  const source = new RepeatedSeasonsSource();
  const dates = await source.firstDates(spec.dates);
  const env: Record<string, string> = {
    ...productSettings(process.env),
    REDIS_URL: redis.url,
    PHASEGATE_PREFIX: 'scale',
    PHASEGATE_DATA_DIR: spec.runDir,
    PHASEGATE_STORE_DIR: spec.storeDir,
    PHASEGATE_TIME_SCALE: String(spec.timeScale),
    PHASEGATE_LOG_LEVEL: 'error',
  };
  const config = loadConfig(env);
  const rt = await openRuntime(config, { redisExplicit: true, source, rules: { timeScale: spec.timeScale, seed: spec.seed } });
  const children: ChildProcess[] = [];
  const workerRss: number[] = [];
  try {
    const phases = spec.cascade ? ([3, 4, 5] as const) : ([] as const);
    if (spec.phaseProcesses === 0) {
      await rt.startWorkers({ phases: [2, ...phases], commit: true, concurrency: spec.workers });
    } else {
      await rt.startWorkers({ phases: [...phases], commit: true, concurrency: spec.workers });
      const started = Array.from({ length: spec.phaseProcesses }, () => startPhaseWorker(env, spec.workers, spec.maxOldSpaceMb));
      children.push(...started.map((s) => s.child));
      await Promise.all(started.map((s) => s.ready));
    }
    const warehouse = asRulesWarehouse(await rt.warehouse(), 'scale');
    const rssAtStart = process.memoryUsage().rss;
    let heapPeak = 0;
    const sampler = setInterval(() => {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }, 100);
    const t0 = Date.now();
    const record = await startBackfill(rt, {
      processors: [rt.registry.get(nbacPlayerBoxscore.name), rt.registry.get(nbacTeamBoxscore.name)],
      dates,
      cascade: spec.cascade,
    });
    let progress = await cascadeProgress(rt, record);
    let timedOut = false;
    while (!progress.done) {
      if (Date.now() - t0 > spec.timeoutSeconds * 1000) {
        timedOut = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
      progress = await cascadeProgress(rt, record);
    }
    const makespanMs = Date.now() - t0;
    clearInterval(sampler);
    for (const c of children) workerRss.push(c.pid ? await peakRssMb(c.pid) : 0);
    const failed = Object.values(progress.perProcessor).reduce((n, c) => n + c.failed + c.deferred, 0);
    const tables: TableFigures[] = [];
    for (const [id, r] of Object.entries(warehouse.record().tables).sort(([a], [b]) => a.localeCompare(b))) {
      if (r.tableOps === 0) continue;
      const [count] = await warehouse.query(`SELECT count(*) AS n FROM ${warehouse.tableName(rt.registry.tableSpec(id))}`);
      // Statements that ran: the MERGEs (INSERTs for log tables) that were not turned away.
      const ran = rt.registry.isLogTable(id) ? r.tableOps : r.dmlStatements - r.rejected.streamingBuffer - r.rejected.rateLimited - r.rejected.dmlRate;
      tables.push({ table: id, tableOperations: r.tableOps, commits: ran, rows: Number(count?.n ?? 0), log: rt.registry.isLogTable(id) });
    }
    const info = await rt.redis.info('memory');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    const realSeconds = makespanMs / 1000;
    return {
      dates: dates.length,
      timeScale: spec.timeScale,
      cascade: spec.cascade,
      phaseProcesses: spec.phaseProcesses,
      timedOut,
      failed,
      makespanSeconds: { real: round1(realSeconds), bigquery: round1(realSeconds * spec.timeScale) },
      realMsPerDate: round1(makespanMs / dates.length),
      tables,
      gateRssMb: round1(process.resourceUsage().maxRSS / 1024),
      phaseWorkerRssMb: workerRss,
      gateMemoryMb: { heapUsedPeak: round1(heapPeak / MB), rssAtStart: round1(rssAtStart / MB) },
      redis: { usedMemoryMb: round1(field('used_memory') / MB), peakMemoryMb: round1(field('used_memory_peak') / MB) },
      warehouseFileMb: 0,
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await rt.close();
    await redis.stop();
  }
}

/** Child entry: `node --import tsx run.ts '<ScaleRunSpec JSON>'`. */
async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ScaleRunSpec;
  const result = await scaleRun(spec);
  // The DuckDB file once closed (checkpointed): what the warehouse takes on disk.
  let bytes = 0;
  for (const f of ['warehouse.duckdb', 'warehouse.duckdb.wal'])
    bytes += await stat(path.join(spec.runDir, f)).then(
      (s) => s.size,
      () => 0,
    );
  result.warehouseFileMb = round1(bytes / MB);
  await rm(spec.runDir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.filename === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`scale run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
