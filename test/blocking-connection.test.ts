/**
 * A blocking read that never answers does not wedge its consumer (src/redis/blocking-connection.ts):
 * past its block time and the margin the read counts as a timeout, its connection is dropped
 * with it and a new one reads on. A redis-server of this test's own holds the read with
 * CLIENT PAUSE, as a connection reset can leave ioredis holding it for ever.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { BlockingConnection } from '../src/redis/blocking-connection.ts';
import { connectRedis, type RedisClient } from '../src/redis/connect.ts';
import { startRedisServer } from '../src/redis/ensure-redis.ts';
import { until } from './helpers.ts';

describe('a blocking read with a watchdog', () => {
  let server: Awaited<ReturnType<typeof startRedisServer>>;
  let admin: Redis;
  let source: RedisClient;
  let reads: BlockingConnection;

  before(async () => {
    server = await startRedisServer({ appendonly: false });
    admin = new Redis(server.url);
  });
  after(async () => {
    admin.disconnect();
    await server.stop();
  });
  beforeEach(async () => {
    source = connectRedis({ redisUrl: server.url }, { maxRetriesPerRequest: null });
    reads = await BlockingConnection.open(source, 'requests', 'test reads: Redis connection', { marginMs: 300 });
  });
  afterEach(async () => {
    await reads.close();
    source.disconnect();
  });

  it('keeps its connection when the server answers, a timeout included', async () => {
    const first = reads.client;
    expect(await reads.read(200, (c) => c.blpop('requests', 0.2))).to.equal(null);
    await admin.rpush('requests', 'a');
    expect(await reads.read(200, (c) => c.blpop('requests', 0.2))).to.deep.equal(['requests', 'a']);
    expect(reads.client).to.equal(first);
    expect(reads.replacements).to.equal(0);
  });

  it('gives up on a read with no answer past its block and the margin, and reads again on a new connection', async () => {
    const first = reads.client;
    const firstId = reads.blocked()?.id;
    expect(firstId).to.be.a('number');
    // Redis holds every command for 2 s: the read is sent and gets no answer, as a lost one.
    await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
    const started = Date.now();
    expect(await reads.read(200, (c) => c.blpop('requests', 0.2))).to.equal(null);
    const waited = Date.now() - started;
    expect(waited).to.be.at.least(450).and.below(1500);
    expect(reads.replacements).to.equal(1);
    expect(reads.client).to.not.equal(first);
    await until(async () => first.status === 'end', 'the dropped connection to end', 2000, 10);
    // Once Redis answers again, the new connection reads, and close() would unblock it by its own id.
    await admin.rpush('requests', 'b');
    expect(await reads.read(5000, (c) => c.blpop('requests', 5))).to.deep.equal(['requests', 'b']);
    await until(async () => reads.blocked() !== undefined, 'the new connection id', 5000, 20);
    expect(reads.blocked()).to.deep.equal({ id: Number(await reads.client.client('ID')), key: 'requests' });
    expect(reads.blocked()?.id).to.not.equal(firstId);
  });
});
