/**
 * `phasegate_workers_replaced_total` (src/dashboard/metrics/dashboard-metrics.ts): the counts
 * every process keeps in Redis when its fetch-loop watch replaces a worker, as a Prometheus
 * counter that starts with the dashboard and survives a Redis that lost its data.
 */
import { expect } from 'chai';
import { DashboardMetrics } from '../src/dashboard/metrics/dashboard-metrics.ts';
import { phaseQueueName } from '../src/queues/names.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

describe('/metrics counts the workers replaced by the fetch-loop watch', function () {
  this.timeout(60_000);
  let env: TestEnv;
  beforeEach(async () => {
    env = await openTestRuntime();
  });
  afterEach(async () => env.cleanup());

  /** The counter's value for a queue in `/metrics`' text, or undefined when it has no series. */
  const valueIn = (text: string, queue: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`phasegate_workers_replaced_total{queue="${queue}"}`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  it('advances by the replacements since the last scrape, not those before the dashboard started; a wiped count counts again', async () => {
    const { rt } = env;
    const key = rt.keys.workersReplaced();
    const phase3 = phaseQueueName(3);
    const phase4 = phaseQueueName(4);
    // Two replacements before the dashboard started.
    await rt.redis.hincrby(key, phase3, 2);
    const metrics = new DashboardMetrics(rt);
    expect(valueIn(await metrics.render(), phase3)).to.equal(undefined);
    // One on each of two queues, from two processes, between scrapes.
    await rt.redis.hincrby(key, phase3, 1);
    await rt.redis.hincrby(key, phase4, 1);
    let text = await metrics.render();
    expect(valueIn(text, phase3)).to.equal(1);
    expect(valueIn(text, phase4)).to.equal(1);
    // A scrape with nothing new leaves it.
    expect(valueIn(await metrics.render(), phase3)).to.equal(1);
    // Redis lost its data and a process counted one since: that one is new.
    await rt.redis.del(key);
    await rt.redis.hincrby(key, phase3, 1);
    text = await metrics.render();
    expect(valueIn(text, phase3)).to.equal(2);
    expect(valueIn(text, phase4)).to.equal(1);
  });
});
