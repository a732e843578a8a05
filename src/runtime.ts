/**
 * Assembles a process's long-lived parts from the configuration, and releases them in
 * reverse order on close.
 */
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from './config/index.ts';
import { log, setLogLevel } from './log.ts';
import { closeNotifier } from './notify/index.ts';
import { defaultRegistry, type Registry } from './processors/registry.ts';
import type { BoxscoreSource, Phase } from './processors/types.ts';
import { startTableGate } from './queues/commit-worker.ts';
import type { PipelineContext } from './queues/context.ts';
import { type DependencyTracker, startDependencyTracker } from './queues/dependency-tracker.ts';
import { keysFor } from './queues/keys.ts';
import { startPhaseWorker, startSourceWorker } from './queues/phase-worker.ts';
import { QueueSet } from './queues/queue-set.ts';
import { StatusStore } from './queues/status-store.ts';
import { TableGateStore } from './queues/table-gate.ts';
import { ensureRedis, type RedisHandle } from './redis/ensure-redis.ts';
import { FixtureSource } from './sources/fixture/fixture-source.ts';
import { ScraperServiceSource } from './sources/scraper-service.ts';
import { createStore } from './storage/index.ts';
import { openWarehouse } from './warehouse/index.ts';
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
   * since those are the processes whose work completion events carry downstream.
   */
  startWorkers(opts: { phases: readonly Phase[]; commit: boolean; concurrency: number; tracker?: boolean }): Promise<void>;
  /** The warehouse if it was opened, without opening it. */
  openedWarehouse(): Warehouse | undefined;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  registry?: Registry;
  source?: BoxscoreSource;
  rules?: Partial<RulesOptions>;
  /** Whether REDIS_URL was set by the user (then no embedded server is started). */
  redisExplicit?: boolean;
}

export function createSource(config: Config): BoxscoreSource {
  if (config.source === 'service') {
    return new ScraperServiceSource({ url: config.scraper.url ?? '', timeoutMs: config.scraper.timeoutSeconds * 1000 });
  }
  return new FixtureSource({ missingGameIds: config.fixtureMissingGames, bdlMissingGameIds: config.fixtureBdlMissingGames });
}

export async function openRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  setLogLevel(config.logLevel);
  const redisHandle = await ensureRedis(config.redisUrl, opts.redisExplicit ?? process.env.REDIS_URL !== undefined);
  if (redisHandle.embedded) log.info(`started an embedded redis-server at ${redisHandle.url} (no Redis answered at ${config.redisUrl})`);
  // BullMQ workers need maxRetriesPerRequest: null so a blocking call is never cut short.
  const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: null });
  const keys = keysFor(config.prefix);
  const store = createStore(config);
  const registry = opts.registry ?? defaultRegistry();
  const queues = new QueueSet(redis, config);
  let warehouse: Promise<Warehouse> | undefined;
  let opened: Warehouse | undefined;
  const workers: Worker[] = [];
  const trackers: DependencyTracker[] = [];

  const rt: Runtime = {
    config,
    redis,
    keys,
    registry,
    store,
    source: opts.source ?? createSource(config),
    statuses: new StatusStore(redis, keys),
    gate: new TableGateStore(redis, keys),
    queues,
    redisHandle,
    workers,
    warehouse: () => {
      warehouse ??= openWarehouse(config, store, opts.rules).then((w) => (opened = w));
      return warehouse;
    },
    openedWarehouse: () => opened,
    trackers,
    async startWorkers({ phases, commit, concurrency, tracker }) {
      for (const phase of phases) workers.push(startPhaseWorker(rt, phase, concurrency));
      // Sources with a request budget of their own have their own queue and limiter.
      if (phases.includes(1))
        for (const def of registry.all()) if (def.kind === 'scraper' && def.rateLimit) workers.push(startSourceWorker(rt, def, concurrency));
      if (commit) {
        await rt.warehouse();
        // Every table with a gate — the processors' and phasegate's own log tables.
        for (const table of registry.gatedTables()) workers.push(await startTableGate(rt, table));
      }
      if ((tracker ?? (commit || phases.some((p) => p >= 3))) && trackers.length === 0) trackers.push(await startDependencyTracker(rt));
    },
    async close() {
      // Reverse order of opening: the tracker stops enqueueing, then workers hand back or
      // finish their jobs.
      await Promise.all(trackers.splice(0).map((t) => t.close()));
      await Promise.all(workers.map((w) => w.close()));
      await queues.close();
      if (warehouse) await (await warehouse).close();
      closeNotifier(rt);
      await redis.quit().catch(() => redis.disconnect());
      await redisHandle.stop();
    },
  };
  return rt;
}
