/**
 * A table's statement places (statement-slot.ts) on a real Redis, and the commit path around
 * them on real queues and the BigQuery rules: at most the table's concurrency of statements run,
 * the commit queue's extra job readies its batch while they run, and a partial batch that
 * waited for its place takes what was staged meanwhile into the same statement.
 */
import { expect } from 'chai';
import { stageRows } from '../src/queues/commit/staging.ts';
import { runningStatements, StatementPlace } from '../src/queues/commit/statement-slot.ts';
import type { TakenBatch } from '../src/queues/commit/table-gate.ts';
import { boxRows, PLAYER, PLAYER_TABLE, rulesWarehouse } from './conflict-fixtures.ts';
import { openTestRuntime, runtimePerTest, type TestEnv, until } from './helpers.ts';

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 200));
  return done;
};

describe('statement places: at most the table’s concurrency of statements, in Redis for every process', function () {
  this.timeout(20_000);
  // Lease = the worker's lock duration: 1 s here.
  const env = runtimePerTest({ PHASEGATE_TABLE_CONCURRENCY: '2', PHASEGATE_STALLED_SECONDS: '1' });
  const key = () => env.rt.keys.statements(PLAYER_TABLE);

  it('a third statement waits until one of two running ends, and takes its place at once', async () => {
    const a = new StatementPlace(env.rt, PLAYER_TABLE, 'a');
    const b = new StatementPlace(env.rt, PLAYER_TABLE, 'b');
    const c = new StatementPlace(env.rt, PLAYER_TABLE, 'c');
    expect(await a.hold()).to.equal(false);
    expect(await b.hold()).to.equal(false);
    const third = c.hold();
    expect(await settled(third)).to.equal(false);
    expect(await runningStatements(env.rt, PLAYER_TABLE)).to.equal(2);
    await a.release();
    expect(await third).to.equal(true);
    expect(c.held).to.equal(true);
    expect((await env.rt.redis.zrange(key(), '0', '-1')).map((m) => m.split('#')[0]).sort()).to.deep.equal(['b', 'c']);
    await b.release();
    await c.release();
    // Released twice: harmless.
    await c.release();
    expect(await env.rt.redis.zcard(key())).to.equal(0);
  });

  it('a table whose DML queue was found full runs one statement at a time', async () => {
    await env.rt.redis.hset(env.rt.keys.throttle(PLAYER_TABLE), 'lowered', '1');
    const a = new StatementPlace(env.rt, PLAYER_TABLE, 'a');
    const b = new StatementPlace(env.rt, PLAYER_TABLE, 'b');
    await a.hold();
    const second = b.hold();
    expect(await settled(second)).to.equal(false);
    await a.release();
    expect(await second).to.equal(true);
    await b.release();
  });

  it('the place of a holder that died frees when its lease ends; a live holder renews its own', async () => {
    // A process killed while its statements ran left two places with half a second of lease.
    const now = Date.now();
    await env.rt.redis.zadd(key(), now + 500, 'dead-1', now + 500, 'dead-2');
    const live = new StatementPlace(env.rt, PLAYER_TABLE, 'live');
    expect(await live.hold()).to.equal(true);
    expect(Date.now() - now).to.be.at.least(450);
    expect(await env.rt.redis.zscore(key(), 'dead-1')).to.equal(null);
    // Two leases later it still holds its place.
    await new Promise((r) => setTimeout(r, 2_000));
    const members = await env.rt.redis.zrange(key(), '0', '-1', 'WITHSCORES');
    expect(members[0]?.startsWith('live#')).to.equal(true);
    expect(Number(members[1])).to.be.greaterThan(Date.now());
    await live.release();
  });

  it('a place another process frees is found without a wake-up from it', async () => {
    await env.rt.redis.zadd(key(), Date.now() + 60_000, 'other-1', Date.now() + 60_000, 'other-2');
    const mine = new StatementPlace(env.rt, PLAYER_TABLE, 'mine');
    const held = mine.hold();
    expect(await settled(held)).to.equal(false);
    await env.rt.redis.zrem(key(), 'other-1');
    expect(await held).to.equal(true);
    await mine.release();
  });
});

describe('gate top-up: a job adds what became ready since its take', () => {
  const env = runtimePerTest();
  const entry = (rows = 1) => ({ object: '', inline: '{}', rows, processor: PLAYER.name, stagedAt: new Date().toISOString() });

  it('within the batch limits, sorted, moving each field from pending to in flight', async () => {
    const gate = env.rt.gate;
    for (const d of ['2024-01-03', '2024-01-01']) await gate.register(PLAYER_TABLE, d, entry());
    const { batch } = await gate.take(PLAYER_TABLE, 'c0', { maxSlices: 4, maxRows: 100 });
    expect(batch?.slices).to.deep.equal(['2024-01-01', '2024-01-03']);
    for (const d of ['2024-01-02', '2024-01-05', '2024-01-04']) await gate.register(PLAYER_TABLE, d, entry());
    const topped = await gate.topUp(PLAYER_TABLE, 'c0', { maxSlices: 4, maxRows: 100 });
    expect(topped.batch?.slices).to.deep.equal(['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04']);
    expect(topped.remaining).to.equal(1);
    expect([...(await gate.pending(PLAYER_TABLE)).keys()]).to.deep.equal(['2024-01-05']);
    expect(await env.rt.redis.hgetall(env.rt.keys.inflight(PLAYER_TABLE))).to.deep.equal(
      Object.fromEntries(['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04'].map((d) => [d, 'c0'])),
    );
    // The batch in Redis is the topped-up one: a re-run of the job lands the same fields.
    expect((await gate.take(PLAYER_TABLE, 'c0', { maxSlices: 4, maxRows: 100 })).batch?.slices).to.deep.equal(topped.batch?.slices);
    // The row limit binds too; a job without a batch gets none.
    expect((await gate.topUp(PLAYER_TABLE, 'c0', { maxSlices: 64, maxRows: 4 })).batch?.slices).to.have.length(4);
    expect((await gate.topUp(PLAYER_TABLE, 'c9', { maxSlices: 64, maxRows: 100 })).batch).to.equal(null);
  });
});

describe('commit path: statements at the cap, the next batch readied meanwhile', function () {
  this.timeout(60_000);
  let env: TestEnv;
  afterEach(async () => env?.cleanup());

  it('a third full batch is taken while two statements run, and its statement starts when one ends', async () => {
    env = await openTestRuntime(
      { PHASEGATE_TIME_SCALE: '100', PHASEGATE_TABLE_CONCURRENCY: '2', PHASEGATE_COMMIT_MAX_SLICES: '2', PHASEGATE_COMMIT_GATHER_SECONDS: '0' },
      // Each statement runs 1.5 s real.
      { rules: { dmlLatency: { baseSeconds: 150, perThousandRowsSeconds: 0, jitter: 0 } } },
    );
    const w = await rulesWarehouse(env);
    await w.ensureTable(PLAYER.table);
    const dates = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-06'];
    for (const d of dates) await stageRows(env.rt, PLAYER, d, boxRows(d, 3), undefined);
    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
    const seen = new Map<string, TakenBatch>();
    await until(
      async () => {
        for (const [id, b] of await env.rt.gate.takenBatches(PLAYER_TABLE)) seen.set(id, b);
        return seen.size >= 3 ? true : undefined;
      },
      'three batches taken',
      20_000,
      20,
    );
    await until(
      async () => {
        const all = await Promise.all(dates.map((d) => env.rt.statuses.get(PLAYER.name, d)));
        return all.every((s) => s?.status === 'committed') ? true : undefined;
      },
      'every date committed',
      30_000,
    );
    const record = w.record().tables[PLAYER_TABLE];
    expect(record?.peakRunningDml).to.equal(2);
    expect(record?.timeline).to.have.length(3);
    const [first, second, third] = [...(record?.timeline ?? [])].sort((x, y) => x.startedAt - y.startedAt);
    // The third statement waited for a place, and its batch was ready before the first ended.
    expect(third?.startedAt).to.be.at.least(Math.min(first?.endedAt ?? 0, second?.endedAt ?? 0));
    const takenAt = [...seen.values()].map((b) => Date.parse(b.takenAt)).sort((x, y) => x - y);
    expect(takenAt[2]).to.be.below(first?.endedAt ?? 0);
    expect(await runningStatements(env.rt, PLAYER_TABLE)).to.equal(0);
  });

  it('a partial batch that waited for its place lands what was staged meanwhile in one statement', async () => {
    env = await openTestRuntime(
      // A 5-s gather window (real) for a table at its cap: the later stagings' own job waits it out.
      { PHASEGATE_TIME_SCALE: '100', PHASEGATE_TABLE_CONCURRENCY: '1', PHASEGATE_COMMIT_GATHER_SECONDS: '500' },
      { rules: { dmlLatency: { baseSeconds: 50, perThousandRowsSeconds: 0, jitter: 0 } } },
    );
    const w = await rulesWarehouse(env);
    await w.ensureTable(PLAYER.table);
    // Another statement of the table holds its one place.
    const other = new StatementPlace(env.rt, PLAYER_TABLE, 'other');
    await other.hold();
    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
    await stageRows(env.rt, PLAYER, '2024-01-01', boxRows('2024-01-01', 3), undefined);
    await until(async () => ((await env.rt.gate.takenBatches(PLAYER_TABLE)).get('c0') ? true : undefined), 'the first date taken');
    for (const d of ['2024-01-02', '2024-01-03']) await stageRows(env.rt, PLAYER, d, boxRows(d, 3), undefined);
    expect((await env.rt.gate.takenBatches(PLAYER_TABLE)).get('c0')?.slices).to.deep.equal(['2024-01-01']);
    await other.release();
    const statuses = await until(
      async () => {
        const all = await Promise.all(['2024-01-01', '2024-01-02', '2024-01-03'].map((d) => env.rt.statuses.get(PLAYER.name, d)));
        return all.every((s) => s?.status === 'committed') ? all : undefined;
      },
      'the three dates committed',
      20_000,
    );
    expect(new Set(statuses.map((s) => s?.batchId))).to.deep.equal(new Set(['c0-a0']));
    expect(w.record().tables[PLAYER_TABLE]?.timeline.map((t) => t.slices)).to.deep.equal([3]);
    expect(await env.rt.gate.pendingCount(PLAYER_TABLE)).to.equal(0);
  });
});
