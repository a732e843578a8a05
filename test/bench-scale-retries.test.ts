/**
 * What bench:scale says about jobs that failed an attempt or stalled (scripts/bench/scale/run.ts
 * `retriesOf`), read from real BullMQ jobs in Redis: a gap between a table's statements may be a
 * commit tried again after a transient failure, and the benchmark's output should say so.
 */

import { Worker } from 'bullmq';
import { expect } from 'chai';
import { retriesOf } from '../scripts/bench/scale/run.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

describe('bench:scale: jobs tried again or stalled', function () {
  this.timeout(30_000);
  let env: TestEnv;
  let worker: Worker | undefined;

  beforeEach(async () => {
    env = await openTestRuntime();
  });
  afterEach(async () => {
    await worker?.close();
    await env.cleanup();
  });

  it('counts a commit that failed once and then landed, with its reason; a queue with none is not listed', async () => {
    const flaky = env.rt.queues.commit('nba_raw.retry_t');
    const clean = env.rt.queues.commit('nba_raw.clean_t');
    await flaky.add('commit', { table: 'nba_raw.retry_t' }, { attempts: 3, backoff: { type: 'fixed', delay: 20 } });
    await clean.add('commit', { table: 'nba_raw.clean_t' });
    let calls = 0;
    worker = new Worker(
      flaky.name,
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('Out of Memory Error: could not allocate block of size 256.0 KiB\nmore detail');
        return 'landed';
      },
      { connection: env.rt.redis, prefix: env.config.prefix },
    );
    const other = new Worker(clean.name, async () => 'landed', { connection: env.rt.redis, prefix: env.config.prefix });
    try {
      await until(async () => (await flaky.getCompletedCount()) === 1 && (await clean.getCompletedCount()) === 1, 'both jobs completed');
    } finally {
      await other.close();
    }
    expect(calls).to.equal(2);
    expect(await retriesOf(env.rt, ['nba_raw.retry_t', 'nba_raw.clean_t'])).to.deep.equal([
      { queue: flaky.name, failedAttempts: 1, stalled: 0, reasons: ['Out of Memory Error: could not allocate block of size 256.0 KiB'] },
    ]);
  });
});
