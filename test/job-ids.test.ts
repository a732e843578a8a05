/**
 * BigQuery job ids cannot collide: the commit's statement id carries the pipeline's prefix and
 * a per-deployment epoch kept in Redis, so a Redis wipe (commit sequences start again at c0) or
 * a second prefix writing the same datasets makes new ids, where BigQuery would answer 409 with
 * the earlier job's statement and the commit would fail for good.
 */
import { expect } from 'chai';
import { statementId } from '../src/queues/commit/worker.ts';
import { deterministicJobId } from '../src/warehouse/bigquery/jobs.ts';
import { acceptJobs, type Body, testWarehouse, useNock } from './bigquery-nock.ts';
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

  it('a guarded statement and the unguarded one after its guard trips, over the same slices, get ids of their own', async () => {
    const table = 'nba_raw.nbac_player_boxscores';
    const slices = ['2023-11-01', '2023-11-02'];
    const plain = await statementId(a.rt, table, 'c3-a0', slices);
    const guarded = await statementId(a.rt, table, 'c3-a0', slices, true);
    expect(guarded).to.not.equal(plain);
    // Each is stable: a retried job meets its own statement's id again.
    expect(await statementId(a.rt, table, 'c3-a0', slices, true)).to.equal(guarded);
    expect(await statementId(a.rt, table, 'c3-a0', slices, false)).to.equal(plain);
    // And so are the BigQuery job ids the warehouse makes of them (bigquery-warehouse.ts).
    const [jobPlain, jobGuarded] = [plain, guarded].map((id) => deterministicJobId('nba_raw', 'nbac_player_boxscores', id));
    expect(jobGuarded).to.not.equal(jobPlain);
    for (const id of [jobPlain, jobGuarded]) expect(id).to.match(/^[A-Za-z0-9_-]{1,1024}$/);
  });
});

describe('commit statement ids reach BigQuery: a commit replayed after a Redis reset is a new job (nock)', function () {
  this.timeout(30_000);
  const creds = useNock();
  let env: TestEnv;
  before(async () => {
    env = await openTestRuntime();
  });
  after(() => env.cleanup());

  it('the same batch, committed again after the keys are wiped, reaches jobs.insert under a new job id', async () => {
    const table = 'nba_raw.nbac_player_boxscores';
    const spec = env.rt.registry.tableSpec(table);
    const slices = ['2023-11-01'];
    const objects = ['staging/nba_raw.nbac_player_boxscores/2023-11-01/1-a.ndjson'];
    const warehouse = testWarehouse(creds);
    const jobs: Body[] = acceptJobs(3, { statementType: 'MERGE', numDmlAffectedRows: '10', dmlStats: { insertedRowCount: '10' } });
    const commit = async () => warehouse.commit({ batchId: await statementId(env.rt, table, 'c0-a0', slices), table: spec, slices, objects });
    await commit();
    // A retry of the same batch re-uses the job id: BigQuery would answer it with the job already run.
    await commit();
    // Redis restarts without its data: commit sequences start again at c0, and the same batch id comes back.
    await deleteKeys(TEST_REDIS_URL, `${env.config.prefix}:*`);
    await commit();
    const ids = jobs.map((b) => String(b.jobReference.jobId));
    expect(ids).to.have.length(3);
    expect(ids[1]).to.equal(ids[0]);
    expect(ids[2]).to.not.equal(ids[0]);
    // The job id names the table, then the prefix and the deployment id: only the deployment id differs.
    const deployment = (id: string) => id.slice(`phasegate_nba_raw_nbac_player_boxscores_${env.config.prefix}-`.length).slice(0, 8);
    for (const id of ids) expect(id.startsWith(`phasegate_nba_raw_nbac_player_boxscores_${env.config.prefix}-`), id).to.equal(true);
    expect(deployment(ids[2] ?? '')).to.not.equal(deployment(ids[0] ?? ''));
    expect(
      (ids[2] ?? '')
        .replace(deployment(ids[2] ?? ''), '')
        .split('_')
        .slice(0, -1),
    ).to.deep.equal(
      (ids[0] ?? '')
        .replace(deployment(ids[0] ?? ''), '')
        .split('_')
        .slice(0, -1),
    );
  });
});
