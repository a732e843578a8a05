/**
 * BigQuery job ids cannot collide: the commit's statement id carries the pipeline's prefix and
 * a per-deployment epoch kept in Redis, so a Redis wipe (commit sequences start again at c0) or
 * a second prefix writing the same datasets makes new ids, where BigQuery would answer 409 with
 * the earlier job's statement and the commit would fail for good.
 */
import { expect } from 'chai';
import { statementId } from '../src/queues/commit/worker.ts';
import { deleteKeys, openTestRuntime, TEST_REDIS_URL, type TestEnv } from './helpers.ts';

describe('commit statement ids: prefix and deployment epoch', function () {
  this.timeout(30_000);
  let a: TestEnv;
  let b: TestEnv;
  before(async () => {
    a = await openTestRuntime();
    b = await openTestRuntime();
  });
  after(async () => {
    await a.cleanup();
    await b.cleanup();
  });

  it('the same batch gets the same id until Redis is wiped, then a new one; another prefix never shares it', async () => {
    const table = 'nba_raw.nbac_player_boxscores';
    const slices = ['2023-11-01', '2023-11-02'];
    const first = await statementId(a.rt, table, 'c0-a0', slices);
    // A retried job re-uses its id (BigQuery then cannot run the statement twice).
    expect(await statementId(a.rt, table, 'c0-a0', slices)).to.equal(first);
    expect(first.startsWith(`${a.config.prefix}-`)).to.equal(true);
    expect(await statementId(b.rt, table, 'c0-a0', slices)).to.not.equal(first);
    // Redis loses everything (no persistence): the sequence restarts at c0, the epoch does not repeat.
    await deleteKeys(TEST_REDIS_URL, `${a.config.prefix}:*`);
    const after = await statementId(a.rt, table, 'c0-a0', slices);
    expect(after).to.not.equal(first);
    // Only the epoch differs: prefix, table, batch and slices are the same.
    const rest = (id: string) => id.slice(a.config.prefix.length + 1).replace(/^[0-9a-f]{8}-/, '');
    expect(rest(after)).to.equal(rest(first));
    expect(after.slice(a.config.prefix.length + 1, a.config.prefix.length + 9)).to.not.equal(
      first.slice(a.config.prefix.length + 1, a.config.prefix.length + 9),
    );
  });
});
