/**
 * The status store's merge runs inside Redis (one script, no read before the write): a patch
 * keeps the fields it does not name, removes those it names `undefined`, keeps `null`, writes
 * the backfill's own copy for the backfill the merged status names, and two writers of one
 * slice no longer lose each other's fields. Statuses queued into a job's step land with it.
 */
import { expect } from 'chai';
import { RedisStep } from '../src/redis/step.ts';
import { runtimePerTest } from './helpers.ts';

const P = 'nbac_team_boxscore';
const D = '2024-01-05';

describe('status store: merges in Redis', () => {
  const env = runtimePerTest();

  it('keeps the fields a patch does not name, removes the ones it names undefined, keeps null', async () => {
    const s = env.rt.statuses;
    await s.set(P, D, { status: 'pending', backfillId: 'bf-1', rows: 3, missingGames: ['0022300001'], expectedGames: null, error: 'x' });
    await s.update(P, D, { status: 'running', attempts: 2, error: undefined });
    const running = await s.get(P, D);
    expect(running).to.deep.include({ status: 'running', attempts: 2, rows: 3, missingGames: ['0022300001'], expectedGames: null, backfillId: 'bf-1' });
    expect(running).not.to.have.property('error');
    // An empty list of missing games means none (lua-cjson cannot keep an empty array apart from an object).
    await s.update(P, D, { status: 'staged', missingGames: [] });
    expect(await s.get(P, D)).not.to.have.property('missingGames');
  });

  it("writes the backfill's own copy for the backfill the stored status names, even when the patch does not", async () => {
    const s = env.rt.statuses;
    await s.set(P, D, { status: 'pending', backfillId: 'bf-2' });
    await s.update(P, D, { status: 'failed', error: 'upstream failed: …/é' });
    const [own] = await s.ofBackfill('bf-2', P, [D]);
    expect(own).to.deep.include({ status: 'failed', error: 'upstream failed: …/é', backfillId: 'bf-2' });
    expect(await env.rt.redis.ttl(env.rt.keys.backfillStatuses('bf-2'))).to.be.above(0);
    // A status that names no backfill writes no copy.
    await s.update(P, '2024-01-06', { status: 'running' });
    expect(await s.ofBackfill('bf-2', P, ['2024-01-06'])).to.deep.equal([undefined]);
  });

  it('concurrent merges of one slice keep every field (the old read-then-write lost some)', async () => {
    const s = env.rt.statuses;
    await s.set(P, D, { status: 'running' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.update(P, D, { status: 'running', note: undefined, ...(i % 2 ? { rows: i } : { attempts: i }) })));
    const final = await s.get(P, D);
    expect(final?.rows).to.be.a('number');
    expect(final?.attempts).to.be.a('number');
  });

  it('a status queued into a step lands with the step, and not before', async () => {
    const step = new RedisStep(env.rt.redis);
    env.rt.statuses.updateIn(step, P, D, { status: 'staged', rows: 7, backfillId: undefined });
    const other = step.add((multi) => multi.hset(`${env.config.prefix}:pg:t`, 'k', 'v'));
    expect(await env.rt.statuses.get(P, D)).to.equal(undefined);
    await step.run('test step');
    expect(await env.rt.statuses.get(P, D)).to.deep.include({ status: 'staged', rows: 7 });
    expect(other()).to.deep.equal([1]);
  });
});
