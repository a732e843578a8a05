/**
 * Issue 22, point 1: a Redis without persistence restarts under a running `phasegate worker`.
 * Everything phasegate kept in Redis is gone — the `committed` stream and the tracker's
 * consumer group with it — and the worker goes on: a cascade enqueued afterwards lands every
 * slice with exact rows, and the tracker says once that it created its group again instead of
 * logging NOGROUP five times a second. (On the old code the tracker looped on NOGROUP and the
 * cascade stayed at phase 3 pending until the worker was restarted.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../src/config/load-config.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { startRedisServer } from '../src/redis/ensure-redis.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { CASCADE_ROOTS, expectExactCascade } from './exact-cascade.ts';
import { childEnv, openRuntimes, runCli, until } from './helpers.ts';

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'phasegate.js');
const DATES_FROM = '2023-11-01';
const DATES_TO = '2023-11-03';
const ROOTS = CASCADE_ROOTS;

describe('a Redis without persistence restarts under a running worker (issue 22, point 1)', function () {
  this.timeout(240_000);
  let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  let worker: ChildProcess | undefined;
  let rt: Runtime | undefined;
  let dir: string;
  let stderr = '';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-redis-restart-'));
  });
  after(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGKILL');
      await once(worker, 'exit');
    }
    if (rt) {
      openRuntimes.delete(rt);
      await rt.close();
    }
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the tracker recreates its consumer group once, and a cascade enqueued afterwards completes with exact rows', async () => {
    redis = await startRedisServer({ appendonly: false, dir });
    const port = redis.port;
    const env = {
      REDIS_URL: redis.url,
      PHASEGATE_PREFIX: 'restart',
      PHASEGATE_DATA_DIR: path.join(dir, 'data'),
      PHASEGATE_TIME_SCALE: '200',
      PHASEGATE_LOG_LEVEL: 'info',
    };
    worker = spawn(process.execPath, [BIN, 'worker', '--phases', 'all'], { env: childEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const config = loadConfig(env);
    const events = `${config.prefix}:pg:events`;
    const probe = async () => {
      const { Redis } = await import('ioredis');
      const c = new Redis(redis?.url ?? '', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return ((await c.xinfo('GROUPS', events).catch(() => [])) as unknown[]).length > 0;
      } catch {
        return false;
      } finally {
        c.disconnect();
      }
    };
    await until(probe, 'the worker to create its tracker group', 60_000, 100);

    // The restart: the server is killed and a fresh one, with nothing, takes the same port.
    redis.process.kill('SIGKILL');
    await once(redis.process, 'exit');
    // Down for a second, long enough for every client to meet the refused connection.
    await new Promise((r) => setTimeout(r, 1000));
    redis = await startRedisServer({ appendonly: false, dir, port });
    await until(probe, 'the tracker to create its group again', 30_000, 100);

    rt = await openRuntime(config, { redisExplicit: true });
    openRuntimes.set(rt, 'redis-restart.test.ts');
    // The table caps lived in Redis too (BullMQ's queue meta): the worker set them again.
    const gate = rt.queues.commit('nba_raw.nbac_player_boxscores');
    expect(await until(() => gate.getGlobalConcurrency(), 'the table caps set again', 30_000, 100)).to.equal(1);
    // So did the recorded shared settings: the worker's gates recorded them again.
    const reopened = rt;
    const recorded = () => reopened.redis.hget(reopened.keys.sharedSettings(), 'PHASEGATE_TIME_SCALE');
    expect(await until(recorded, 'the shared settings recorded again', 30_000, 100)).to.equal('200');
    const dates = await rt.source.gameDates(DATES_FROM, DATES_TO);
    const { registry } = rt;
    const record = await startCascadingBackfill(rt, { processors: ROOTS.map((p) => registry.get(p)), dates, cascade: true });
    const progress = await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 120_000 });
    expect(progress.done, JSON.stringify(progress.perPhase)).to.equal(true);

    // Its counts (rows committed, DML today) start at the restart, and status says so.
    const status = await runCli(['status'], env);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.match(/^note: Redis lost phasegate's data at \S+ \(restarted without persistence\): the counts below start from then/);

    worker.kill('SIGTERM');
    await once(worker, 'exit');
    // The worker let go of the DuckDB file: every slice committed, the tables exact.
    await expectExactCascade(rt, dates, progress);

    const nogroup = stderr.split('\n').filter((l) => l.includes('NOGROUP'));
    expect(nogroup.length, nogroup.slice(0, 5).join('\n')).to.be.at.most(3);
    expect(stderr).to.include('was gone (Redis restarted without its data?): created it again');
    expect(stderr).to.include("Redis came back without phasegate's data");
    // Connection errors are said once per outage, in one line each: no ioredis or BullMQ stack traces.
    expect(stderr).to.not.include('Unhandled error event');
    const traces = stderr.split('\n').filter((l) => /^\s+at /.test(l));
    expect(traces, stderr.slice(0, 4000)).to.deep.equal([]);
  });
});
