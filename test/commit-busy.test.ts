/**
 * The busy path on real queues and the BigQuery rules: a MERGE refused with "Too many DML
 * statements outstanding" waits with backoff without using up an attempt, drops the table to
 * one commit at a time (BullMQ global concurrency, in Redis), and the configured concurrency
 * comes back after a run of successes.
 */
import { expect } from 'chai';
import { stageRows } from '../src/queues/commit/staging.ts';
import { readThrottle } from '../src/queues/commit/throttle.ts';
import { boxRows, PLAYER, PLAYER_TABLE, rulesWarehouse } from './conflict-fixtures.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

describe('busy path: a full DML queue lowers the table’s concurrency, then restores it', function () {
  this.timeout(30_000);
  let env: TestEnv;

  before(async () => {
    env = await openTestRuntime(
      {
        PHASEGATE_TIME_SCALE: '100',
        PHASEGATE_TABLE_CONCURRENCY: '2',
        PHASEGATE_COMMIT_GATHER_SECONDS: '10',
        PHASEGATE_THROTTLE_RESTORE_AFTER: '1',
        PHASEGATE_THROTTLE_MIN_SECONDS: '0',
      },
      // One running DML and no queue: a second statement is "the 21st"; each holds its slot 2 s.
      { rules: { maxRunningDml: 1, maxQueuedDml: 0, dmlLatency: { baseSeconds: 200, perThousandRowsSeconds: 0, jitter: 0 } } },
    );
  });
  after(async () => env.cleanup());

  it('waits without using an attempt, commits one at a time meanwhile, and restores the configured concurrency', async () => {
    const w = await rulesWarehouse(env);
    await w.ensureTable(PLAYER.table);
    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
    const queue = env.rt.queues.commit(PLAYER_TABLE);
    expect(await queue.getGlobalConcurrency()).to.equal(2);

    // Another writer's DELETE holds the table's only DML slot.
    const other = w.dml(PLAYER.table, { kind: 'DELETE', slices: ['1999-01-01'] });
    await stageRows(env.rt, PLAYER, '2024-05-01', boxRows('2024-05-01', 4), undefined);

    const waiting = await until(async () => {
      const s = await env.rt.statuses.get(PLAYER.name, '2024-05-01');
      return s?.status === 'waiting' ? s : undefined;
    }, 'the busy commit to wait');
    expect(waiting.error).to.match(
      /^waiting: table busy \(dmlOutstanding\): Resources exceeded during query execution: Too many DML statements outstanding against table/,
    );
    expect(Date.parse(waiting.nextTryAt ?? '')).to.be.greaterThan(Date.now() - 1000);
    expect(await queue.getGlobalConcurrency()).to.equal(1);
    expect((await readThrottle(env.rt, PLAYER_TABLE)).lowered).to.equal(true);

    await other;
    await until(async () => ((await env.rt.statuses.get(PLAYER.name, '2024-05-01'))?.status === 'committed' ? true : undefined), 'the commit', 20_000);
    // The job started several times, but the busy waits used no attempt: it landed on its first
    // (batch id `c0-a0`), and BullMQ counts just that one. (The slice is committed before the
    // job is: its return value is there once BullMQ has moved it to completed.)
    const job = await until(async () => {
      const j = await queue.getJob('c0');
      return j?.finishedOn ? j : undefined;
    }, 'the commit job to complete');
    expect(job?.attemptsStarted).to.be.greaterThan(1);
    expect(job?.returnvalue).to.include({ batchId: 'c0-a0', slices: 1 });
    expect(job?.attemptsMade).to.equal(1);
    expect(w.record().tables[PLAYER_TABLE]?.rejected.dmlOutstanding).to.be.at.least(1);
    // One success was the configured run: back to 2 at a time.
    await until(async () => ((await queue.getGlobalConcurrency()) === 2 ? true : undefined), 'the concurrency to come back');
    expect(await readThrottle(env.rt, PLAYER_TABLE)).to.include({ lowered: false, busyStreak: 0 });
  });
});
