/**
 * Shutting down: every releaser runs in reverse order even when one throws, and a process that
 * ran table gates lands its log rows before it exits.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startDependencyTracker } from '../src/queues/events/dependency-tracker.ts';
import { startRedisServer } from '../src/redis/ensure-redis.ts';
import { openRuntime } from '../src/runtime.ts';
import { deleteKeys, openRuntimes, openTestRuntime, runCli, TEST_REDIS_URL, testConfig, until } from './helpers.ts';

describe('closing a runtime', function () {
  this.timeout(90_000);

  it('runs every step even when a worker fails to close: Redis is quit, and the error is reported', async () => {
    const env = await openTestRuntime();
    try {
      await env.rt.startWorkers({ phases: [1], commit: false, concurrency: 1, tracker: false });
      const worker = env.rt.workers[0];
      if (!worker) throw new Error('no worker');
      const close = worker.close.bind(worker);
      // BullMQ's worker, not ours: its close fails once after really closing.
      worker.close = async () => {
        await close();
        throw new Error('worker close failed');
      };
      openRuntimes.delete(env.rt);
      const err = await env.rt.close().catch((e: unknown) => e);
      expect((err as Error).message).to.equal('worker close failed');
      // Its Redis connection is quit all the same (ioredis reports `end` a tick later).
      await until(async () => env.rt.redis.status === 'end', 'the Redis connection to end', 5_000);
    } finally {
      await env.cleanup();
    }
  });

  it('a close while Redis is dead lets go of a dependency tracker still starting and of a command still queued: its start fails, nothing reconnects', async () => {
    const server = await startRedisServer({ appendonly: false });
    // The default shutdown wait (10 s): nothing in this close waits on Redis, so the watch never fires.
    const { config, dir } = await testConfig({ REDIS_URL: server.url });
    const rt = await openRuntime(config, { redisExplicit: true });
    try {
      server.process.kill('SIGKILL');
      await once(server.process, 'exit');
      await until(async () => rt.redis.status !== 'ready', 'the client to see Redis gone', 5_000);
      // A command sent now waits in the client's queue for a reconnect; a QUIT behind it would
      // wait with it (CI saw a command of its own still queued so: the close took the whole wait).
      void rt.redis.get('any').catch(() => undefined);
      // Its first command (CLIENT ID, on a connection of its own) waits for Redis as long as it is dead.
      const starting = startDependencyTracker(rt).then(
        () => 'started',
        (err: Error) => err.message,
      );
      const started = Date.now();
      const closed = await rt.close().then(
        () => 'closed',
        (err: Error) => err.message,
      );
      // Nothing of it waited on Redis: the close ends at once, and the start fails.
      expect(closed).to.equal('closed');
      expect(Date.now() - started).to.be.below(10_000);
      expect(await starting).to.match(/let go of before Redis answered$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a close while workers are starting wins: the start rejects saying so, and nothing it made outlives the close', async () => {
    // Closes at several points of the start (its steps await Redis, the warehouse, the tracker):
    // whichever it meets, every worker is closed and no tracker is left.
    const outcomes: string[] = [];
    for (const delayMs of [0, 20, 60, 100, 150, 250]) {
      const env = await openTestRuntime();
      const rt = env.rt;
      try {
        openRuntimes.delete(rt);
        const starting = rt.startWorkers({ phases: [1, 2, 3, 4, 5], commit: true, concurrency: 2 }).then(
          () => 'started',
          (err: Error) => `${err.name}: ${err.message}`,
        );
        await new Promise((r) => setTimeout(r, delayMs));
        await rt.close();
        const outcome = await starting;
        outcomes.push(outcome);
        expect(outcome, `closed ${delayMs} ms in`).to.be.oneOf(['started', 'RuntimeClosedError: the runtime was closed while its workers were starting']);
        expect(
          rt.workers.filter((w) => w.closing === undefined).map((w) => w.name),
          `workers left running, closed ${delayMs} ms in`,
        ).to.deep.equal([]);
        expect(rt.trackers).to.have.length(0);
      } finally {
        await env.cleanup();
      }
    }
    // Closed before its first step answered, the start cannot have finished.
    expect(outcomes[0]).to.match(/^RuntimeClosedError/);
  });

  it('`backfill --workers` exits after its run-log rows landed, not before', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-close-'));
    const prefix = `test-${randomUUID().slice(0, 8)}`;
    // Time scale 1: the log tables' gather window is a real 10 s, longer than the run.
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      PHASEGATE_PREFIX: prefix,
      PHASEGATE_DATA_DIR: dir,
      PHASEGATE_LOG_LEVEL: 'error',
      PHASEGATE_COMMIT_GATHER_SECONDS: '0.2',
    };
    try {
      const r = await runCli(
        ['backfill', '--processors', 'nbac_team_boxscore_scraper,nbac_team_boxscore', '--start', '2023-12-01', '--end', '2023-12-01', '--workers', '1'],
        env,
      );
      expect(r.code, r.stderr).to.equal(0);
      const sql = await runCli(['sql', 'SELECT processor, status FROM nba_orchestration.processing_run_log ORDER BY processor', '--json'], env);
      expect(sql.code, sql.stderr).to.equal(0);
      expect(JSON.parse(sql.stdout)).to.deep.equal([
        { processor: 'nbac_team_boxscore', status: 'succeeded' },
        { processor: 'nbac_team_boxscore_scraper', status: 'succeeded' },
      ]);
    } finally {
      await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
