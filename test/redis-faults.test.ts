/**
 * Issue 22, point 8: a Redis in trouble, as a user meets it — the CLI as a child process
 * against a redis-server of this test's own. At maxmemory a worker and a backfill each stop
 * with one line of ours (before: BullMQ's `OOM command not allowed … @user_script:589` and
 * `EXECABORT Transaction discarded …`); `status` against a paused Redis gives up after its
 * deadline with one line (before: it hung silently until the pause ended); `status` says when
 * Redis has no record of when phasegate first wrote to it while backfills exist.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { startRedisServer } from '../src/redis/ensure-redis.ts';
import { keysFor } from '../src/redis/keys.ts';
import { describeRedisError } from '../src/redis/repeated-errors.ts';
import { runCli, until } from './helpers.ts';

const OUT_OF_MEMORY =
  'phasegate: Redis is out of memory (used memory above maxmemory: OOM command not allowed) and refused the write: free memory or raise maxmemory (with maxmemory-policy noeviction), then run the command again\n';

describe('a Redis in trouble, one line each (issue 22, point 8)', function () {
  this.timeout(120_000);
  let server: Awaited<ReturnType<typeof startRedisServer>>;
  let client: Redis;
  let dir: string;
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const env = () => ({ REDIS_URL: server.url, PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_LOG_LEVEL: 'error', PHASEGATE_TIME_SCALE: '200' });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-redis-faults-'));
    server = await startRedisServer({ appendonly: false });
    client = new Redis(server.url);
  });
  after(async () => {
    client.disconnect();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe('at maxmemory', () => {
    before(async () => {
      // A Redis phasegate has written to before (so the first write of each command is BullMQ's
      // script, or the backfill's MULTI), with some data, then a limit below what it takes:
      // every write is refused (noeviction).
      await client.hset(keysFor(prefix).redisEpoch(), 'since', new Date().toISOString());
      for (let i = 0; i < 8; i++) await client.set(`filler:${i}`, Buffer.alloc(256 << 10));
      await client.config('SET', 'maxmemory', '1mb');
    });
    after(async () => {
      await client.config('SET', 'maxmemory', '0');
      await client.flushall();
    });

    it('a worker stops with one line saying Redis is out of memory, no script text', async () => {
      const r = await runCli(['worker', '--phases', 'commit'], env());
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal(OUT_OF_MEMORY);
    });

    it('a backfill stops with the same line, not EXECABORT', async () => {
      const r = await runCli(['backfill', '--processors', 'nbac_team_boxscore_scraper', '--start', '2023-11-01', '--end', '2023-11-01'], env());
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal(OUT_OF_MEMORY);
    });
  });

  it('status against a paused Redis: one line after its deadline, exit 1', async () => {
    // Longer than status's 10 s deadline; Redis 7.0 pauses CLIENT UNPAUSE too, so it runs out.
    await client.call('CLIENT', 'PAUSE', '13000', 'ALL');
    try {
      const started = Date.now();
      const r = await runCli(['status'], env());
      expect(Date.now() - started).to.be.below(25_000);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.equal(
        `phasegate: Redis at ${server.url} did not answer within 10 s (paused by CLIENT PAUSE, busy with a long command or a snapshot, or overloaded): nothing to show yet, try again\n`,
      );
    } finally {
      await until(async () => (await client.ping()) === 'PONG', 'the pause to end', 20_000);
    }
  });

  it('status says when Redis has no record of when phasegate first wrote to it while backfills exist', async () => {
    const b = await runCli(['backfill', '--processors', 'nbac_team_boxscore_scraper', '--start', '2023-11-01', '--end', '2023-11-01'], env());
    expect(b.code, b.stderr).to.equal(0);
    const plain = await runCli(['status'], env());
    expect(plain.stdout).to.not.include('note:');
    // What a Redis that lost the marker but kept (or got back) backfill records looks like.
    await client.del(keysFor(prefix).redisEpoch());
    const r = await runCli(['status'], env());
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.split('\n')[0]).to.equal(
      "note: Redis has no record of when phasegate first wrote to it (it lost its data, or an older phasegate wrote it): the counts below may start later than the warehouse's rows",
    );
  });

  it("BullMQ's lost lock in one line naming the job", () => {
    expect(describeRedisError(new Error('Missing lock for job 1234. moveToFinished'))).to.equal(
      'job 1234 lost its lock before moveToFinished (it ran past PHASEGATE_STALLED_SECONDS, or Redis lost the lock): another worker runs it again',
    );
  });
});
