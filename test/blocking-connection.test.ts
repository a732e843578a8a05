/**
 * A blocking read that never answers does not wedge its consumer (src/redis/blocking-connection.ts):
 * past its block time and the margin the read counts as a timeout, its connection is dropped
 * with it and a new one reads on. A redis-server of this test's own holds the read with
 * CLIENT PAUSE, as a connection reset can leave ioredis holding it for ever; for the
 * dependency tracker, a proxy loses its read's answers (without the watchdog the tracker never
 * reads again, and its close waits for ever).
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { startDependencyTracker } from '../src/queues/events/dependency-tracker.ts';
import { BlockingConnection, letGoOfBlockingReads } from '../src/redis/blocking-connection.ts';
import { connectRedis, type RedisClient } from '../src/redis/connect.ts';
import { startRedisServer } from '../src/redis/ensure-redis.ts';
import { openTestRuntime, until } from './helpers.ts';

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
    // Redis holds every command for 4 s: the read is sent and gets no answer, as a lost one.
    await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
    const started = Date.now();
    expect(await reads.read(200, (c) => c.blpop('requests', 0.2))).to.equal(null);
    const waited = Date.now() - started;
    expect(waited).to.be.at.least(450).and.below(3000);
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

  it('let go of with its source: an open waiting on a dead Redis fails, and nothing reconnects', async () => {
    const dead = await startRedisServer({ appendonly: false });
    const from = connectRedis({ redisUrl: dead.url }, { maxRetriesPerRequest: null });
    from.on('error', () => undefined);
    await from.ping();
    dead.process.kill('SIGKILL');
    await once(dead.process, 'exit');
    // Its first command (CLIENT ID) waits for Redis as long as it is dead.
    const opening = BlockingConnection.open(from, 'requests', 'test reads: Redis connection').then(
      () => 'opened',
      (err: Error) => err.message,
    );
    const pending = await Promise.race([opening, new Promise((r) => setTimeout(() => r('still waiting'), 1500))]);
    expect(pending).to.equal('still waiting');
    letGoOfBlockingReads(from);
    from.disconnect();
    expect(await opening).to.equal('test reads: Redis connection: let go of before Redis answered');
    // Its own connection was dropped with it: no client of this test reconnects to the dead port.
    const clients = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length).to.be.at.most(clients);
  });

  it("a dependency tracker whose read's answer is lost reads the next event on a new connection", async function () {
    this.timeout(30_000);
    // Between the pipeline and Redis: a proxy that, once `losing`, loses the answer to a
    // blocking read (the tracker's) on the connections already open, as a reset connection can
    // lose it. Other commands' answers pass, and so does everything on connections opened later.
    let losing = false;
    const proxy = createServer((client) => {
      const openedBefore = !losing;
      let blockingRead = false;
      const upstream = connect(server.port, '127.0.0.1');
      client.on('data', (d: Buffer) => {
        blockingRead = d.includes('BLOCK');
        upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (!(losing && openedBefore && blockingRead)) client.write(d);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const { rt, cleanup } = await openTestRuntime({ REDIS_URL: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
    try {
      const tracker = await startDependencyTracker(rt, { blockMs: 1000, group: 'watchdog-test', consumer: 'c' });
      try {
        await new Promise((r) => setTimeout(r, 300));
        losing = true;
        // Its blocking read's answer never comes: given up 3 s past the block, on a new connection.
        await until(async () => tracker.stats().readsGivenUp === 1, 'the tracker to give its read up', 10_000, 50);
        const id = await admin.xadd(
          rt.keys.events(),
          '*',
          'processor',
          'nbac_player_boxscore',
          'table',
          'nba_raw.nbac_player_boxscores',
          'slice',
          '2023-11-01',
          'rows',
          '10',
        );
        await until(async () => tracker.stats().acked === 1, 'the event handled', 10_000, 50);
        // Read and acknowledged on the new connection: delivered to the group, nothing pending.
        const groups = (await admin.xinfo('GROUPS', rt.keys.events())) as unknown[][];
        const group = groups
          .map((g) => Object.fromEntries(g.flatMap((v, i) => (i % 2 === 0 ? [[String(v), g[i + 1]]] : []))))
          .find((g) => g.name === 'watchdog-test');
        expect(group).to.deep.include({ 'last-delivered-id': id, pending: 0 });
        expect(tracker.stats().readsGivenUp).to.equal(1);
      } finally {
        losing = false;
        await tracker.close();
      }
    } finally {
      await cleanup();
      proxy.close();
    }
  });
});
