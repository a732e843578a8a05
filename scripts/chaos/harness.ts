/**
 * Crash and restart: a backfill runs in a `phasegate worker --phases all` child process that is
 * SIGKILLed at random points of its progress and started again; once, Redis itself (its own
 * server, AOF with `appendfsync always`) is SIGKILLed and restarted under the running worker —
 * unless the run was pointed at a Redis of someone else's (`redisUrl`), which it never kills.
 * At the end every date must be committed and the tables must hold exactly the expected rows:
 * none missing, none twice.
 *
 * The kill moments are points of the run's progress (slices started, out of all), drawn from
 * the seed — not moments of the clock — so every kill lands before the backfill ends however
 * loaded the machine is, and a seed names the same points on every machine. A worker is also
 * killed when it has lived `maxUpSeconds` short of its point (a slow machine kills earlier,
 * never later), and never before `minUpSeconds`. The verdict judges the tables after the kills
 * that happened, and the report says how many landed.
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
import { redact } from '../../src/redact.ts';
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
  /** A worker lives at least this many real seconds after it said it was running. @defaultValue 1 */
  minUpSeconds: number;
  /** …and at most this many, when its kill point of the progress has not come yet. @defaultValue 5 */
  maxUpSeconds: number;
  /** PHASEGATE_STALLED_SECONDS of the worker: how soon a killed worker's jobs come back. @defaultValue 4 */
  stalledSeconds: number;
  /** Phase-worker concurrency of the child. @defaultValue 4 */
  concurrency: number;
  /** PHASEGATE_TIME_SCALE of the child (the rules layer's DML latency and windows). @defaultValue 4 */
  timeScale: number;
  /** Draws the kill points of the progress. @defaultValue 1 */
  seed: number;
  /**
   * A running Redis to use (another prefix of its own) instead of starting one; it is never
   * killed, so there is no Redis restart then. @defaultValue undefined: a redis-server of its own
   */
  redisUrl?: string | undefined;
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
  /** Kills asked for: `workerKills` of them landed. */
  killsPlanned: number;
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
  // A dedicated server unless one was given: every acknowledged write is fsynced to the AOF before the reply.
  const ownRedis = opts.redisUrl === undefined;
  let redis = ownRedis ? await startRedisServer({ dir: redisDir, appendonly: true, appendfsync: 'always' }) : undefined;
  let redisStartedAt = Date.now();
  const port = redis?.port;
  const redisKillAt = ownRedis ? opts.redisKillAt : 0;
  const env = {
    REDIS_URL: redis?.url ?? (opts.redisUrl as string),
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
    say(
      ownRedis
        ? `redis-server (AOF, appendfsync always) on port ${port}; data in ${dir}`
        : `Redis at ${redact(env.REDIS_URL)} (given: never killed, no Redis restart), prefix ${env.PHASEGATE_PREFIX}; data in ${dir}`,
    );
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

    // The kill points: slices started (out of all the run reaches), one drawn in each of
    // `kills` equal strata of 5–85 % — spaced, and each well before the end of the run.
    const total = (await backfillProgress(rt, record)).total;
    const points = Array.from({ length: opts.kills }, (_, i) => Math.max(1, Math.ceil(total * (0.05 + (0.8 * (i + random())) / opts.kills))));
    say(`kill points (slices started of ${total}): ${points.join(', ')}`);
    const slicesStarted = async () => {
      const progress = await backfillProgress(rt, record);
      return Object.values(progress.perProcessor).reduce((n, c) => n + c.running + c.staged + c.committed + c.incomplete + c.empty + c.failed, 0);
    };

    for (const point of points) {
      if (Date.now() >= deadline) break;
      let w: WorkerProcess = worker;
      await Promise.race([w.ready.catch(() => undefined), w.exited]);
      while (!w.isRunning()) {
        await noteUnexpectedExit(w);
        if (unexpectedExits > opts.kills) throw new Error('the worker keeps exiting by itself; see its logs');
        worker = spawnWorker();
        w = worker;
        await Promise.race([w.ready.catch(() => undefined), w.exited]);
      }
      const bornAt = w.readyAt ?? Date.now();
      // Until its point of the progress (at least minUp, at most maxUp of life), or its exit.
      for (;;) {
        const life = Date.now() - bornAt;
        if (!w.isRunning() || Date.now() >= deadline) break;
        if (life >= opts.maxUpSeconds * 1000) break;
        if (life >= opts.minUpSeconds * 1000 && (await slicesStarted()) >= point) break;
        await sleep(50);
      }
      if (workerKills + 1 === redisKillAt && redis && port !== undefined && w.isRunning()) {
        const rEvent: KillEvent = {
          what: 'redis',
          atSeconds: at(),
          pid: redis.process.pid ?? -1,
          upSeconds: (Date.now() - redisStartedAt) / 1000,
          inFlight: await activeJobs(rt.redis, queues),
          committed: await committedCounts(rt, record),
        };
        const dying = redis.process;
        dying.kill('SIGKILL');
        await new Promise((resolve) => (dying.exitCode !== null || dying.signalCode !== null ? resolve(undefined) : dying.once('exit', resolve)));
        events.push(rEvent);
        say(describe(rEvent, dates.length));
        await sleep(500);
        redis = await startRedisServer({ port, dir: redisDir, appendonly: true, appendfsync: 'always' });
        redisStartedAt = Date.now();
        redisRestarts++;
        const survived = (await rt.redis.exists(rt.keys.backfill(record.id))) === 1;
        say(`redis-server restarted on port ${port} from its AOF (pid ${redis.process.pid}); backfill record ${survived ? 'present' : 'MISSING'}`);
        if (!survived) problems.push('the backfill record did not survive the Redis restart');
        // The worker rides out the restart for a moment before its own kill.
        await liveFor(w, opts.minUpSeconds * 500);
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
    // Judged after the kills that happened; how many landed is reported, and said when short.
    if (workerKills < opts.kills) say(`${workerKills} of ${opts.kills} kills landed before the backfill finished; the tables are judged after those`);
    else say(`all ${opts.kills} kills landed${redisRestarts > 0 ? `, and ${redisRestarts} Redis restart` : ''}`);
    if (workerKills === 0) problems.push('no kill landed before the backfill finished: nothing was tested');
    return {
      ok: problems.length === 0,
      dates: dates.length,
      processors: opts.processors,
      workerKills,
      killsPlanned: opts.kills,
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
    await redis?.stop();
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
}
