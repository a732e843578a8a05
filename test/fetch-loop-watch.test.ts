/**
 * The fetch-loop watch (src/queues/fetch-loop-watch.ts): a worker whose wait for its next job
 * never ends, while Redis answers, is replaced, and the new one takes the queue's jobs; a worker
 * that only idles is left alone.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { Worker } from 'bullmq';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { tableId } from '../src/processors/types.ts';
import { stageAppendRows } from '../src/queues/commit/staging.ts';
import { closeWorker, fetchLoopState, SLOW_CLOSE_MS, stuckAfterMs } from '../src/queues/fetch-loop-watch.ts';
import { UNANSWERED_AFTER_MS } from '../src/queues/logs/flush.ts';
import type { RunLogRow } from '../src/queues/logs/run-log.ts';
import { commitQueueName, phaseQueueName } from '../src/queues/names.ts';
import { duplicateClient } from '../src/redis/connect.ts';
import { startRedisServer } from '../src/redis/ensure-redis.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { processingRunLog } from '../src/tables/processing-run-log.ts';
import { openRuntimes, runtimePerTest, TEST_REDIS_URL, testConfig, until, withLogLines } from './helpers.ts';

/** A worker's own blocking connection (BullMQ's private field, as the watch reads it). */
function blockingClientOf(worker: Worker): Redis {
  const client = (worker as unknown as { backend: { blockingConnection: { _client: Redis } } }).backend.blockingConnection._client;
  if (!client) throw new Error(`${worker.name}: no blocking connection`);
  return client;
}

/**
 * Puts a worker waiting for a job into the state BullMQ's reset of a blocking connection waits
 * on for ever (bullmq #4585): a client disconnected while it reconnects stays `reconnecting`,
 * with no timer to bring it back and no `end`. Redis drops the connection under its blocked
 * read; the client is disconnected just after ioredis set its reconnect timer.
 */
async function parkBlockingClient(rt: Runtime, worker: Worker): Promise<void> {
  const blocking = blockingClientOf(worker);
  await until(async () => fetchLoopState(worker).waitingForJob && blocking.status === 'ready', `the ${worker.name} worker to wait for a job`, 10_000, 20);
  const parked = once(blocking, 'reconnecting').then(() => new Promise<void>((r) => process.nextTick(r)));
  void parked.then(() => blocking.disconnect());
  const address = `${blocking.stream.localAddress}:${blocking.stream.localPort}`;
  expect(await rt.redis.client('KILL', 'ADDR', address), 'connections killed').to.equal(1);
  await parked;
  expect(blocking.status).to.equal('reconnecting');
}

function workerOf(rt: Runtime, phase: 1 | 2): Worker {
  const worker = rt.workers.find((w) => w.name === phaseQueueName(phase));
  if (!worker) throw new Error(`no phase ${phase} worker`);
  return worker;
}

/**
 * A runtime on a Redis of its own, its phase 1 worker parked (and the workers of `phases`
 * started beside it); after `body`, its close must end at once.
 */
async function withParkedWorker(phases: (1 | 2)[], body: (rt: Runtime, stuck: Worker) => Promise<void>): Promise<void> {
  const server = await startRedisServer({ appendonly: false });
  const { config, dir } = await testConfig({ REDIS_URL: server.url });
  const rt = await openRuntime(config, { redisExplicit: true });
  let closed = false;
  try {
    await rt.startWorkers({ phases, commit: false, concurrency: 1, tracker: false });
    const stuck = workerOf(rt, 1);
    await parkBlockingClient(rt, stuck);
    await body(rt, stuck);
    const closing = Date.now();
    await rt.close();
    closed = true;
    expect(Date.now() - closing).to.be.below(5_000);
  } finally {
    // Bounded, so a failure cannot hold the test run open: a worker still stuck holds BullMQ's close for ever.
    if (!closed) await Promise.race([rt.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
    server.process.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

describe('a worker whose wait for its next job never ends', function () {
  this.timeout(120_000);

  it('is replaced by a new worker that takes the queue’s next job; a worker that only idles is left alone; the runtime closes at once', async () => {
    await withParkedWorker([1, 2], async (rt, stuck) => {
      const idle = workerOf(rt, 2);
      // A job for the stuck worker's queue: it cannot take it; its replacement does.
      const queue = rt.queues.phase(1);
      const stuckSince = Date.now();
      await queue.add('probe', { slice: '2023-11-01' } as never, { jobId: 'probe-1', removeOnFail: false });
      await new Promise((r) => setTimeout(r, 3000));
      expect(await queue.getJobState('probe-1'), 'the stuck worker took it').to.equal('waiting');

      await until(async () => rt.workers.every((w) => w !== stuck), 'the stuck worker to be replaced', stuckAfterMs(stuck) + 20_000, 200);
      expect(workerOf(rt, 1)).to.not.equal(stuck);
      // Replaced no sooner than the wait BullMQ allows, twice over.
      expect(Date.now() - stuckSince).to.be.above(stuckAfterMs(stuck) - 5_000);
      // The new worker takes the job (it names no processor, so it fails: what matters is that
      // it was taken), and the stuck one is closed.
      await until(async () => (await queue.getJobState('probe-1')) !== 'waiting', 'the probe to be taken', 20_000, 100);
      expect((await queue.getJob('probe-1'))?.attemptsMade).to.be.at.least(1);
      expect((stuck as unknown as { closing: unknown }).closing).to.not.equal(null);
      // The worker that only idled as long is the same.
      expect(workerOf(rt, 2)).to.equal(idle);
      // Counted where /metrics reads it: one replacement, of the stuck worker's queue only.
      expect(await rt.redis.hgetall(rt.keys.workersReplaced())).to.deep.equal({ [phaseQueueName(1)]: '1' });
    });
  });

  it('closes at once before the watch replaced it: BullMQ’s close would wait for the lost read’s end', async () => {
    await withParkedWorker([1], async (rt, stuck) => {
      expect(rt.workers).to.include(stuck);
    });
  });
});

describe('a worker whose close takes long', function () {
  this.timeout(60_000);
  const env = runtimePerTest();

  it('says once, after 5 s, what it still waits on: the job in hand', async () => {
    const { rt } = env;
    const queue = rt.queues.phase(2);
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const connection = duplicateClient(rt.redis);
    const worker = new Worker(queue.name, () => new Promise<void>((r) => setTimeout(r, SLOW_CLOSE_MS + 1500)), { connection, prefix: rt.config.prefix });
    worker.on('active', () => started());
    try {
      await queue.add('slow', { slice: '2023-11-01' } as never, { jobId: 'slow-1' });
      await running;
      const said = await withLogLines('warn', async (lines) => {
        const closing = Date.now();
        await closeWorker(worker);
        // It waited for the job, as a graceful close must, and said so while it did.
        expect(Date.now() - closing).to.be.above(SLOW_CLOSE_MS);
        return lines.filter((l) => l.includes('still closing'));
      });
      expect(await queue.getJobState('slow-1')).to.equal('completed');
      expect(said).to.have.length(1);
      expect(said[0]).to.include(`${queue.name} worker: still closing after 5 s`).and.include('1 job in hand');
    } finally {
      await worker.close(true);
      await connection.quit().catch(() => undefined);
    }
  });
});

describe('a close whose log rows do not land in the flush’s time', function () {
  this.timeout(60_000);
  const env = runtimePerTest();

  it('says so once, with what the log gate’s worker was doing, and leaves the rows staged', async () => {
    const { rt } = env;
    await rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false, scheduler: false });
    const table = tableId(rt.registry.logTables()[0]?.table ?? { dataset: '', table: '' });
    // A run-log chunk staged, and its gate taking no job: nothing lands it before the close ends.
    await rt.queues.commit(table).pause();
    const entry = { object: '', inline: '{}', rows: 1, processor: 'test', stagedAt: new Date().toISOString() };
    await rt.gate.register(table, '2024-01-01#chunk-1', entry);
    const pending = rt.keys.pending(table);
    const said = await withLogLines('warn', async (lines) => {
      openRuntimes.delete(rt);
      await rt.close();
      return lines.filter((l) => l.includes('closing:'));
    });
    expect(said).to.have.length(1);
    expect(said[0])
      .to.include("the log tables' rows did not all land in the flush's time; they stay staged")
      .and.include(`${commitQueueName(table)}: 0 jobs in hand, waiting for the next job, blocking connection ready)`);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.hkeys(pending)).to.deep.equal(['2024-01-01#chunk-1']);
      // A paused queue holds its job back: its worker is not what is wrong, and is not replaced.
      expect(await redis.hgetall(rt.keys.workersReplaced())).to.deep.equal({});
    } finally {
      redis.disconnect();
    }
  });
});

describe('a close whose log gate’s worker lost its blocking read', function () {
  this.timeout(60_000);
  const env = runtimePerTest();

  it('starts a new worker for the log table, whose commit lands the rows at once', async () => {
    // A Redis Cluster failover can leave a worker's blocking read lost; a log gate takes a job so
    // seldom that the fetch-loop watch (22 s) may not have caught it before a close begins.
    const { rt, config } = env;
    await rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false, scheduler: false });
    const table = tableId(processingRunLog.table);
    const stuck = rt.workers.find((w) => w.name === commitQueueName(table));
    if (!stuck) throw new Error('no run-log gate worker');
    await parkBlockingClient(rt, stuck);
    const runId = randomUUID();
    const row: RunLogRow = {
      run_id: runId,
      job_id: 'p.2024-01-01',
      processor: 'p',
      phase: 2,
      slice: '2024-01-01',
      status: 'succeeded',
      row_count: 1,
      duration_ms: 5,
      error: null,
      notes: null,
      started_at: '2024-01-01T10:00:00.000Z',
      finished_at: '2024-01-01T10:00:00.005Z',
      attempt: 1,
      backfill_id: null,
      run_date: '2024-01-01',
    };
    await stageAppendRows(rt, processingRunLog.table, processingRunLog.name, [row]);
    const { said, ms } = await withLogLines('warn', async (lines) => {
      openRuntimes.delete(rt);
      const closing = Date.now();
      await rt.close();
      return { said: [...lines], ms: Date.now() - closing };
    });
    // Well inside the flush's 15 s: the new worker took the job about 2 s in.
    expect(ms, said.join('')).to.be.below(UNANSWERED_AFTER_MS + 6_000);
    const replaced = said.filter((l) => l.includes('replaced it with a new worker'));
    expect(replaced, said.join('')).to.have.length(1);
    expect(replaced[0]).to.include(`${commitQueueName(table)} worker: the close's flush of the log rows found its commit job ready and untaken`);
    expect(said.filter((l) => l.includes("did not all land in the flush's time"))).to.deep.equal([]);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.hlen(rt.keys.pending(table)), 'rows left staged').to.equal(0);
      expect(await redis.hgetall(rt.keys.workersReplaced())).to.deep.equal({ [commitQueueName(table)]: '1' });
    } finally {
      redis.disconnect();
    }
    // The row is in the log table, once.
    const again = await openRuntime(config, { redisExplicit: true });
    try {
      const w = await again.warehouse();
      const rows = await w.query('SELECT job_id, status FROM nba_orchestration.processing_run_log WHERE run_id = $r', { r: runId });
      expect(rows).to.deep.equal([{ job_id: 'p.2024-01-01', status: 'succeeded' }]);
    } finally {
      await again.close();
    }
  });
});
