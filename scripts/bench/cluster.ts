/**
 * `npm run bench:cluster`: the same cascade on a standalone Redis and on a Redis Cluster
 * (three masters, one replica each), both started here from the distribution's `redis-server`
 * on free loopback ports. Each target runs it twice on a fresh prefix (`{bench-…}`, a hash tag
 * on both so the keys are the same): once for the makespan, once under `MONITOR` (on every
 * master) for the Redis commands and round trips per job. Prints one JSON line per target and
 * a comparison on stderr. See docs/bench-overhead.md ("Standalone and cluster").
 *
 *   npm run bench:cluster -- [--start 2023-11-01] [--end 2023-11-20] [--concurrency 4]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load-config.ts';
import { startCascadingBackfill, waitForCascade } from '../../src/queues/backfill/cascade.ts';
import { startRedisServer } from '../../src/redis/ensure-redis.ts';
import { openRuntime } from '../../src/runtime.ts';
import { startLocalCluster } from '../lib/local-cluster.ts';
import { round } from './measure.ts';
import { monitored } from './monitored.ts';
import { progressLog } from './options.ts';

const ROOTS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper'];

interface Target {
  name: 'standalone' | 'cluster';
  env: Record<string, string>;
  /** The servers to MONITOR: every master. */
  masters: string[];
}

async function cascade(target: Target, dir: string, start: string, end: string, concurrency: number) {
  const config = loadConfig({
    ...target.env,
    PHASEGATE_PREFIX: `{bench-${randomUUID().slice(0, 8)}}`,
    PHASEGATE_DATA_DIR: path.join(dir, randomUUID().slice(0, 8)),
    PHASEGATE_TIME_SCALE: '200',
    PHASEGATE_LOG_LEVEL: 'error',
  });
  const rt = await openRuntime(config, { redisExplicit: true });
  try {
    await rt.startWorkers({ phases: [1, 2, 3, 4, 5], commit: true, concurrency });
    const dates = await rt.source.gameDates(start, end);
    const t0 = Date.now();
    const record = await startCascadingBackfill(rt, { processors: ROOTS.map((p) => rt.registry.get(p)), dates, cascade: true });
    const progress = await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 600_000 });
    const ms = Date.now() - t0;
    const slices = Object.values(progress.perProcessor).reduce((n, c) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
    const committed = Object.values(progress.perProcessor).reduce((n, c) => n + c.committed, 0);
    if (!progress.done || committed !== slices) throw new Error(`${target.name}: the cascade ended with ${committed} of ${slices} slices committed`);
    return { dates: dates.length, slices, ms };
  } finally {
    await rt.close();
  }
}

async function masterUrls(ports: number[]): Promise<string[]> {
  const out: string[] = [];
  for (const port of ports) {
    const c = new Redis({ port, host: '127.0.0.1' });
    try {
      if ((await c.info('replication')).includes('role:master')) out.push(`redis://127.0.0.1:${port}`);
    } finally {
      c.disconnect();
    }
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      start: { type: 'string', default: '2023-11-01' },
      end: { type: 'string', default: '2023-11-20' },
      concurrency: { type: 'string', default: '4' },
    },
  });
  const start = values.start ?? '2023-11-01';
  const end = values.end ?? '2023-11-20';
  const concurrency = Number(values.concurrency);
  const log = progressLog('cluster', true);
  const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-bench-cluster-'));
  const standalone = await startRedisServer({ dir });
  const cluster = await startLocalCluster();
  const targets: Target[] = [
    { name: 'standalone', env: { REDIS_URL: standalone.url }, masters: [standalone.url] },
    {
      name: 'cluster',
      env: { REDIS_URL: `redis://${cluster.seeds.split(',')[0]}`, PHASEGATE_REDIS_CLUSTER: cluster.seeds },
      masters: await masterUrls(cluster.nodes.map((n) => n.port)),
    },
  ];
  const results: Record<
    string,
    { makespanSeconds: number; roundTripsPerJob: number; commandsPerJob: number; scriptCommandsPerJob: number; byCommand: Record<string, number> }
  > = {};
  try {
    for (const target of targets) {
      const timed = await cascade(target, dir, start, end, concurrency);
      log(`${target.name}: ${timed.dates} dates, ${timed.slices} slices in ${round(timed.ms / 1000, 2)} s`);
      const m = await monitored(target.masters, () => cascade(target, dir, start, end, concurrency));
      const perJob = (n: number) => round(n / m.result.slices, 1);
      results[target.name] = {
        makespanSeconds: round(timed.ms / 1000, 2),
        roundTripsPerJob: perJob(m.roundTrips),
        commandsPerJob: perJob(m.commands),
        scriptCommandsPerJob: perJob(m.scriptCommands),
        byCommand: m.byCommand,
      };
      process.stdout.write(`${JSON.stringify({ target: target.name, dates: timed.dates, slices: timed.slices, concurrency, ...results[target.name] })}\n`);
    }
  } finally {
    await cluster.stop();
    await standalone.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const s = results.standalone;
  const c = results.cluster;
  if (s && c) {
    process.stderr.write(
      `cluster vs standalone: makespan ${c.makespanSeconds} s vs ${s.makespanSeconds} s (× ${round(c.makespanSeconds / s.makespanSeconds, 2)}); ` +
        `round trips per job ${c.roundTripsPerJob} vs ${s.roundTripsPerJob}; commands per job ${c.commandsPerJob} vs ${s.commandsPerJob}\n`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
