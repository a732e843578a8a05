/**
 * A worker stopped (SIGTERM) while its Redis does not answer. Closing waits for the active
 * jobs, but they cannot finish without Redis: the worker did not exit at all (its commands
 * waited in ioredis' queue for a reconnect, and the close with them). Now it waits
 * PHASEGATE_SHUTDOWN_REDIS_WAIT_SECONDS, lets go of its active jobs, closes the DuckDB file and
 * exits 1 with one line. Redis comes back (its AOF kept every acknowledged write), a new worker
 * takes the abandoned jobs once their locks expire, and the run ends with exact rows.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../src/config/load-config.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { startRedisServer } from '../src/redis/ensure-redis.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { CASCADE_DOWNSTREAM, CASCADE_ROOTS, expectExactCascade } from './exact-cascade.ts';
import { exitWithin, openRuntimes, spawnCli, until } from './helpers.ts';

describe('a worker stopped while its Redis does not answer', function () {
  this.timeout(240_000);
  let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  const workers: ChildProcess[] = [];
  let rt: Runtime | undefined;
  let dir = '';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-redis-gone-'));
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    if (rt) {
      openRuntimes.delete(rt);
      await rt.close().catch(() => undefined);
    }
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 1 after the wait with one line; a new worker finishes its jobs once Redis is back, exact rows', async () => {
    redis = await startRedisServer({ appendonly: true, appendfsync: 'always', dir });
    const port = redis.port;
    const env = {
      REDIS_URL: redis.url,
      PHASEGATE_PREFIX: 'gone',
      PHASEGATE_DATA_DIR: path.join(dir, 'data'),
      PHASEGATE_TIME_SCALE: '20',
      PHASEGATE_STALLED_SECONDS: '2',
      PHASEGATE_SHUTDOWN_REDIS_WAIT_SECONDS: '2',
      PHASEGATE_LOG_LEVEL: 'warn',
    };
    const startWorker = () => {
      const { proc: w, out } = spawnCli(['worker', '--phases', 'all'], env);
      workers.push(w);
      return { w, out };
    };
    const first = startWorker();
    const config = loadConfig(env);
    rt = await openRuntime(config, { redisExplicit: true });
    openRuntimes.set(rt, 'redis-gone-close.test.ts');
    const ready = rt;
    const dates = await ready.source.gameDates('2023-11-01', '2023-11-06');
    const record = await startCascadingBackfill(ready, { processors: CASCADE_ROOTS.map((p) => ready.registry.get(p)), dates, cascade: true });
    // Mid-run: a phase 3 slice has landed, the run has not.
    await until(
      async () => (await ready.statuses.getMany(CASCADE_DOWNSTREAM[0] as string, dates)).some((s) => s?.status === 'committed'),
      'a phase 3 commit',
      120_000,
      50,
    );

    // Redis dies; the worker is told to stop while it cannot reach it.
    redis.process.kill('SIGKILL');
    await once(redis.process, 'exit');
    const started = Date.now();
    first.w.kill('SIGTERM');
    const ended = await exitWithin(first.w, 30_000, 'after SIGTERM');
    expect(ended, first.out.stderr.slice(-2000)).to.equal('exited 1');
    // The wait, then the close of everything else: well under the 30 s above.
    expect(Date.now() - started).to.be.below(20_000);
    const lines = first.out.stderr.split('\n').filter((l) => l.startsWith('phasegate: '));
    expect(lines).to.deep.equal([
      `phasegate: Redis at 127.0.0.1:${port} did not answer for 2 s while this process stopped: it let go of its active jobs (BullMQ gives them to the next worker once their locks expire)`,
    ]);
    expect(first.out.stderr).to.not.include('Unhandled error event');

    // Redis comes back with its AOF; a new worker takes what the first let go of.
    redis = await startRedisServer({ appendonly: true, appendfsync: 'always', dir, port });
    startWorker();
    const progress = await waitForCascade(ready, record, { pollMs: 200, timeoutMs: 150_000 });
    expect(progress.done, JSON.stringify(progress.perPhase)).to.equal(true);
    const last = workers.at(-1) as ChildProcess;
    last.kill('SIGTERM');
    expect((await once(last, 'exit'))[0]).to.equal(0);
    // The second worker let go of the DuckDB file: every slice committed, the tables exact.
    await expectExactCascade(ready, dates, progress);
  });
});
