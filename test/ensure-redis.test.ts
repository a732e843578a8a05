/** Redis on a fresh machine: use REDIS_URL, else start redis-server from PATH, else say how. */
import { expect } from 'chai';
import { ConfigError } from '../src/errors/config-error.ts';
import { ensureCluster, ensureRedis, pingRedis } from '../src/redis/ensure-redis.ts';
import { TEST_REDIS_URL } from './helpers.ts';

// A loopback port nothing listens on (the discard port).
const DEAD = 'redis://127.0.0.1:9';

describe('ensureRedis', function () {
  this.timeout(30_000);

  it('fails with one line naming each seed when no node of a Redis Cluster answers', async () => {
    const seeds = [
      { host: '127.0.0.1', port: 9 },
      { host: '127.0.0.1', port: 1 },
    ];
    const err = await ensureCluster('redis://:secret@127.0.0.1:6379', seeds).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).to.match(/^PHASEGATE_REDIS_CLUSTER: no seed node answers: 127\.0\.0\.1:9 \(.+\), 127\.0\.0\.1:1 \(/);
    expect(message).to.not.include('\n');
    expect(message).to.not.include('secret');
  });

  it('uses REDIS_URL when it answers', async () => {
    const h = await ensureRedis(TEST_REDIS_URL, true);
    expect(h).to.include({ url: TEST_REDIS_URL, embedded: false });
    await h.stop();
  });

  it('starts redis-server on a free loopback port when the default does not answer, and stops it', async () => {
    const h = await ensureRedis(DEAD, false);
    try {
      expect(h.embedded).to.equal(true);
      expect(h.url).to.match(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(await pingRedis(h.url)).to.equal(true);
    } finally {
      await h.stop();
    }
    expect(await pingRedis(h.url, 300)).to.equal(false);
  });

  it('fails with one line saying how to get Redis when an explicit REDIS_URL does not answer', async () => {
    try {
      await ensureRedis(DEAD, true);
      expect.fail('ensureRedis should have thrown');
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).to.match(/^REDIS_URL: no Redis answers at redis:\/\/127\.0\.0\.1:9/);
      expect(message).to.include('docker compose up -d redis');
      expect(message).to.not.include('\n');
    }
  });
});
