/**
 * Crash and restart: a backfill runs in a `phasegate worker --phases all` child process that is
 * SIGKILLed at random moments and started again; once, Redis itself (its own server, AOF with
 * `appendfsync always`) is SIGKILLed and restarted under the running worker. At the end every
 * date must be committed and the tables must hold exactly the expected rows: none missing,
 * none twice.
 *
 * Why it can work: a killed worker's active jobs keep their lock until it expires
 * (PHASEGATE_STALLED_SECONDS), then the next stalled check hands them back; a commit job re-reads
 * the batch it took (its key survives in Redis) and the MERGE is idempotent; DuckDB replays its
 * WAL when the next process opens the file; Redis replays its AOF.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { loadConfig } from '../../src/config/load-config.ts';
import { mulberry32 } from '../../src/prng.ts';
import { tableId } from '../../src/processors/types.ts';
import { type BackfillRecord, backfillProgress, startBackfill } from '../../src/queues/backfill/backfill.ts';
import type { PipelineContext } from '../../src/queues/context.ts';
import type { SliceState } from '../../src/queues/status-store.ts';
import { startRedisServer } from '../../src/redis/ensure-redis.ts';
import { openRuntime } from '../../src/runtime.ts';
import { BigQueryRulesWarehouse } from '../../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { checkTables, expectedRows, type TableCheck } from './expected.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

export interface ChaosOptions {
  /** First game date. @defaultValue '2023-10-24' */
  start: string;
  /** Last game date (the 2023-24 regular season). @defaultValue '2024-04-14' */
  end: string;
  /** @defaultValue the NBA.com box-score scrapers (phase 1) and their processors (phase 2) */
  processors: string[];
  /** SIGKILLs of the worker process (at least 5). @defaultValue 6 */
  kills: number;
  /** During which worker life (1-based) Redis is SIGKILLed and restarted too; 0 for never. @defaultValue 3 */
  redisKillAt: number;
  /** A worker lives a random time in [min, max] real seconds after it said it was running. @defaultValue 1 */
  minUpSeconds: number;
  /** @defaultValue 5 */
  maxUpSeconds: number;
  /** PHASEGATE_STALLED_SECONDS of the worker: how soon a killed worker's jobs come back. @defaultValue 4 */
  stalledSeconds: number;
  /** Phase-worker concurrency of the child. @defaultValue 4 */
  concurrency: number;
  /** PHASEGATE_TIME_SCALE of the child (the rules layer's DML latency and windows). @defaultValue 4 */
  timeScale: number;
  /** @defaultValue 1 */
  seed: number;
  /** Extra environment of the worker process, e.g. a smaller PHASEGATE_COMMIT_MAX_SLICES for more commits. @defaultValue {} */
  workerEnv: Record<string, string>;
  /** Real seconds before the run gives up. @defaultValue 600 */
  timeoutSeconds: number;
  /** Keep the data folder (DuckDB file, worker logs, AOF) after the run. @defaultValue false */
  keep: boolean;
  /** Where each line of the run log goes. */
  log: (line: string) => void;
}

export const DEFAULT_CHAOS_OPTIONS = {
  start: '2023-10-24',
  end: '2024-04-14',
  processors: ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'],
  kills: 6,
  redisKillAt: 3,
  minUpSeconds: 1,
  maxUpSeconds: 5,
  stalledSeconds: 4,
  concurrency: 4,
  timeScale: 4,
  seed: 1,
  workerEnv: {},
  timeoutSeconds: 600,
  keep: false,
  log: (line: string) => process.stdout.write(`${line}\n`),
} satisfies ChaosOptions;

export interface KillEvent {
  what: 'worker' | 'redis' | 'worker exited by itself';
  atSeconds: number;
  pid: number;
  /** Seconds the process had been up (worker: since it said it was running). */
  upSeconds: number;
  /** Active job ids per queue at the moment of the kill. */
  inFlight: Record<string, string[]>;
  /** Committed slices per processor at the moment of the kill. */
  committed: Record<string, number>;
}

export interface ChaosReport {
  ok: boolean;
  dates: number;
  processors: string[];
  workerKills: number;
  redisRestarts: number;
  unexpectedExits: number;
  events: KillEvent[];
  statuses: Record<string, Record<SliceState, number>>;
  tables: TableCheck[];
  elapsedSeconds: number;
  timedOut: boolean;
  dataDir: string | undefined;
  problems: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sleeps, but wakes early if the worker dies on its own. */
async function liveFor(worker: WorkerProcess, ms: number): Promise<void> {
  await Promise.race([sleep(ms), worker.exited]);
}

/**
 * Active job ids per queue. A job still marked active after its worker died keeps its lock
 * until the lock expires; it is listed with "(orphaned)" once the lock is gone and before the
 * stalled check hands it back.
 */
async function activeJobs(redis: PipelineContext['redis'], queues: readonly Queue[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const q of queues) {
    const ids: string[] = [];
    for (const job of await q.getActive()) {
      const id = job.id ?? '?';
      // BullMQ keeps a job's lock at <prefix>:<queue>:<id>:lock while a live worker holds it.
      const locked = (await redis.exists(`${q.toKey(id)}:lock`)) === 1;
      ids.push(locked ? id : `${id} (orphaned)`);
    }
    if (ids.length > 0) out[q.name] = ids;
  }
  return out;
}

async function committedCounts(ctx: PipelineContext, record: BackfillRecord): Promise<Record<string, number>> {
  const progress = await backfillProgress(ctx, record);
  return Object.fromEntries(Object.entries(progress.perProcessor).map(([p, c]) => [p, c.committed]));
}

function describe(e: KillEvent, total: number): string {
  const flight =
    Object.entries(e.inFlight)
      .map(([q, ids]) => `${q}: ${ids.join(' ')}`)
      .join('; ') || 'nothing active';
  const committed = Object.entries(e.committed)
    .map(([p, n]) => `${p} ${n}/${total}`)
    .join(', ');
  return `+${e.atSeconds.toFixed(1)}s ${e.what === 'redis' ? 'SIGKILL redis-server' : e.what === 'worker' ? 'SIGKILL worker' : 'worker exited by itself'} (pid ${e.pid}, up ${e.upSeconds.toFixed(1)} s) — in flight: ${flight} — committed: ${committed}`;
}

export async function runChaos(partial: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const opts: ChaosOptions = { ...DEFAULT_CHAOS_OPTIONS, ...partial };
  const random = mulberry32(opts.seed);
  const started = Date.now();
  const at = () => (Date.now() - started) / 1000;
  const say = (line: string) => opts.log(`[chaos +${at().toFixed(1)}s] ${line}`);
  const problems: string[] = [];

  const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-chaos-'));
  const redisDir = path.join(dir, 'redis');
  await mkdir(redisDir, { recursive: true });
  // A dedicated server: every acknowledged write is fsynced to the AOF before the reply.
  let redis = await startRedisServer({ dir: redisDir, appendonly: true, appendfsync: 'always' });
  let redisStartedAt = Date.now();
  const port = redis.port;
  const env = {
    REDIS_URL: redis.url,
    PHASEGATE_PREFIX: `chaos-${randomBytes(3).toString('hex')}`,
    PHASEGATE_DATA_DIR: path.join(dir, 'data'),
    PHASEGATE_TIME_SCALE: String(opts.timeScale),
    PHASEGATE_STALLED_SECONDS: String(opts.stalledSeconds),
    // The worker's "worker running" line (info) is how the harness knows it is up.
    PHASEGATE_LOG_LEVEL: 'info',
    ...opts.workerEnv,
  };
  const config = loadConfig({ ...env, PHASEGATE_LOG_LEVEL: 'error' });
  const rt = await openRuntime(config, { redisExplicit: true });
  // Redis goes away once on purpose; the harness's own connections must ride it out.
  rt.redis.on('error', () => undefined);
  let worker: WorkerProcess | undefined;
  const events: KillEvent[] = [];
  let workerKills = 0;
  let redisRestarts = 0;
  let unexpectedExits = 0;
  let timedOut = false;
  try {
    const defs = opts.processors.map((p) => rt.registry.get(p));
    const tables = [...new Set(defs.flatMap((d) => (d.kind === 'transform' ? [tableId(d.table)] : [])))];
    const phases = [...new Set(defs.map((d) => d.phase))].sort();
    const queues: Queue[] = [...phases.map((p) => rt.queues.phase(p) as Queue), ...tables.map((t) => rt.queues.commit(t) as Queue)];
    for (const q of queues) q.on('error', () => undefined);

    const dates = await rt.source.gameDates(opts.start, opts.end);
    const expected = await expectedRows(rt.registry, rt.source, opts.processors, dates);
    say(`redis-server (AOF, appendfsync always) on port ${port}; data in ${dir}`);
    say(
      `expected: ${Object.entries(expected)
        .map(([t, e]) => `${t} ${e.total} rows`)
        .join(', ')} over ${dates.length} dates (${dates[0]}..${dates.at(-1)})`,
    );
    const record = await startBackfill(rt, { processors: defs, dates });
    say(`backfill ${record.id}: ${opts.processors.join(', ')}`);

    let n = 0;
    const spawnWorker = () => {
      n++;
      const w = startWorkerProcess({ n, env, concurrency: opts.concurrency, logFile: path.join(dir, `worker-${n}.log`) });
      say(`worker #${n} started (pid ${w.pid})`);
      return w;
    };
    worker = spawnWorker();
    const deadline = started + opts.timeoutSeconds * 1000;
    const done = async () => (await backfillProgress(rt, record)).done;

    const noteUnexpectedExit = async (w: WorkerProcess) => {
      const info = await w.exited;
      unexpectedExits++;
      const e: KillEvent = {
        what: 'worker exited by itself',
        atSeconds: at(),
        pid: w.pid,
        upSeconds: (Date.now() - w.startedAt) / 1000,
        inFlight: {},
        committed: await committedCounts(rt, record),
      };
      events.push(e);
      say(`${describe(e, dates.length)} — code ${info.code}, signal ${info.signal}; see worker-${w.n}.log`);
    };

    while (workerKills < opts.kills && Date.now() < deadline) {
      const w: WorkerProcess = worker;
      await Promise.race([w.ready.catch(() => undefined), w.exited]);
      if (!w.isRunning()) {
        await noteUnexpectedExit(w);
        if (unexpectedExits > opts.kills) throw new Error('the worker keeps exiting by itself; see its logs');
        worker = spawnWorker();
        continue;
      }
      const upMs = (opts.minUpSeconds + random() * (opts.maxUpSeconds - opts.minUpSeconds)) * 1000;
      if (workerKills + 1 === opts.redisKillAt) {
        await liveFor(w, upMs / 2);
        const rEvent: KillEvent = {
          what: 'redis',
          atSeconds: at(),
          pid: redis.process.pid ?? -1,
          upSeconds: (Date.now() - redisStartedAt) / 1000,
          inFlight: await activeJobs(rt.redis, queues),
          committed: await committedCounts(rt, record),
        };
        redis.process.kill('SIGKILL');
        await new Promise((resolve) =>
          redis.process.exitCode !== null || redis.process.signalCode !== null ? resolve(undefined) : redis.process.once('exit', resolve),
        );
        events.push(rEvent);
        say(describe(rEvent, dates.length));
        await sleep(500);
        redis = await startRedisServer({ port, dir: redisDir, appendonly: true, appendfsync: 'always' });
        redisStartedAt = Date.now();
        redisRestarts++;
        const survived = (await rt.redis.exists(rt.keys.backfill(record.id))) === 1;
        say(`redis-server restarted on port ${port} from its AOF (pid ${redis.process.pid}); backfill record ${survived ? 'present' : 'MISSING'}`);
        if (!survived) problems.push('the backfill record did not survive the Redis restart');
        await liveFor(w, upMs / 2);
      } else {
        await liveFor(w, upMs);
      }
      if (!w.isRunning()) {
        await noteUnexpectedExit(w);
        worker = spawnWorker();
        continue;
      }
      if (await done()) {
        say(`the backfill finished before kill #${workerKills + 1}`);
        break;
      }
      const e: KillEvent = {
        what: 'worker',
        atSeconds: at(),
        pid: w.pid,
        upSeconds: (Date.now() - (w.readyAt ?? w.startedAt)) / 1000,
        inFlight: await activeJobs(rt.redis, queues),
        committed: await committedCounts(rt, record),
      };
      await w.kill('SIGKILL');
      workerKills++;
      events.push(e);
      say(`kill #${workerKills}: ${describe(e, dates.length)}`);
      worker = spawnWorker();
    }

    while (!(await done())) {
      if (Date.now() > deadline) {
        timedOut = true;
        problems.push(`timed out after ${opts.timeoutSeconds} s`);
        break;
      }
      if (!worker.isRunning()) {
        await noteUnexpectedExit(worker);
        worker = spawnWorker();
      }
      await sleep(250);
    }
    // A clean stop: the last worker finishes what it holds and closes DuckDB.
    await worker.kill('SIGTERM');
    say(`backfill ${timedOut ? 'NOT finished' : 'finished'}; worker #${n} stopped with SIGTERM`);

    const progress = await backfillProgress(rt, record);
    const warehouse = await rt.warehouse();
    if (!(warehouse instanceof BigQueryRulesWarehouse)) throw new Error('chaos run needs the DuckDB warehouse with the BigQuery rules');
    const checks = await checkTables(warehouse, expected);
    for (const c of checks) {
      say(
        `${c.table}: ${c.rows} rows, ${c.distinctKeys} distinct keys, expected ${c.expectedRows}; ${c.duplicateRows} duplicates; ${c.wrongDates.length} dates wrong${c.ok ? '' : ` (${c.wrongDates.slice(0, 5).join(', ')})`}`,
      );
      if (!c.ok) problems.push(`${c.table}: ${c.rows} rows / ${c.distinctKeys} keys, expected ${c.expectedRows}`);
    }
    for (const [p, counts] of Object.entries(progress.perProcessor)) {
      if (counts.committed !== dates.length) problems.push(`${p}: ${counts.committed}/${dates.length} committed (${JSON.stringify(counts)})`);
    }
    if (workerKills < opts.kills) problems.push(`only ${workerKills} of ${opts.kills} kills happened before the backfill finished`);
    if (opts.redisKillAt > 0 && redisRestarts === 0) problems.push('Redis was never restarted');
    return {
      ok: problems.length === 0,
      dates: dates.length,
      processors: opts.processors,
      workerKills,
      redisRestarts,
      unexpectedExits,
      events,
      statuses: progress.perProcessor,
      tables: checks,
      elapsedSeconds: Math.round(at() * 10) / 10,
      timedOut,
      dataDir: opts.keep ? dir : undefined,
      problems,
    };
  } finally {
    if (worker?.isRunning()) await worker.kill('SIGKILL');
    await rt.close();
    await redis.stop();
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
}
