/**
 * A table's gate holds BigQuery's table-operation rate as BigQuery counts it: never more than
 * `PHASEGATE_TABLE_OPS_MAX` statements in any window of `PHASEGATE_TABLE_OPS_WINDOW_SECONDS`,
 * sliding. BullMQ's rate limiter, which starts the commit jobs, counts in fixed windows: at
 * BigQuery's own cap (5 per 10 s) and two commits at a time it let a window's last starts and
 * the next window's first ones through together, BigQuery refused the sixth ("too many table
 * update operations"), and the busy backoff that followed (10 s, doubling) dragged the table for
 * minutes in `bench:scale --cascade` at 1,700 dates.
 */
import { expect } from 'chai';
import { addDays, datesIn } from '../src/processors/precompute/lookback.ts';
import type { TableSpec } from '../src/processors/types.ts';
import { ensureTableOnce } from '../src/queues/commit/ensure-table.ts';
import { stageRows } from '../src/queues/commit/staging.ts';
import { waitForOpsSlot } from '../src/queues/commit/worker.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { boxRows, PLAYER, PLAYER_TABLE, rulesWarehouse } from './conflict-fixtures.ts';
import { openRuntimes, openTestRuntime, type TestEnv, until } from './helpers.ts';

const TIME_SCALE = 20;
const OPS_MAX = 5;
/** BigQuery's 10-s window at the test's time scale. */
const WINDOW_MS = 10_000 / TIME_SCALE;
const DATES = datesIn({ start: '2024-01-01', end: addDays('2024-01-01', 23) });

describe('table gate: statements within BigQuery’s sliding rate window', function () {
  this.timeout(60_000);
  let env: TestEnv;

  before(async () => {
    env = await openTestRuntime({
      PHASEGATE_TIME_SCALE: String(TIME_SCALE),
      PHASEGATE_TABLE_CONCURRENCY: '2',
      PHASEGATE_TABLE_OPS_MAX: String(OPS_MAX),
      // One slice per statement and no gather: a statement per slice, as fast as the caps allow.
      PHASEGATE_COMMIT_MAX_SLICES: '1',
      PHASEGATE_COMMIT_GATHER_SECONDS: '0',
    });
  });
  after(async () => env.cleanup());

  it('lands every slice with no statement refused for the rate, and never more than the cap in any window', async () => {
    const w = await rulesWarehouse(env);
    await w.ensureTable(PLAYER.table);
    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
    for (const date of DATES) await stageRows(env.rt, PLAYER, date, boxRows(date, 3), undefined);

    await until(
      async () => {
        const statuses = await Promise.all(DATES.map((d) => env.rt.statuses.get(PLAYER.name, d)));
        return statuses.every((s) => s?.status === 'committed') ? true : undefined;
      },
      'every slice to commit',
      45_000,
    );
    const record = w.record().tables[PLAYER_TABLE];
    expect(record?.rejected.rateLimited, 'statements refused for the rate').to.equal(0);
    // The DDL above was the table's first operation; then one statement per slice.
    const starts = (record?.timeline ?? []).map((s) => s.startedAt).sort((a, b) => a - b);
    expect(starts).to.have.length(DATES.length);
    // BigQuery counts the operations of the last window before each new one: the (n + cap)-th
    // starts a whole window after the n-th.
    for (let i = 0; i + OPS_MAX < starts.length; i++) {
      expect((starts[i + OPS_MAX] as number) - (starts[i] as number), `statements ${i} and ${i + OPS_MAX}`).to.be.at.least(WINDOW_MS);
    }
    // Two at a time still: the cap is the rate, not one statement after another.
    expect(record?.peakRunningDml).to.equal(2);
  });

  it('a place: the cap in any window, the wait until the oldest leaves it, and another table’s window apart', async () => {
    const gate = env.rt.gate;
    const limits = { max: 3, windowMs: 1000 };
    const t = 5_000_000;
    expect(await gate.takeOpsSlot('ds.a', limits, 's1', t)).to.equal(0);
    expect(await gate.takeOpsSlot('ds.a', limits, 's2', t + 100)).to.equal(0);
    expect(await gate.takeOpsSlot('ds.a', limits, 's3', t + 400)).to.equal(0);
    // Full: the fourth waits until s1 is a window old.
    expect(await gate.takeOpsSlot('ds.a', limits, 's4', t + 600)).to.equal(400);
    expect(await gate.takeOpsSlot('ds.b', limits, 'b1', t + 600), 'another table').to.equal(0);
    // s1 leaves at exactly a window (BigQuery counts the window before the new one); s2 not yet.
    expect(await gate.takeOpsSlot('ds.a', limits, 's4', t + 1000)).to.equal(0);
    expect(await gate.takeOpsSlot('ds.a', limits, 's5', t + 1050)).to.equal(50);
    // A refused place took nothing: the window holds s2, s3, s4.
    expect(await env.rt.redis.zrange(env.rt.keys.opsWindow('ds.a'), '0', '-1')).to.deep.equal(['s2', 's3', 's4']);
    // Stamped when its statement started (later than its take): the window counts from then.
    await gate.restampOpsSlot('ds.a', 's2', t + 1300);
    await gate.restampOpsSlot('ds.a', 'gone', t + 1300);
    expect(await env.rt.redis.zrange(env.rt.keys.opsWindow('ds.a'), '0', '-1')).to.deep.equal(['s3', 's4', 's2']);
    expect(await gate.takeOpsSlot('ds.a', limits, 's5', t + 1400)).to.equal(0);
    expect(await gate.takeOpsSlot('ds.a', limits, 's6', t + 2000)).to.equal(0);
    // Taken at t + 100, s2 would have left long ago; started at t + 1300, it holds its place until t + 2300.
    expect(await gate.takeOpsSlot('ds.a', limits, 's7', t + 2100)).to.equal(200);
  });

  it('a statement run again under the same id (a MERGE retried after the buffer flushed) takes a place of its own', async () => {
    const table = 'ds.same_statement';
    const key = env.rt.keys.opsWindow(table);
    for (let i = 0; i < OPS_MAX; i++) await waitForOpsSlot(env.rt, table, 'c7-a0');
    const members = await env.rt.redis.zrange(key, '0', '-1');
    expect(members, 'one place per run').to.have.length(OPS_MAX);
    expect(new Set(members).size).to.equal(OPS_MAX);
    expect(members.every((m) => m.startsWith('c7-a0#'))).to.equal(true);
    // The window is full of that one statement's runs: the next run waits until the first leaves it.
    const [, firstAt] = await env.rt.redis.zrange(key, '0', '0', 'WITHSCORES');
    await waitForOpsSlot(env.rt, table, 'c7-a0');
    expect(Date.now() - Number(firstAt), 'the sixth run a window after the first').to.be.at.least(WINDOW_MS);
    expect(await env.rt.redis.zcard(key)).to.be.at.most(OPS_MAX);
  });

  it('a table nobody wrote, read by a wave of jobs at once, is created by one DDL; a failed creation is tried again', async () => {
    const w = await rulesWarehouse(env);
    const spec: TableSpec = { ...PLAYER.table, table: 'wave_read_input' };
    // Twelve phase jobs' reads of the same missing input table, at once.
    await Promise.all(Array.from({ length: 12 }, () => ensureTableOnce(env.rt, spec)));
    const record = w.record().tables[`${spec.dataset}.${spec.table}`];
    expect(record?.tableOps, 'DDL statements').to.equal(1);
    expect(record?.rejected.rateLimited).to.equal(0);
    // A creation that fails is not remembered: the next call tries again.
    const broken: TableSpec = { ...spec, table: 'wave_read_broken' };
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('refused'));
    };
    const both = await Promise.all(
      [ensureTableOnce(env.rt, broken, failing), ensureTableOnce(env.rt, broken, failing)].map((p) => p.catch((e: Error) => e.message)),
    );
    expect(both).to.deep.equal(['refused', 'refused']);
    expect(calls, 'one call for both').to.equal(1);
    await ensureTableOnce(env.rt, broken);
    expect(w.record().tables[`${spec.dataset}.wave_read_broken`]?.tableOps).to.equal(1);
  });
});

describe('table gate: a worker closing while a commit waits for its rate-window place', function () {
  this.timeout(60_000);

  // The place a commit waits for: its statement's, or — its process's first commit of the
  // table — its table's creation (DDL, a table operation too) before it.
  for (const waiting of ['statement', 'creation'] as const) {
    it(`gives the batch back at once instead of waiting out the window (its ${waiting}); the next gate lands it, each row once`, async () => {
      // At × 2 the window is 5 real seconds, and one statement fills it.
      const env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '2', PHASEGATE_TABLE_OPS_MAX: '1', PHASEGATE_COMMIT_GATHER_SECONDS: '0' });
      let next: Runtime | undefined;
      try {
        const w = await rulesWarehouse(env);
        await w.ensureTable(PLAYER.table);
        // Known to this process already: its commit's first wait is the statement's.
        if (waiting === 'statement') await ensureTableOnce(env.rt, PLAYER.table);
        // Another statement took the window's one place just now: the next waits ~5 s for it.
        await waitForOpsSlot(env.rt, PLAYER_TABLE, 'earlier');
        await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
        const dates = ['2024-02-01', '2024-02-02'];
        for (const d of dates) await stageRows(env.rt, PLAYER, d, boxRows(d, 3), undefined);
        await until(async () => ((await env.rt.gate.takenBatches(PLAYER_TABLE)).size > 0 ? true : undefined), 'the commit job to take the batch', 10_000);

        const began = Date.now();
        openRuntimes.delete(env.rt);
        await env.rt.close();
        // It waited out the window and its statement before (22 s at × 1); now it gives the batch back.
        expect(Date.now() - began, 'close, ms (the window had ~5 s left)').to.be.below(2500);
        expect(w.record().tables[PLAYER_TABLE]?.dmlExecuted ?? 0, 'statements run').to.equal(0);

        next = await openRuntime(env.config, { redisExplicit: true });
        // Given back: nothing taken, both slices pending, neither committed nor failed, no row landed.
        expect((await next.gate.takenBatches(PLAYER_TABLE)).size).to.equal(0);
        expect(await next.gate.pendingCount(PLAYER_TABLE)).to.equal(2);
        for (const d of dates) expect((await next.statuses.get(PLAYER.name, d))?.status).to.equal(undefined);
        const landed = async () => Number((await (await next?.warehouse())?.query(`SELECT count(*) AS n FROM ${PLAYER_TABLE}`))?.[0]?.n ?? 0);
        expect(await landed()).to.equal(0);

        // The next gate to start lands them, once the window has room.
        await next.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
        await until(
          async () => {
            const statuses = await Promise.all(dates.map((d) => next?.statuses.get(PLAYER.name, d)));
            return statuses.every((s) => s?.status === 'committed') ? true : undefined;
          },
          'both slices to commit after the restart',
          30_000,
        );
        expect(await landed()).to.equal(6);
        expect(await next.gate.pendingCount(PLAYER_TABLE)).to.equal(0);
      } finally {
        await next?.close();
        await env.cleanup();
      }
    });
  }
});
