/**
 * One `bench:scale` run, in a process of its own so its peak RSS is its own: a fresh
 * redis-server the driver started for it (so `INFO memory` is this run's alone), a fresh DuckDB file behind the BigQuery
 * rules, and a backfill of both raw tables' phase-2 processors (`--cascade`: and every
 * processor downstream of them) over the first N dates. This process is the commit gate (it
 * holds the DuckDB file); the phase workers run in it (`phaseProcesses` 0) or in that many
 * child processes of their own (phase-worker.ts). Prints one JSON line on stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cappedProcessEnv, heapFlags, workerHeapMb } from '../../../src/cli/worker-heap.ts';
import { type Config, loadConfig, productSettings, tableLimits, withoutPhasegateEnv } from '../../../src/config/load-config.ts';
import { nbacPlayerBoxscore } from '../../../src/processors/nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../../../src/processors/nbac/team-boxscore.ts';
import { inputsOf } from '../../../src/processors/registry.ts';
import { type Phase, tableId } from '../../../src/processors/types.ts';
import { startBackfill } from '../../../src/queues/backfill/backfill.ts';
import { cascadeProgress } from '../../../src/queues/backfill/cascade.ts';
import { runProcessors } from '../../../src/queues/runs/graph.ts';
import { openRuntime, type Runtime } from '../../../src/runtime.ts';
import type { BigQueryRulesWarehouse } from '../../../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { type CascadeTable, cascadeQuotaBound, formatCriticalPath, type TableSchedule } from '../cascade-bound.ts';
import { asRulesWarehouse, gateDrained } from '../mode.ts';
import { RepeatedSeasonsSource } from './seasons.ts';

export interface ScaleRunSpec {
  /**
   * This run's own redis-server (so `INFO memory` is this run's alone), started and stopped by
   * the driver: a run process that dies (an out-of-memory kill skips its cleanup) leaves none.
   */
  redisUrl: string;
  dates: number;
  timeScale: number;
  workers: number;
  cascade: boolean;
  /** 0: phase workers in this process; otherwise that many phase-worker processes. */
  phaseProcesses: number;
  /** Root of the pre-scraped raw files (PHASEGATE_STORE_DIR). */
  storeDir: string;
  /** This run's own folder (DuckDB file); removed at the end unless `keepRunDir`. */
  runDir: string;
  /** Leaves `runDir` in place at the end (its DuckDB file holds the run log). @defaultValue false */
  keepRunDir?: boolean | undefined;
  seed: number;
  timeoutSeconds: number;
  /** node --max-old-space-size of every worker process (this one is started with it by the driver). */
  maxOldSpaceMb?: number | undefined;
  /** The compiled phase worker (compile-worker.ts) the phase-worker processes run; without it they run phase-worker.ts under tsx. */
  workerEntry?: string | undefined;
  /**
   * With `cascade` and phase-worker processes: phases 3–5 run in the worker processes too,
   * reading the DuckDB file through this process's read relay; otherwise they run here, next
   * to the warehouse they read, and the worker processes run phase 2. @defaultValue false
   */
  relay?: boolean | undefined;
  /** More node flags for the phase-worker processes only, e.g. `--max-semi-space-size=4` (deployment settings of a worker). @defaultValue [] */
  workerNodeFlags?: string[] | undefined;
  /**
   * A file this process appends a line to at each DuckDB memory sample (about once a second,
   * less often while DuckDB is busy): ms since the start, then RSS, heap used, heap total,
   * external, array buffers and DuckDB's memory, MB. @defaultValue none
   */
  memoryLog?: string | undefined;
}

export interface TableFigures {
  table: string;
  tableOperations: number;
  commits: number;
  rows: number;
  /** phasegate's own log tables (run log, conflict log): append-only, batched harder. */
  log: boolean;
  /** The phase of the processor writing it; 0 for a log table. */
  phase: number;
  /** Query jobs reading its slices' rows (the rules layer's count): phases 3–5 reading their inputs; a job reading several tables counts on its first. */
  readJobs: number;
  /** Reads of its slices, in query jobs of their own or shared with other tables' reads. */
  tableReads: number;
  /** Query jobs checking it: the gate's integrity read when a commit's guard refused a batch, and the streaming-buffer checks. */
  checkJobs: number;
  /** Each of its statements (a commit's MERGE or INSERT): [start, end, slices], BigQuery seconds from the backfill's start, in the order they ended (the rules layer's timeline). */
  statements: [number, number, number][];
}

/** The run's quota bound (cascade-bound.ts), BigQuery seconds. */
export interface ScaleBound {
  /** At BigQuery's limits (the rules layer's): the target's bound. */
  seconds: number;
  /** The same schedule at the table gates' own caps (concurrency, commit jobs per window). */
  atGateCapsSeconds: number;
  /** The statements that set the bound, e.g. `nba_raw.nbac_player_boxscores ×7 → … ×1`. */
  criticalPath: string;
  tables: TableSchedule[];
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
  bound: ScaleBound;
  /** makespanSeconds.bigquery / bound.seconds. */
  makespanOverBound: number | null;
  tables: TableFigures[];
  /** Query jobs of the run on the BigQuery path (the rules layer counts them): phases 3–5 reading their inputs, and checks. */
  queryJobs: { reads: number; checks: number };
  /** Peak RSS of this process (commit gate, and phase workers when in-process), MB. */
  gateRssMb: number;
  /** Peak RSS of each phase-worker process, MB. */
  phaseWorkerRssMb: number[];
  /** Each phase-worker process's own peaks (phase-worker.ts), MB: RSS, JS heap used and reserved, memory outside the heap. */
  phaseWorkerMemoryMb: Record<string, number>[];
  /**
   * This process's memory, MB: peak JS heap in use (sampled every 100 ms), RSS before the first
   * job, and DuckDB's own peak (`duckdb_memory()`, sampled every second) with its memory limit.
   */
  gateMemoryMb: { heapUsedPeak: number; rssAtStart: number; duckdbPeak: number; duckdbLimit: string; duckdbAtPeak: Record<string, number> };
  redis: { usedMemoryMb: number; peakMemoryMb: number };
  /**
   * CPU over the run (from the backfill's start to its last slice): the commit-gate process's
   * seconds (every thread: its main thread, DuckDB's, libuv's) and its main thread's busy share
   * (`eventLoopUtilization`), each phase-worker process's seconds. A cascade whose main thread
   * is busy near 100 % is bound by it, not by BigQuery's limits.
   */
  cpu: { gateSeconds: number; gateMainThreadBusy: number; phaseWorkerSeconds: number[] };
  warehouseFileMb: number;
  /** Attempts that failed and were tried again, and jobs that stalled, per queue (`retriesOf`): what a gap in a table's statements may hide. */
  retries: QueueRetries[];
}

/** A queue's jobs that failed an attempt (and were tried again) or stalled, among those BullMQ still keeps. */
export interface QueueRetries {
  queue: string;
  /** Failed attempts of jobs that went on to complete or fail for good. */
  failedAttempts: number;
  /** Jobs that stalled (their lock ran out while a worker held them) at least once. */
  stalled: number;
  /** The last failure of each such job, the first few. */
  reasons: string[];
}

/**
 * The failed attempts and stalls of a run's jobs, per queue with any: BullMQ keeps each failed
 * attempt's stack on the job (`stacktrace`) and counts its stalls (`stalledCounter`). Only
 * the jobs a queue still keeps are seen (`removeOnComplete`: 100 per commit queue, 1,000 per
 * phase queue), so a large run's early phase jobs are not.
 */
export async function retriesOf(rt: Runtime, tables: readonly string[]): Promise<QueueRetries[]> {
  const queues = [...([2, 3, 4, 5] as const).map((p) => rt.queues.phase(p)), ...tables.map((t) => rt.queues.commit(t))];
  const out: QueueRetries[] = [];
  for (const queue of queues) {
    const jobs = (await queue.getJobs(['completed', 'failed'])).filter((j) => j !== undefined);
    const retried = jobs.filter((j) => (j.stacktrace?.length ?? 0) > 0);
    const stalled = jobs.filter((j) => (j.stalledCounter ?? 0) > 0).length;
    if (retried.length === 0 && stalled === 0) continue;
    out.push({
      queue: queue.name,
      failedAttempts: retried.reduce((n, j) => n + (j.stacktrace?.length ?? 0), 0),
      stalled,
      reasons: retried.slice(0, 3).map((j) => j.failedReason.split('\n')[0] ?? ''),
    });
  }
  return out;
}

const MB = 1024 * 1024;
const round1 = (n: number) => Math.round(n * 10) / 10;

/** CPU seconds (user + system, every thread) a live process has used; 0 when it is gone. */
async function cpuSecondsOf(pid: number): Promise<number> {
  try {
    // /proc/<pid>/stat: the fields after the command's closing parenthesis; utime and stime are
    // the 12th and 13th of them, in clock ticks (USER_HZ, 100 on Linux).
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

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

function startPhaseWorker(
  env: Record<string, string>,
  concurrency: number,
  phases: readonly number[],
  spec: Pick<ScaleRunSpec, 'maxOldSpaceMb' | 'workerEntry' | 'workerNodeFlags'>,
): { child: ChildProcess; ready: Promise<void>; memory: Promise<Record<string, number>> } {
  const given = [...(spec.maxOldSpaceMb ? [`--max-old-space-size=${spec.maxOldSpaceMb}`] : []), ...(spec.workerNodeFlags ?? [])];
  // Without flags of the bench's own, the heap `phasegate worker` of these phases would start
  // its work with (src/cli/worker-heap.ts): the defaults, as a user gets them.
  const cap = workerHeapMb(loadConfig(env), { phases: phases as Phase[], commit: false, concurrency });
  const heap = given.length > 0 ? given : cap === undefined ? [] : heapFlags(cap);
  const entry = spec.workerEntry ? [spec.workerEntry] : ['--import', 'tsx', path.join(import.meta.dirname, 'phase-worker.ts')];
  const child = spawn(process.execPath, [...heap, ...entry, String(concurrency), phases.join(',')], {
    env: cappedProcessEnv({ ...withoutPhasegateEnv(process.env), ...env }),
    // Its stdin is never written: it closes when this process ends, however it ends, and the
    // worker ends with it (phase-worker.ts) instead of living on, orphaned.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`phase worker exited (code ${code}) before it was ready`)));
  });
  // What it reports when it stops (SIGTERM): its memory peaks.
  const memory = new Promise<Record<string, number>>((resolve) => {
    child.once('exit', () => {
      const line = /^memory (.*)$/m.exec(out)?.[1];
      resolve(line ? (JSON.parse(line) as Record<string, number>) : {});
    });
  });
  return { child, ready, memory };
}

/**
 * The quota bound of what the run landed: every data table the backfill reaches, its rows per
 * slice as they ended in the warehouse, its inputs inside the run, at BigQuery's limits and at
 * the table gates' own caps.
 */
async function quotaBound(
  rt: Runtime,
  warehouse: BigQueryRulesWarehouse,
  config: Config,
  record: { processors: string[]; cascade: boolean },
): Promise<ScaleBound> {
  const processors = runProcessors(rt, record);
  const tableOf = new Map<string, string>();
  for (const p of processors) if (p.kind === 'transform') tableOf.set(p.name, tableId(p.table));
  const rules = warehouse.options;
  const tables: CascadeTable[] = [];
  const gated: CascadeTable[] = [];
  for (const p of processors) {
    if (p.kind !== 'transform') continue;
    const id = tableId(p.table);
    // Identifiers come from the processor registry (tableName quotes and validates the table; the slice column is a registry identifier).
    const counts = await warehouse.query(
      `SELECT CAST("${p.table.sliceColumn}" AS VARCHAR) AS d, count(*) AS n FROM ${warehouse.tableName(p.table)} GROUP BY 1`,
    );
    if (counts.length === 0) continue;
    const rowsBySlice = new Map(counts.map((r) => [String(r.d), Number(r.n)] as const));
    const inputs = inputsOf(p).flatMap((name) => tableOf.get(name) ?? []);
    const limits = tableLimits(config, id);
    const group = { maxSlices: limits.commitMaxSlices, maxRows: limits.commitMaxRows };
    tables.push({
      id,
      inputs,
      rowsBySlice,
      caps: { ...group, running: rules.maxRunningDml, opsPerWindow: rules.tableOpsPerWindow, windowSeconds: rules.tableOpsWindowSeconds },
    });
    gated.push({
      id,
      inputs,
      rowsBySlice,
      caps: { ...group, running: limits.concurrency, opsPerWindow: limits.opsMax, windowSeconds: limits.opsWindowSeconds },
    });
  }
  const bound = cascadeQuotaBound(tables, rules.dmlLatency);
  return {
    seconds: bound.seconds,
    atGateCapsSeconds: cascadeQuotaBound(gated, rules.dmlLatency).seconds,
    criticalPath: formatCriticalPath(bound.criticalPath),
    tables: bound.tables,
  };
}

/** An instant of the run in BigQuery seconds from `t0`. */
const bigQuerySeconds = (ms: number, t0: number, timeScale: number) => round1(((ms - t0) / 1000) * timeScale);

export async function scaleRun(spec: ScaleRunSpec): Promise<ScaleRunResult> {
  const source = new RepeatedSeasonsSource();
  const dates = await source.firstDates(spec.dates);
  const env: Record<string, string> = {
    ...productSettings(process.env),
    REDIS_URL: spec.redisUrl,
    PHASEGATE_PREFIX: 'scale',
    PHASEGATE_DATA_DIR: spec.runDir,
    PHASEGATE_STORE_DIR: spec.storeDir,
    PHASEGATE_TIME_SCALE: String(spec.timeScale),
    PHASEGATE_LOG_LEVEL: process.env.SCALE_LOG_LEVEL ?? 'error',
    // Phase 3–5 workers in processes of their own read through the gate process's read relay; a
    // rolling-features slice reads its player's whole season so far (tens of thousands of rows).
    ...(spec.cascade && spec.relay ? { PHASEGATE_READ_RELAY_MAX_ROWS: '1000000', PHASEGATE_READ_RELAY_MAX_BYTES: String(256 * MB) } : {}),
  };
  const config = loadConfig(env);
  const rt = await openRuntime(config, { redisExplicit: true, source, rules: { timeScale: spec.timeScale, seed: spec.seed } });
  const children: ChildProcess[] = [];
  const memories: Promise<Record<string, number>>[] = [];
  const workerRss: number[] = [];
  let result: ScaleRunResult;
  try {
    const warehouse = asRulesWarehouse(await rt.warehouse(), 'scale');
    const phases: Phase[] = spec.cascade ? [3, 4, 5] : [];
    if (spec.phaseProcesses === 0) {
      await rt.startWorkers({ phases: [2, ...phases], commit: true, concurrency: spec.workers });
    } else {
      // This process runs the commit gates and the dependency tracker (and, unless through the
      // relay, the phases that read the warehouse); phase 2 runs in the worker processes.
      const here = spec.relay ? [] : phases;
      await rt.startWorkers({ phases: here, commit: true, concurrency: spec.workers });
      const there = spec.relay ? [2, ...phases] : [2];
      const started = Array.from({ length: spec.phaseProcesses }, () => startPhaseWorker(env, spec.workers, there, spec));
      children.push(...started.map((s) => s.child));
      memories.push(...started.map((s) => s.memory));
      await Promise.all(started.map((s) => s.ready));
    }
    const rssAtStart = process.memoryUsage().rss;
    let heapPeak = 0;
    const sampler = setInterval(() => {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }, 100);
    // DuckDB's memory by what holds it (its tags: base tables, hash tables, …), at its peak.
    let duckdbAtPeak: Record<string, number> = {};
    const duckdbBytes = async () => {
      const tags = await warehouse.query('SELECT tag, memory_usage_bytes AS b FROM duckdb_memory() WHERE memory_usage_bytes > 0');
      const total = tags.reduce((n, t) => n + Number(t.b), 0);
      if (total > duckdbPeak) duckdbAtPeak = Object.fromEntries(tags.map((t) => [String(t.tag), round1(Number(t.b) / MB)]));
      return total;
    };
    const [limit] = await warehouse.query("SELECT current_setting('memory_limit') AS m");
    let duckdbPeak = 0;
    const duckdbSampler = setInterval(() => {
      duckdbBytes().then(
        (b) => {
          duckdbPeak = Math.max(duckdbPeak, b);
          if (spec.memoryLog) {
            const m = process.memoryUsage();
            appendFileSync(
              spec.memoryLog,
              `${Date.now() - t0} ${[m.rss, m.heapUsed, m.heapTotal, m.external, m.arrayBuffers, b].map((x) => round1(x / MB)).join(' ')}\n`,
            );
          }
        },
        () => undefined,
      );
    }, 1000);
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const workerCpu0 = await Promise.all(children.map((c) => (c.pid ? cpuSecondsOf(c.pid) : 0)));
    const record = await startBackfill(rt, {
      processors: [rt.registry.get(nbacPlayerBoxscore.name), rt.registry.get(nbacTeamBoxscore.name)],
      dates,
      cascade: spec.cascade,
    });
    let progress = await cascadeProgress(rt, record);
    let timedOut = false;
    // Each look reads and parses every status of every processor the backfill reaches: 15,300
    // for 1,700 dates × 9 processors. Every 100 ms that was the gate process's largest single
    // cost in a cascade, so a cascade (minutes long) is looked at once a second.
    const pollMs = spec.cascade ? 1000 : 100;
    while (!progress.done) {
      if (Date.now() - t0 > spec.timeoutSeconds * 1000) {
        timedOut = true;
        break;
      }
      await new Promise((r) => setTimeout(r, pollMs));
      progress = await cascadeProgress(rt, record);
    }
    const makespanMs = Date.now() - t0;
    const cpuUsed = process.cpuUsage(cpu0);
    const mainBusy = performance.eventLoopUtilization(elu0).utilization;
    const workerCpu = await Promise.all(children.map(async (c, i) => round1((c.pid ? await cpuSecondsOf(c.pid) : 0) - (workerCpu0[i] ?? 0))));
    clearInterval(sampler);
    clearInterval(duckdbSampler);
    for (const c of children) workerRss.push(c.pid ? await peakRssMb(c.pid) : 0);
    const failed = Object.values(progress.perProcessor).reduce((n, c) => n + c.failed + c.deferred, 0);
    // The run log's last rows land through its own gate after the slices are final: counted once it is empty.
    for (const id of Object.keys(warehouse.record().tables)) if (rt.registry.isLogTable(id)) await gateDrained(rt.gate, id);
    const records = warehouse.record().tables;
    const tables: TableFigures[] = [];
    for (const [id, r] of Object.entries(records).sort(([a], [b]) => a.localeCompare(b))) {
      if (r.tableOps === 0) continue;
      const [count] = await warehouse.query(`SELECT count(*) AS n FROM ${warehouse.tableName(rt.registry.tableSpec(id))}`);
      // Statements that ran: the MERGEs (INSERTs for log tables) that were not turned away.
      const ran = rt.registry.isLogTable(id) ? r.tableOps : r.dmlExecuted;
      const log = rt.registry.isLogTable(id);
      const phase = log ? 0 : rt.registry.writerOf(id).phase;
      tables.push({
        table: id,
        tableOperations: r.tableOps,
        commits: ran,
        rows: Number(count?.n ?? 0),
        log,
        phase,
        readJobs: r.readJobs,
        tableReads: r.tableReads,
        checkJobs: r.checkJobs,
        statements: r.timeline.map((x) => [bigQuerySeconds(x.startedAt, t0, spec.timeScale), bigQuerySeconds(x.endedAt, t0, spec.timeScale), x.slices]),
      });
    }
    // Every read, of tables written or not: on BigQuery each is a query job.
    const read = Object.values(records);
    const queryJobs = { reads: read.reduce((n, r) => n + r.readJobs, 0), checks: read.reduce((n, r) => n + r.checkJobs, 0) };
    const bound = await quotaBound(rt, warehouse, config, record);
    const retries = await retriesOf(
      rt,
      tables.map((t) => t.table),
    );
    const info = await rt.redis.info('memory');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    const realSeconds = makespanMs / 1000;
    result = {
      dates: dates.length,
      timeScale: spec.timeScale,
      cascade: spec.cascade,
      phaseProcesses: spec.phaseProcesses,
      timedOut,
      failed,
      makespanSeconds: { real: round1(realSeconds), bigquery: round1(realSeconds * spec.timeScale) },
      realMsPerDate: round1(makespanMs / dates.length),
      bound,
      makespanOverBound: bound.seconds > 0 ? Math.round(((realSeconds * spec.timeScale) / bound.seconds) * 100) / 100 : null,
      tables,
      queryJobs,
      gateRssMb: round1(process.resourceUsage().maxRSS / 1024),
      phaseWorkerRssMb: workerRss,
      phaseWorkerMemoryMb: [],
      gateMemoryMb: {
        heapUsedPeak: round1(heapPeak / MB),
        rssAtStart: round1(rssAtStart / MB),
        duckdbPeak: round1(duckdbPeak / MB),
        duckdbAtPeak,
        duckdbLimit: String(limit?.m ?? ''),
      },
      redis: { usedMemoryMb: round1(field('used_memory') / MB), peakMemoryMb: round1(field('used_memory_peak') / MB) },
      cpu: {
        gateSeconds: round1((cpuUsed.user + cpuUsed.system) / 1e6),
        gateMainThreadBusy: Math.round(mainBusy * 1000) / 1000,
        phaseWorkerSeconds: workerCpu,
      },
      warehouseFileMb: 0,
      retries,
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await rt.close();
  }
  result.phaseWorkerMemoryMb = await Promise.all(memories);
  return result;
}

/** Child entry: `node --import tsx run.ts '<ScaleRunSpec JSON>'`. */
async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ScaleRunSpec;
  // A folder kept by an earlier run (--keep-run-dirs) is not this run's warehouse.
  await rm(spec.runDir, { recursive: true, force: true });
  const result = await scaleRun(spec);
  // The DuckDB file once closed (checkpointed): what the warehouse takes on disk.
  let bytes = 0;
  for (const f of ['warehouse.duckdb', 'warehouse.duckdb.wal'])
    bytes += await stat(path.join(spec.runDir, f)).then(
      (s) => s.size,
      () => 0,
    );
  result.warehouseFileMb = round1(bytes / MB);
  if (!spec.keepRunDir) await rm(spec.runDir, { recursive: true, force: true });
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
