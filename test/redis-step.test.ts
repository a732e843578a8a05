/**
 * Job steps (src/redis/step.ts) that run in the same turn of the event loop on one connection
 * share one MULTI: Redis executes one transaction for them, each step reads its own replies
 * and fails alone, and a step that cannot be queued does not take the others down with it.
 */
import { expect } from 'chai';
import { RedisStep } from '../src/redis/step.ts';
import { runtimePerTest, type TestEnv } from './helpers.ts';

/** How many transactions Redis has executed so far (INFO commandstats). */
async function execs(env: TestEnv): Promise<number> {
  const info = await env.rt.redis.info('commandstats');
  return Number(/cmdstat_exec:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe('job steps: one MULTI for the steps of one turn', () => {
  const env = runtimePerTest();

  it('steps started together land in one transaction, each reading back only its own replies', async () => {
    const key = `${env.config.prefix}:pg:step-test`;
    const before = await execs(env);
    const steps = Array.from({ length: 12 }, (_, i) => {
      const step = new RedisStep(env.rt.redis);
      const replies = step.add((multi) => multi.hset(key, `f${i}`, String(i)).hincrby(key, 'n', 1));
      return { step, replies };
    });
    await Promise.all(steps.map(({ step }, i) => step.run(`step ${i}`)));
    expect((await execs(env)) - before).to.equal(1);
    // Each sees its own two replies: its field was new, and the counter as its own increment left it.
    const counts = steps.map(({ replies }) => replies());
    for (const r of counts) expect(r[0]).to.equal(1);
    expect(counts.map((r) => r[1]).sort((a, b) => Number(a) - Number(b))).to.deep.equal(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await env.rt.redis.hlen(key)).to.equal(13);
  });

  it('a step whose own command fails throws, naming itself; the others in its transaction land and run their afterRun', async () => {
    const key = `${env.config.prefix}:pg:step-test`;
    const wrongType = `${env.config.prefix}:pg:step-string`;
    await env.rt.redis.set(wrongType, 'x');
    const good = new RedisStep(env.rt.redis);
    good.add((multi) => multi.hset(key, 'good', '1'));
    let after = false;
    good.afterRun(async () => {
      after = true;
    });
    const bad = new RedisStep(env.rt.redis);
    bad.add((multi) => multi.hset(key, 'bad', '1').hset(wrongType, 'f', 'v'));
    const [g, b] = await Promise.allSettled([good.run('the good step'), bad.run('the bad step')]);
    expect(g.status).to.equal('fulfilled');
    expect(after).to.equal(true);
    expect(b.status).to.equal('rejected');
    expect((b as PromiseRejectedResult).reason.message).to.match(/^the bad step: WRONGTYPE/);
    expect(await env.rt.redis.hget(key, 'good')).to.equal('1');
  });

  it('a step Redis refuses to queue fails alone: the shared MULTI is tried again step by step', async () => {
    const key = `${env.config.prefix}:pg:step-test`;
    const good = new RedisStep(env.rt.redis);
    good.add((multi) => multi.hset(key, 'good', '1'));
    const bad = new RedisStep(env.rt.redis);
    // An unknown command: Redis refuses it while queueing, and aborts the whole transaction.
    bad.add((multi) => (multi as unknown as { call: (...a: string[]) => unknown }).call('NOSUCHCOMMAND', key));
    const [g, b] = await Promise.allSettled([good.run('the good step'), bad.run('the bad step')]);
    expect(g.status).to.equal('fulfilled');
    expect(b.status).to.equal('rejected');
    expect((b as PromiseRejectedResult).reason.message).to.match(/^the bad step: /);
    expect(await env.rt.redis.hget(key, 'good')).to.equal('1');
  });

  it('a script not defined on the connection fails its own step before anything is sent', async () => {
    const step = new RedisStep(env.rt.redis);
    step.add((multi) => (multi as unknown as Record<string, (k: string) => unknown>).pg_not_a_script?.('k'));
    const err = await step.run('the undefined script').catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.include('pg_not_a_script is not a command of this connection');
  });
});
