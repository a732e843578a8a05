/**
 * Assembles a process's long-lived parts from the configuration, and releases them in
 * reverse order on close.
 */
import type { PubSub } from '@google-cloud/pubsub';
import type { Worker } from 'bullmq';
import { type Config, scaledMs, secretsOf } from './config/load-config.ts';
import { RedisGoneError } from './errors/redis-gone-error.ts';
import { RuntimeClosedError } from './errors/runtime-closed-error.ts';
import { type PubSubRelay, startPubSubRelay } from './events-relay/pubsub-relay.ts';
import { log, setLogLevel } from './log.ts';
import { createNotifier } from './notify/create-notifier.ts';
import { PROCESSORS, Registry } from './processors/registry.ts';
import type { BoxscoreSource, Phase, SourceClients } from './processors/types.ts';
import { checkSharedSettings, differencesFrom, recordSharedSettings } from './queues/commit/shared-settings.ts';
import { TableGateStore } from './queues/commit/table-gate.ts';
import { mendTableGate, startCommitWorker, startTableGate } from './queues/commit/worker.ts';
import type { PipelineContext } from './queues/context.ts';
import { phaseWorkerLanes } from './queues/defaults.ts';
import { type DependencyTracker, startDependencyTracker } from './queues/events/dependency-tracker.ts';
import {
  closeWorker,
  describeFetchLoop,
  type FetchLoopWatch,
  replaceWorker,
  type WorkerRemaking,
  waitsIdle,
  watchFetchLoops,
} from './queues/fetch-loop-watch.ts';
import { flushLogTables, UNANSWERED_AFTER_MS } from './queues/logs/flush.ts';
import { commitQueueName, isCommitQueue, SCHEDULER_QUEUE } from './queues/names.ts';
import { startPhaseWorker, startSourceWorker } from './queues/phase-worker.ts';
import { QueueSet } from './queues/queue-set.ts';
import { markRedisEpoch, watchRedisRestarts } from './queues/redis-epoch.ts';
import { startSchedulerWorker } from './queues/scheduler-worker.ts';
import { StatusStore } from './queues/status-store.ts';
import { rememberSecrets } from './redact.ts';
import { letGoOfBlockingReads } from './redis/blocking-connection.ts';
import { closeClient, connectRedis, duplicateClient } from './redis/connect.ts';
import { ensureCluster, ensureRedis, type RedisHandle } from './redis/ensure-redis.ts';
import { keysFor } from './redis/keys.ts';
import { quietConnectionErrors } from './redis/repeated-errors.ts';
import { watchSilentRedis } from './redis/silent-redis.ts';
import { schedulerHandlers } from './schedules/handlers.ts';
import { FixtureSource } from './sources/fixture/fixture-source.ts';
import { ScraperServiceSource } from './sources/scraper-service.ts';
import { sourceClients } from './sources/source-clients.ts';
import { LocalObjectStore } from './storage/local-store.ts';
import type { ObjectStore } from './storage/object-store.ts';
import { LOG_TABLES } from './tables/log-tables.ts';
import { exportMetricsOf, type MetricSource, metricsExporting, startMetrics } from './telemetry/metrics.ts';
import { flushTracing, startTracing } from './telemetry/tracing.ts';
import { openWarehouse, warehouseDeclaration } from './warehouse/index.ts';
import type { ReadRelayServer } from './warehouse/read-relay/server.ts';
import type { RulesOptions } from './warehouse/rules/bigquery-rules-warehouse.ts';
import type { Warehouse } from './warehouse/types.ts';

export interface Runtime extends PipelineContext {
  redisHandle: RedisHandle;
  workers: Worker[];
  /** Dependency trackers started by startWorkers (at most one per runtime). */
  trackers: DependencyTracker[];
  /**
   * Starts workers for phases and (optionally) every table's commit queue, and the dependency
   * tracker when `tracker` is true — by default whenever commits or phase ≥ 3 jobs are worked,
   * since those are the processes whose work completion events carry downstream. `scheduler`
   * starts the scheduler queue's worker (daily audit, daily live run), by default with the
   * commit gates: the audit reads the warehouse, which the commit process holds. A `close()`
   * while it runs wins: what the start makes after the close began is stopped at once, and the
   * start rejects with `RuntimeClosedError`.
   */
  startWorkers(opts: { phases: readonly Phase[]; commit: boolean; concurrency: number; tracker?: boolean; scheduler?: boolean }): Promise<void>;
  /** The warehouse if it was opened, without opening it. */
  openedWarehouse(): Warehouse | undefined;
  /**
   * Once `signal` fires (a command told to stop), what is raced against the returned watch
   * stops waiting on a Redis that has not answered for PHASEGATE_SHUTDOWN_REDIS_WAIT_SECONDS:
   * it fails with the same `RedisGoneError` `close` throws. A command's wait, its summary and
   * its close then end on the first Ctrl-C, where they waited for a reconnect that never came.
   */
  stopWaitingOnSilentRedis(signal: AbortSignal): { race<T>(work: Promise<T>): Promise<T>; stop(): void };
  close(): Promise<void>;
}

export interface RuntimeOptions {
  registry?: Registry;
  source?: BoxscoreSource;
  /** @defaultValue each source's client from the settings, or the fixture's stand-in when `source` is the fixture */
  clients?: SourceClients;
  rules?: Partial<RulesOptions>;
  /** The client of the Pub/Sub relay (PHASEGATE_PUBSUB_TOPIC). @defaultValue one over REST, in the topic's project */
  pubsub?: PubSub;
  /** Whether REDIS_URL was set by the user (then no embedded server is started). */
  redisExplicit?: boolean;
  /**
   * The metrics a process running the table gates exports when `OTEL_*` asks for it
   * (src/telemetry/metrics.ts). Handed in: they are defined by the dashboard, above the runtime.
   * @defaultValue none: nothing is exported
   */
  metrics?: (rt: Runtime) => Promise<MetricSource>;
}

/**
 * The doctor's warnings already logged by this process: a process that starts workers again
 * (the demo, a test) says "AOF off" once, not at every start.
 */
const warned = new Set<string>();

function warnOnce(line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  log.warn(line);
}

export function createSource(config: Config): BoxscoreSource {
  if (config.source === 'service') {
    return new ScraperServiceSource({ url: config.scraper.url ?? '', timeoutMs: config.scraper.timeoutSeconds * 1000 });
  }
  return new FixtureSource({ missingGameIds: config.fixtureMissingGames, bdlMissingGameIds: config.fixtureBdlMissingGames });
}

/** Every processor phasegate ships, and its own log tables. */
export function defaultRegistry(): Registry {
  return new Registry(PROCESSORS, LOG_TABLES);
}

export async function openRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  setLogLevel(config.logLevel);
  // OTEL_* decide (off when none asks for traces or metrics); once per process, before any queue exists.
  await Promise.all([startTracing(process.env), startMetrics(process.env)]);
  rememberSecrets(...secretsOf(config));
  // A cluster is never replaced by an embedded server: its nodes answer, or the first command says why.
  const redisHandle = config.redisCluster
    ? await ensureCluster(config.redisUrl, config.redisCluster)
    : await ensureRedis(config.redisUrl, opts.redisExplicit ?? process.env.REDIS_URL !== undefined);
  if (redisHandle.embedded) log.info(`started an embedded redis-server at ${redisHandle.url} (no Redis answered at ${config.redisUrl})`);
  // BullMQ workers need maxRetriesPerRequest: null so a blocking call is never cut short.
  const redis = quietConnectionErrors(
    connectRedis({ redisUrl: redisHandle.url, redisCluster: config.redisCluster }, { maxRetriesPerRequest: null }),
    'Redis connection',
  );
  const keys = keysFor(config.prefix);
  // The warehouse clients (DuckDB, BigQuery) and the GCS client load only when they are used:
  // `status` never opens the warehouse, and the embedded default never needs GCS.
  const store: ObjectStore = config.store === 'local' ? new LocalObjectStore(config.storeDir) : (await import('./storage/create-store.ts')).createStore(config);
  // phasegate's own log tables get their gates whatever registry the caller hands in.
  const registry = (opts.registry ?? defaultRegistry()).withLogTables(LOG_TABLES);
  // BullMQ loads its ~66 Lua scripts onto the connection it is given, and ioredis copies every
  // script of a connection into each pipeline or MULTI made on it (47 µs each against 4.6 µs on
  // a connection without them): the queues and workers get a connection of their own, so
  // phasegate's own pipelines on `redis` stay cheap.
  const bullmqConnection = quietConnectionErrors(duplicateClient(redis), 'queues: Redis connection');
  const queues = new QueueSet(bullmqConnection, config);
  let warehouse: Promise<Warehouse> | undefined;
  // The warehouse alone, without the read relay `warehouse` also waits for: the relay's first
  // command waits for Redis, and a close while Redis is dead must still close the warehouse.
  let warehouseOpen: Promise<Warehouse> | undefined;
  // Set when close() begins: a relay that finishes starting after that stops at once.
  let closing = false;
  // Whether this process runs the table gates: with the embedded DuckDB, only then may it take the file.
  let commitsHere = false;
  let opened: Warehouse | undefined;
  // Other processes' reads of the DuckDB file this process now holds (src/warehouse/read-relay).
  let relay: ReadRelayServer | undefined;
  const startReadRelay = async (w: Warehouse): Promise<void> => {
    // Only a warehouse one process holds has readers to serve (and only then is DuckDB loaded).
    if (!warehouseDeclaration(config).heldFile) return;
    const [{ duckdbOf, rulesOf }, { serveReads }] = await Promise.all([import('./warehouse/duckdb/backend.ts'), import('./warehouse/read-relay/server.ts')]);
    const duck = duckdbOf(w);
    if (!duck) return;
    const { timeoutSeconds, maxRows, maxBytes } = config.readRelay;
    try {
      const serving = await serveReads({
        redis,
        keys,
        dbPath: config.duckdbPath,
        registry,
        duck,
        pipeline: rulesOf(w) ?? duck,
        bounds: { timeoutMs: timeoutSeconds * 1000, maxRows, maxBytes },
      });
      if (closing) await serving.close();
      else relay = serving;
    } catch (err) {
      // The pipeline does not stand on it: without it, readers say the holder does not answer.
      // A start cut short by close() (its connections let go of a silent Redis) is no news.
      if (!closing) log.warn(`read relay: not serving reads of ${config.duckdbPath}: ${(err as Error).message}`);
    }
  };
  const workers: Worker[] = [];
  // How to start each worker again: the fetch-loop watch replaces one whose wait never ends.
  const remakers = new WeakMap<Worker, () => Worker>();
  let fetchWatch: FetchLoopWatch | undefined;
  const run = (make: () => Worker, worker?: Worker) => {
    if (closing && !worker) throw new RuntimeClosedError();
    worker ??= make();
    remakers.set(worker, make);
    workers.push(worker);
  };
  // The fetch-loop watch replaces a stuck worker with these, and so does a close whose log flush finds one.
  const remaking: WorkerRemaking = {
    workers,
    remake: (stuck) => {
      const make = remakers.get(stuck);
      if (!make) throw new Error('not a worker this runtime started');
      const fresh = make();
      remakers.set(fresh, make);
      return fresh;
    },
    count: (queue) => rt.redis.hincrby(rt.keys.workersReplaced(), queue, 1),
  };
  const trackers: DependencyTracker[] = [];
  // The Pub/Sub relay of the event streams, when PHASEGATE_PUBSUB_TOPIC is set (one per runtime).
  let eventsRelay: PubSubRelay | undefined;
  // Stops this runtime's metrics export after sending them one last time.
  let stopExport: (() => Promise<void>) | undefined;
  let unwatch: (() => void) | undefined;

  // A close that began while workers were starting closed what existed then: what the start
  // makes after that is stopped at once, and the start fails saying why.
  const stillOpen = () => {
    if (closing) throw new RuntimeClosedError();
  };
  const keep = async <T>(made: T, stop: (t: T) => Promise<unknown>): Promise<T> => {
    if (!closing) return made;
    await stop(made).catch(() => undefined);
    throw new RuntimeClosedError();
  };
  const startWorkers: Runtime['startWorkers'] = async ({ phases, commit, concurrency, tracker, scheduler }) => {
    // First of all, before this process writes anything: a worker whose table caps, batch
    // sizes or time scale differ from the pipeline's recorded set refuses to start (one line,
    // exit 2); the first process to start table gates records the set.
    await checkSharedSettings(rt, { record: commit });
    if (commit) commitsHere = true;
    // Before anything starts: no table gate runs against a warehouse where every commit
    // would fail (phasegate doctor's checks; the others are logged).
    if (commit && config.workerDoctor) {
      // Imported here: the checks load every warehouse client, which `status` must not pay for.
      const [{ preflight }, { formatCheck }] = await Promise.all([import('./doctor/run-doctor.ts'), import('./doctor/check.ts')]);
      const checks = await preflight({
        config,
        registry,
        warehouse: await rt.warehouse(),
        store,
        redisUrl: redisHandle.url,
        redisCluster: config.redisCluster && { nodes: config.redisCluster, prefix: config.prefix },
      });
      for (const c of checks) warnOnce(`doctor: ${formatCheck(c)}`);
    }
    await markRedisEpoch(redis, keys);
    stillOpen();
    // A Redis that restarts without its data takes the table caps with it (they live in
    // BullMQ's queue meta): a process running gates sets them again when it reconnects.
    if (commit && !unwatch)
      unwatch = watchRedisRestarts(redis, keys, async () => {
        // The recorded set went with the data: the first gate back records it again.
        const differences = differencesFrom(rt, await recordSharedSettings(rt));
        if (differences.length > 0)
          log.warn(`after Redis came back, another process recorded other shared settings first: ${differences.map((d) => d.variable).join(', ')}`);
        for (const table of registry.gatedTables()) await mendTableGate(rt, table);
      });
    // A phase running many jobs at once takes them in several workers (defaults.ts `phaseWorkerLanes`).
    for (const phase of phases) for (const lane of phaseWorkerLanes(config, phase, concurrency)) run(() => startPhaseWorker(rt, phase, lane));
    // Sources with a request budget of their own have their own queue and limiter.
    if (phases.includes(1)) for (const def of registry.all()) if (def.kind === 'scraper' && def.rateLimit) run(() => startSourceWorker(rt, def, concurrency));
    if (commit) {
      await rt.warehouse();
      // Every table with a gate — the processors' and phasegate's own log tables.
      // Started again, a gate needs no mending: only its worker was stuck.
      for (const table of registry.gatedTables()) run(() => startCommitWorker(rt, table), await keep(await startTableGate(rt, table), (gate) => gate.close()));
    }
    if ((tracker ?? (commit || phases.some((p) => p >= 3))) && trackers.length === 0)
      trackers.push(await keep(await startDependencyTracker(rt), (t) => t.close()));
    // Pipeline-wide values read from Redis: exported by the process that runs the table gates
    // (one, on the embedded default), so a collector does not get each series once per worker.
    if (commit && opts.metrics && metricsExporting() && !stopExport) {
      const metrics = await opts.metrics(rt);
      stillOpen();
      stopExport = exportMetricsOf(metrics);
    }
    if (config.pubsub.topic && !eventsRelay) {
      eventsRelay = await keep(
        await startPubSubRelay(
          { redis, keys, prefix: config.prefix },
          { topic: config.pubsub.topic, client: opts.pubsub, claimIdleMs: scaledMs(config, config.tracker.claimIdleSeconds) },
        ),
        (relay) => relay.close(),
      );
    }
    if ((scheduler ?? commit) && !workers.some((w) => w.name === SCHEDULER_QUEUE)) run(() => startSchedulerWorker(rt, schedulerHandlers(rt)));
    fetchWatch ??= watchFetchLoops({ ...remaking, redis: bullmqConnection });
  };

  const source = opts.source ?? createSource(config);
  const rt: Runtime = {
    config,
    redis,
    keys,
    registry,
    store,
    source,
    clients: opts.clients ?? sourceClients(source instanceof FixtureSource ? source : undefined, config),
    statuses: new StatusStore(redis, keys),
    gate: new TableGateStore(redis, keys),
    notifier: createNotifier({ config, redis, keys }),
    queues,
    redisHandle,
    workers,
    warehouse: () => {
      warehouseOpen ??= openWarehouse(config, store, opts.rules);
      warehouse ??= warehouseOpen.then(async (w) => {
        opened = w;
        await startReadRelay(w);
        return w;
      });
      return warehouse;
    },
    openedWarehouse: () => opened,
    opensWarehouse: () => !warehouseDeclaration(config).heldFile || commitsHere || warehouse !== undefined,
    trackers,
    async startWorkers(opts) {
      try {
        await startWorkers(opts);
      } catch (err) {
        // What a racing close cut short fails for that reason, not as a broken check or connection.
        if (closing && !(err instanceof RuntimeClosedError)) throw new RuntimeClosedError({ cause: err });
        throw err;
      }
    },
    stopWaitingOnSilentRedis(signal) {
      let watch: { stop(): void } | undefined;
      const gone = new Promise<never>((_, reject) => {
        const arm = () => {
          watch = watchSilentRedis(redis, config.shutdownRedisWaitSeconds * 1000, () => reject(new RedisGoneError(redisGoneMessage(config, redisHandle.url))));
        };
        if (signal.aborted) arm();
        else signal.addEventListener('abort', arm, { once: true });
      });
      // Nobody may be racing it when it fires.
      gone.catch(() => undefined);
      return {
        race: (work) => Promise.race([work, gone]),
        stop: () => watch?.stop(),
      };
    },
    async close() {
      // Reverse order of opening, every step even when an earlier one throws (a failing worker
      // close must not leave Redis connected or the embedded redis-server running).
      const errors: unknown[] = [];
      const step = async (what: () => Promise<unknown> | unknown) => {
        try {
          await what();
        } catch (err) {
          errors.push(err);
        }
      };
      // A job cannot finish while Redis does not answer. Past the wait, the steps that need
      // Redis stop waiting for it, and every connection is let go (each client stops
      // reconnecting, so nothing holds the process); the warehouse still closes as usual.
      closing = true;
      fetchWatch?.stop();
      const closingTrackers = trackers.splice(0);
      // Said once, by the error close() throws at its end.
      const silent = watchSilentRedis(redis, config.shutdownRedisWaitSeconds * 1000, () => {
        for (const w of workers) void w.disconnect().catch(() => undefined);
        for (const t of closingTrackers) t.letGo();
        bullmqConnection.disconnect();
        redis.disconnect();
      });
      const redisStep = (what: () => Promise<unknown> | unknown) => step(() => Promise.race([what(), silent.gone]));
      // The tracker stops enqueueing, then phase workers finish their jobs, then the log rows
      // those jobs staged land while the gates still run, then the gates finish.
      unwatch?.();
      await redisStep(() => Promise.all(closingTrackers.map((t) => t.close())));
      await redisStep(() => eventsRelay?.close());
      const gatesOf = () => workers.filter((w) => isCommitQueue(w.name));
      const close = (w: Worker) => closeWorker(w, fetchWatch);
      await redisStep(() => Promise.all(workers.filter((w) => !isCommitQueue(w.name)).map(close)));
      if (gatesOf().length > 0)
        await redisStep(async () => {
          // A log gate's worker that leaves its ready commit job untaken lost its blocking read: a new one takes the job.
          const unanswered = async (table: string) => {
            const worker = workers.find((w) => w.name === commitQueueName(table));
            if (!worker || !waitsIdle(worker)) return;
            const why = `the close's flush of the log rows found its commit job ready and untaken for ${UNANSWERED_AFTER_MS / 1000} s while it waited for a job (${describeFetchLoop(worker)})`;
            await replaceWorker(remaking, worker, why);
          };
          const left = new Set((await flushLogTables(rt, undefined, { unanswered })).map(commitQueueName));
          if (left.size === 0) return;
          // Rows still staged are not lost (the next gate to start lands them); a close that waited
          // the whole flush says what the gates of the tables left were doing.
          const states = gatesOf()
            .filter((w) => left.has(w.name))
            .map((w) => `${w.name}: ${describeFetchLoop(w)}`);
          log.warn(`closing: the log tables' rows did not all land in the flush's time; they stay staged for the next gate to start (${states.join('; ')})`);
        });
      // A commit still waiting for its place in a rate window gives its batch back (commit/worker.ts
      // GivenBack) instead of holding the close up to a window; a statement already sent is waited for.
      for (const w of gatesOf()) w.cancelAllJobs('the worker is closing');
      await redisStep(() => Promise.all(gatesOf().map(close)));
      // The last export reads the queues and Redis: before they close.
      await redisStep(() => stopExport?.());
      await redisStep(() => queues.close());
      // Stops answering other processes' reads before it lets go of the file they read.
      if (warehouse)
        await redisStep(() =>
          warehouse?.then(
            () => relay?.close(),
            () => undefined,
          ),
        );
      // A warehouse that failed to open (another process holds the DuckDB file) has nothing to close.
      if (warehouseOpen)
        await step(() =>
          warehouseOpen?.then(
            (w) => w.close(),
            () => undefined,
          ),
        );
      await step(() => rt.notifier.close());
      // The spans of this runtime's last jobs, before a CLI process exits.
      await step(() => flushTracing());
      // Every consumer closed its own blocking connection by now; one still being opened (its
      // start raced this close, or waits on a Redis that is gone) would outlive the runtime.
      letGoOfBlockingReads(redis);
      await redisStep(() => closeClient(bullmqConnection));
      await redisStep(() => closeClient(redis));
      silent.stop();
      await step(() => redisHandle.stop());
      // What failed after the connections were let go failed for that reason: said once.
      if (silent.fired) throw new RedisGoneError(redisGoneMessage(config, redisHandle.url), { cause: errors[0] });
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, `closing the runtime: ${errors.length} steps failed`);
    },
  };
  return rt;
}

/** What a process that stopped without its active jobs says: where Redis was, how long it waited, what becomes of them. */
function redisGoneMessage(config: Pick<Config, 'redisCluster' | 'shutdownRedisWaitSeconds'>, url: string): string {
  // The host and port only: the URL may hold a password.
  const where = config.redisCluster ? 'the Redis Cluster' : `Redis at ${new URL(url).host}`;
  return `${where} did not answer for ${config.shutdownRedisWaitSeconds} s while this process stopped: it let go of its active jobs (BullMQ gives them to the next worker once their locks expire)`;
}
