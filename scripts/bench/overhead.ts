/**
 * `npm run bench:overhead`: what phasegate's job path costs over raw BullMQ.
 *
 * 1. Throughput, same concurrency, same Redis (a redis-server of its own): raw BullMQ no-op
 *    jobs (addBulk + a worker that does nothing, with phasegate's phase-job options) against
 *    phasegate's whole path for a trivial processor — a backfill enqueues the jobs, each job
 *    writes its statuses and run-log row, stages one row and registers it with the table's
 *    gate, and group commits land the rows in a one-column table (DuckDB behind the BigQuery
 *    rules) — measured until every slice is committed. jobs/s for both, and the ratio; and
 *    how the table's commits kept up with the stagers (the rules layer's record).
 * 2. Where the time goes: the same two runs again under `MONITOR`, counting the commands
 *    Redis executed and the round trips they took (a MULTI … EXEC block is one), per job.
 * 3. Downstream trigger latency at time scale 1: from a commit's `committed` event (its
 *    stream entry's time) to the dependent phase-3 job starting, p50/p95. The tracker's own
 *    gather window (PHASEGATE_TRACKER_DEBOUNCE_SECONDS) is set to 0 so it is excluded.
 *
 * Prints one JSON object per part on stdout and a summary with the targets on stderr. See
 * docs/bench-overhead.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig, productSettings, tableLimits } from '../../src/config/load-config.ts';
import { addDays, datesIn } from '../../src/processors/precompute/lookback.ts';
import { tableId } from '../../src/processors/types.ts';
import { startBackfill } from '../../src/queues/backfill/backfill.ts';
import { TableGateStore } from '../../src/queues/commit/table-gate.ts';
import type { SliceStatus } from '../../src/queues/status-store.ts';
import { StatusStore } from '../../src/queues/status-store.ts';
import { startRedisServer } from '../../src/redis/ensure-redis.ts';
import { RedisStep } from '../../src/redis/step.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import { SqlReports } from '../../src/warehouse/reports/sql-reports.ts';
import { BigQueryRulesWarehouse } from '../../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { latencyStats, round } from './measure.ts';
import { monitored } from './monitored.ts';
import { parseFlags, progressLog, wholeFlag } from './options.ts';
import { trivialRegistry } from './trivial-registry.ts';

const USAGE = `usage: npm run bench:overhead -- [flags]
  --jobs N              jobs per throughput run (default 2000)
  --concurrency N       worker concurrency of both (default 12)
  --time-scale X        phasegate's time scale for the throughput runs (default 1000: BigQuery's latency and rate windows shrink so the job path itself is measured)
  --latency-dates N     dates of the trigger-latency run at time scale 1 (default 200)
  --no-monitor          skip the MONITOR runs
  --quiet               no progress lines`;

interface Options {
  jobs: number;
  concurrency: number;
  timeScale: number;
  latencyDates: number;
  monitor: boolean;
  verbose: boolean;
}

function parse(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      jobs: { type: 'string' },
      concurrency: { type: 'string' },
      'time-scale': { type: 'string' },
      'latency-dates': { type: 'string' },
      'no-monitor': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new Error(USAGE);
  const int = wholeFlag(USAGE);
  const scale = values['time-scale'] === undefined ? 1000 : Number(values['time-scale']);
  if (!(scale > 0 && scale <= 100_000)) throw new Error(`--time-scale: "${values['time-scale']}" must be in (0, 100000]\n${USAGE}`);
  return {
    jobs: int('jobs', values.jobs, 2000),
    concurrency: int('concurrency', values.concurrency, 12),
    timeScale: scale,
    latencyDates: int('latency-dates', values['latency-dates'], 200),
    monitor: !values['no-monitor'],
    verbose: !values.quiet,
  };
}

/** `n` calendar dates from `start`. */
function datesFrom(start: string, n: number): string[] {
  return datesIn({ start, end: addDays(start, n - 1) });
}

/**
 * Wall time spent in each kind of call while `body` runs, summed over every call (concurrent
 * calls overlap, so the sum divided by the jobs is the time one job spends in it on average).
 */
async function timedCalls<T>(body: () => Promise<T>): Promise<{ result: T; ms: Record<string, { calls: number; ms: number }> }> {
  const targets: [object, string, string[]][] = [
    [LocalObjectStore.prototype, 'object store', ['put', 'stash', 'get', 'delete', 'list']],
    // A job step's MULTI (src/redis/step.ts): its status, the gate's registration, the run log's row.
    [RedisStep.prototype, 'redis step', ['run']],
    [StatusStore.prototype, 'status store', ['update', 'set', 'setMany', 'get', 'getMany']],
    [TableGateStore.prototype, 'gate', ['register', 'take', 'release', 'countTableOp', 'holdInfo']],
    [Queue.prototype, 'BullMQ queue', ['add', 'addBulk']],
    [BigQueryRulesWarehouse.prototype, 'warehouse', ['commit', 'unitHoldings', 'tableMetadata', 'describeTable']],
    [SqlReports.prototype, 'warehouse', ['gameHoldings']],
  ];
  const ms: Record<string, { calls: number; ms: number }> = {};
  const restore: (() => void)[] = [];
  for (const [proto, label, names] of targets) {
    for (const name of names) {
      const target = proto as Record<string, unknown>;
      const original = target[name];
      if (typeof original !== 'function') continue;
      const key = `${label}.${name}`;
      target[name] = async function (this: unknown, ...args: unknown[]) {
        const t = performance.now();
        try {
          return await (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
        } finally {
          const e = ms[key] ?? { calls: 0, ms: 0 };
          ms[key] = e;
          e.calls++;
          e.ms += performance.now() - t;
        }
      };
      restore.push(() => {
        target[name] = original;
      });
    }
  }
  try {
    return { result: await body(), ms };
  } finally {
    for (const r of restore) r();
  }
}

/** CPU time used so far: this process's (every thread) and the Redis server's (`INFO cpu`), ms. */
async function cpuNow(redis: { info(section: 'cpu'): Promise<string> }): Promise<{ process: number; redis: number }> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  const own = process.cpuUsage();
  return { process: (own.user + own.system) / 1000, redis: (field('used_cpu_user') + field('used_cpu_sys')) * 1000 };
}

/** CPU ms per job between two readings of `cpuNow`. */
function cpuPerJob(from: { process: number; redis: number }, to: { process: number; redis: number }, jobs: number) {
  return { process: round((to.process - from.process) / jobs, 3), redis: round((to.redis - from.redis) / jobs, 3) };
}

/** Raw BullMQ: addBulk (500 at a time, as phasegate enqueues) and a worker that does nothing. */
async function rawRun(url: string, prefix: string, jobs: number, concurrency: number) {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue('raw-noop', { connection, prefix });
  let done = 0;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const worker = new Worker(
    'raw-noop',
    async () => {
      if (++done === jobs) finish();
    },
    { connection, prefix, concurrency },
  );
  await worker.waitUntilReady();
  const cpu0 = await cpuNow(connection);
  const t0 = performance.now();
  const opts = { attempts: 5, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: { count: 1000 }, removeOnFail: { age: 7 * 86_400 } };
  for (let i = 0; i < jobs; i += 500)
    await queue.addBulk(
      Array.from({ length: Math.min(500, jobs - i) }, (_, j) => ({ name: 'noop', data: { slice: String(i + j) }, opts: { ...opts, jobId: `noop-${i + j}` } })),
    );
  await all;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuPerJob(cpu0, await cpuNow(connection), jobs);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
  return { seconds, cpuMsPerJob: cpu };
}

/** Watches a runtime's status writes (in-process): when a processor's slices reach a status, and when each got there. */
function watchStatuses(rt: Runtime) {
  const at = new Map<string, number>();
  const waiters: { processor: string; status: string; n: number; resolve: () => void }[] = [];
  const counts = new Map<string, number>();
  const note = (processor: string, slice: string, status: SliceStatus['status']) => {
    const key = `${processor}|${status}|${slice}`;
    if (at.has(key)) return;
    at.set(key, performance.now());
    const c = (counts.get(`${processor}|${status}`) ?? 0) + 1;
    counts.set(`${processor}|${status}`, c);
    for (const w of waiters) if (w.processor === processor && w.status === status && c >= w.n) w.resolve();
  };
  const store = rt.statuses;
  const update = store.update.bind(store);
  store.update = async (processor, slice, patch) => {
    await update(processor, slice, patch);
    note(processor, slice, patch.status);
  };
  const set = store.set.bind(store);
  store.set = async (processor, slice, status) => {
    await set(processor, slice, status);
    note(processor, slice, status.status);
  };
  // A status queued into a job's step is written when the step runs.
  const updateIn = store.updateIn.bind(store);
  store.updateIn = (step, processor, slice, patch) => {
    updateIn(step, processor, slice, patch);
    step.afterRun(async () => note(processor, slice, patch.status));
  };
  return {
    at: (processor: string, status: string, slice: string) => at.get(`${processor}|${status}|${slice}`),
    reach: (processor: string, status: string, n: number) =>
      new Promise<void>((resolve) => {
        if ((counts.get(`${processor}|${status}`) ?? 0) >= n) resolve();
        else waiters.push({ processor, status, n, resolve });
      }),
  };
}

async function openBenchRuntime(url: string, prefix: string, timeScale: number, extra: Record<string, string> = {}): Promise<{ rt: Runtime; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-overhead-'));
  const config = loadConfig({
    ...productSettings(process.env),
    ...extra,
    REDIS_URL: url,
    PHASEGATE_PREFIX: prefix,
    PHASEGATE_DATA_DIR: dir,
    PHASEGATE_TIME_SCALE: String(timeScale),
    PHASEGATE_LOG_LEVEL: 'error',
  });
  const { registry } = trivialRegistry();
  return { rt: await openRuntime(config, { registry, redisExplicit: true }), dir };
}

/** phasegate's path for the trivial processor, until every slice is committed. */
async function phasegateRun(url: string, prefix: string, jobs: number, concurrency: number, timeScale: number) {
  const { rt, dir } = await openBenchRuntime(url, prefix, timeScale);
  try {
    const { up } = trivialRegistry();
    const watch = watchStatuses(rt);
    await rt.startWorkers({ phases: [2], commit: true, concurrency, tracker: false });
    // The table exists first: its one-off DDL is not part of the job path.
    await (await rt.warehouse()).ensureTable(up.table);
    const dates = datesFrom('2000-01-01', jobs);
    const cpu0 = await cpuNow(rt.redis);
    const t0 = performance.now();
    await startBackfill(rt, { processors: [rt.registry.get(up.name)], dates });
    await watch.reach(up.name, 'staged', jobs);
    const staged = (performance.now() - t0) / 1000;
    const stagedAt = Date.now();
    await watch.reach(up.name, 'committed', jobs);
    const committed = (performance.now() - t0) / 1000;
    const cpu = cpuPerJob(cpu0, await cpuNow(rt.redis), jobs);
    // The table's statements as the rules layer ran them: how fast the commits kept up while
    // phase 2 staged (one at a time at PHASEGATE_TABLE_CONCURRENCY's default), and the tail after.
    const warehouse = (await rt.warehouse()) as BigQueryRulesWarehouse;
    const record = warehouse.record().tables[tableId(up.table)];
    const whileStaging = (record?.timeline ?? []).filter((x) => x.endedAt <= stagedAt);
    const commits = {
      statements: record?.dmlExecuted ?? 0,
      tableConcurrency: tableLimits(rt.config, tableId(up.table)).concurrency,
      statementsWhileStaging: whileStaging.length,
      slicesPerSecondWhileStaging: round(whileStaging.reduce((n, x) => n + x.slices, 0) / staged),
      tailSeconds: round(committed - staged, 2),
    };
    return { stagedSeconds: staged, committedSeconds: committed, commits, cpuMsPerJob: cpu };
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Time scale 1: committed event → dependent phase-3 job starting, per date. */
async function triggerLatency(url: string, prefix: string, dates: number, concurrency: number) {
  const { rt, dir } = await openBenchRuntime(url, prefix, 1, { PHASEGATE_TRACKER_DEBOUNCE_SECONDS: '0' });
  try {
    const { up, down } = trivialRegistry();
    const watch = watchStatuses(rt);
    await rt.startWorkers({ phases: [2, 3], commit: true, concurrency, tracker: true });
    const w = await rt.warehouse();
    await w.ensureTable(up.table);
    await w.ensureTable(down.table);
    const slices = datesFrom('2001-01-01', dates);
    await startBackfill(rt, { processors: [rt.registry.get(up.name), rt.registry.get(down.name)], dates: slices });
    await watch.reach(down.name, 'committed', dates);
    // A stream id is `<ms>-<seq>`: the moment Redis appended the committed event.
    const entries = (await rt.redis.xrange(rt.keys.events(), '-', '+')) as [string, string[]][];
    const eventMs = new Map<string, number>();
    for (const [id, fields] of entries) {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
      if (f.get('processor') === up.name && !eventMs.has(f.get('slice') ?? '')) eventMs.set(f.get('slice') ?? '', Number(id.split('-')[0]));
    }
    // The dependent jobs as BullMQ recorded them: added (by the tracker) and started (by a worker).
    const jobs = await rt.queues.phase(3).getJobs(['completed'], 0, dates * 2);
    const total: number[] = [];
    const trigger: number[] = [];
    const queued: number[] = [];
    for (const job of jobs) {
      const event = eventMs.get(job.data.slice);
      if (event === undefined || !job.processedOn || job.data.processor !== down.name) continue;
      total.push(job.processedOn - event);
      trigger.push(job.timestamp - event);
      queued.push(job.processedOn - job.timestamp);
    }
    return { toStart: latencyStats(total, 1), toEnqueued: latencyStats(trigger, 1), enqueuedToStart: latencyStats(queued, 1) };
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const flags = parseFlags(parse);
  if ('exitCode' in flags) return flags.exitCode;
  const opts = flags.opts;
  const log = progressLog('overhead', opts.verbose);
  const started = Date.now();
  const redis = await startRedisServer();
  try {
    log(`raw BullMQ: ${opts.jobs} no-op jobs at concurrency ${opts.concurrency}`);
    const raw = await rawRun(redis.url, 'ovh-raw', opts.jobs, opts.concurrency);
    log(`phasegate: ${opts.jobs} jobs of a trivial processor at concurrency ${opts.concurrency}, time scale ×${opts.timeScale}`);
    const pg = await phasegateRun(redis.url, 'ovh-pg', opts.jobs, opts.concurrency, opts.timeScale);
    const rawRate = opts.jobs / raw.seconds;
    const pgRate = opts.jobs / pg.committedSeconds;
    const throughput = {
      part: 'throughput',
      jobs: opts.jobs,
      concurrency: opts.concurrency,
      timeScale: opts.timeScale,
      raw: { seconds: round(raw.seconds, 2), jobsPerSecond: round(rawRate), cpuMsPerJob: raw.cpuMsPerJob },
      phasegate: {
        stagedSeconds: round(pg.stagedSeconds, 2),
        committedSeconds: round(pg.committedSeconds, 2),
        phaseJobsPerSecond: round(opts.jobs / pg.stagedSeconds),
        jobsPerSecond: round(pgRate),
        commits: pg.commits,
        cpuMsPerJob: pg.cpuMsPerJob,
      },
      ratio: round(pgRate / rawRate, 3),
    };
    process.stdout.write(`${JSON.stringify(throughput)}\n`);

    let where: Record<string, unknown> | undefined;
    if (opts.monitor) {
      log('the same two runs under MONITOR');
      const r = await monitored(redis.url, () => rawRun(redis.url, 'ovh-raw-m', opts.jobs, opts.concurrency));
      const p = await monitored(redis.url, () => phasegateRun(redis.url, 'ovh-pg-m', opts.jobs, opts.concurrency, opts.timeScale));
      const perJob = (n: number) => round(n / opts.jobs, 1);
      const top = (by: Record<string, number>) =>
        Object.fromEntries(
          Object.entries(by)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 12)
            .map(([k, v]) => [k, perJob(v)]),
        );
      where = {
        part: 'redis',
        raw: {
          commandsPerJob: perJob(r.commands),
          roundTripsPerJob: perJob(r.roundTrips),
          scriptCommandsPerJob: perJob(r.scriptCommands),
          byCommandPerJob: top(r.byCommand),
        },
        phasegate: {
          commandsPerJob: perJob(p.commands),
          roundTripsPerJob: perJob(p.roundTrips),
          scriptCommandsPerJob: perJob(p.scriptCommands),
          byCommandPerJob: top(p.byCommand),
        },
      };
      process.stdout.write(`${JSON.stringify(where)}\n`);
    }

    log('phasegate once more, timing its calls');
    const timed = await timedCalls(() => phasegateRun(redis.url, 'ovh-pg-t', opts.jobs, opts.concurrency, opts.timeScale));
    const calls = {
      part: 'calls',
      note: 'wall ms per job spent in each kind of call (summed over all calls, divided by the jobs); concurrent calls overlap',
      msPerJob: Object.fromEntries(
        Object.entries(timed.ms)
          .sort((a, b) => b[1].ms - a[1].ms)
          .map(([k, v]) => [k, { callsPerJob: round(v.calls / opts.jobs, 2), msPerJob: round(v.ms / opts.jobs, 2) }]),
      ),
      wallMsPerJobAtConcurrency: round((timed.result.committedSeconds * 1000 * opts.concurrency) / opts.jobs, 1),
    };
    process.stdout.write(`${JSON.stringify(calls)}\n`);

    log(`trigger latency: ${opts.latencyDates} dates at time scale 1, tracker debounce 0`);
    const latency = await triggerLatency(redis.url, 'ovh-lat', opts.latencyDates, opts.concurrency);
    const trigger = {
      part: 'trigger',
      dates: opts.latencyDates,
      timeScale: 1,
      concurrency: opts.concurrency,
      committedEventToDependentJobStartMs: latency.toStart,
      committedEventToDependentJobEnqueuedMs: latency.toEnqueued,
      enqueuedToStartMs: latency.enqueuedToStart,
    };
    process.stdout.write(`${JSON.stringify(trigger)}\n`);

    const w = (s: string) => process.stderr.write(`${s}\n`);
    w(
      `raw BullMQ ${throughput.raw.jobsPerSecond} jobs/s · phasegate ${throughput.phasegate.jobsPerSecond} jobs/s to committed (${throughput.phasegate.phaseJobsPerSecond} phase jobs/s to staged) · ratio ${throughput.ratio}`,
    );
    w(`${throughput.ratio >= 0.5 ? 'MET    ' : 'NOT MET'} phasegate's job path ≥ 50 % of raw BullMQ's jobs/s: ${round(throughput.ratio * 100)} %`);
    const c = pg.commits;
    w(
      `INFO    the table's commits (${c.tableConcurrency} at a time): ${c.statements} statements; while phase 2 staged (${throughput.phasegate.phaseJobsPerSecond} slices/s) they landed ${c.slicesPerSecondWhileStaging} slices/s in ${c.statementsWhileStaging}; the last landed ${c.tailSeconds} s after the last slice was staged`,
    );
    const [rc, pc] = [raw.cpuMsPerJob, pg.cpuMsPerJob];
    w(
      `INFO    CPU per job: raw ${rc.process} ms in this process + ${rc.redis} ms in Redis; phasegate ${pc.process} + ${pc.redis} ms — × ${round(pc.process / rc.process, 1)} raw's in the process (every thread); half of raw's jobs/s on the same CPU needs at most × 2`,
    );
    if (where) {
      const rp = where.raw as { roundTripsPerJob: number; commandsPerJob: number };
      const pp = where.phasegate as { roundTripsPerJob: number; commandsPerJob: number };
      const rs = where.raw as { scriptCommandsPerJob: number };
      const ps = where.phasegate as { scriptCommandsPerJob: number };
      w(
        `INFO    Redis per job: raw ${rp.commandsPerJob} commands in ${rp.roundTripsPerJob} round trips (+ ${rs.scriptCommandsPerJob} inside Lua scripts); phasegate ${pp.commandsPerJob} commands in ${pp.roundTripsPerJob} round trips (+ ${ps.scriptCommandsPerJob} inside Lua scripts)`,
      );
    }
    const p95 = latency.toStart.p95 ?? Number.POSITIVE_INFINITY;
    w(
      `${p95 < 100 ? 'MET    ' : 'NOT MET'} downstream trigger p95 < 100 ms at time scale 1 (committed event → dependent job starting): p50 ${latency.toStart.p50} ms, p95 ${latency.toStart.p95} ms (${latency.toStart.dates} dates); event → job enqueued p50 ${latency.toEnqueued.p50} / p95 ${latency.toEnqueued.p95} ms, enqueued → started p50 ${latency.enqueuedToStart.p50} / p95 ${latency.enqueuedToStart.p95} ms`,
    );
    w(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return 0;
  } finally {
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:overhead: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
