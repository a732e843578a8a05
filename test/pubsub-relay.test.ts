/**
 * Completion events on Pub/Sub: the relay's consumer group reads the real Redis streams and
 * publishes through the official client's REST transport to an in-process Pub/Sub endpoint on
 * a loopback port (test/pubsub-fake.ts; nothing reaches Google). The endpoint refuses every
 * publish for a while (503); every stream entry then arrives exactly once, each table's in
 * stream order, and nothing is acknowledged before Pub/Sub confirmed it.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { eventIdOf } from '../src/events-relay/pubsub-message.ts';
import { startPubSubRelay } from '../src/events-relay/pubsub-relay.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { type CommittedEvent, publishCommitted } from '../src/queues/events/stream.ts';
import type { Runtime } from '../src/runtime.ts';
import { credentials, PROJECT } from './bigquery-nock.ts';
import { openTestRuntime, TEST_REDIS_URL, type TestEnv, until } from './helpers.ts';
import { loopbackOnly } from './loopback.ts';
import { FakePubSub } from './pubsub-fake.ts';

const TOPIC = `projects/${PROJECT}/topics/phasegate-completions`;
const TABLES = ['nba_raw.nbac_player_boxscores', 'nba_raw.nbac_team_boxscore', 'nba_analytics.player_game_summary'];

function events(n: number, offset = 0): CommittedEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const k = i + offset;
    const table = TABLES[k % TABLES.length] as string;
    return {
      type: 'committed',
      processor: table.split('.')[1] as string,
      table,
      slice: `2023-11-${String(1 + (k % 28)).padStart(2, '0')}`,
      rows: 10 + k,
      batchId: `c${k}-a0`,
      committedAt: new Date().toISOString(),
      backfillId: k % 2 === 0 ? 'bf-test-run' : undefined,
    };
  });
}

/** The stream's entry ids, in order. */
async function entryIds(rt: Runtime): Promise<string[]> {
  return (await rt.redis.xrange(rt.keys.events(), '-', '+')).map(([id]) => id);
}

/** Entries the relay's group holds unacknowledged. */
async function pending(rt: Runtime): Promise<number> {
  const summary = (await rt.redis.xpending(rt.keys.events(), 'pubsub-relay')) as unknown[];
  return Number(summary[0] ?? 0);
}

describe('Pub/Sub relay: completion events on a topic', function () {
  this.timeout(60_000);
  const creds = credentials();
  // Nothing may leave the machine: only the loopback (Redis, the fake endpoint) is reachable.
  loopbackOnly();
  let fake: FakePubSub;
  let client: PubSub;
  let env: TestEnv | undefined;

  beforeEach(async () => {
    fake = new FakePubSub();
    client = fake.client(await fake.start(), PROJECT, creds);
  });
  afterEach(async () => {
    await env?.cleanup();
    env = undefined;
    await client.close();
    await fake.close();
  });

  it('an outage delays the events and loses none: each stream entry arrives once, per table in order', async () => {
    env = await openTestRuntime({ PHASEGATE_PUBSUB_TOPIC: TOPIC }, { pubsub: client });
    const { rt } = env;
    // The relay runs in the worker process: started by startWorkers when the topic is set.
    await rt.startWorkers({ phases: [], commit: false, concurrency: 1, tracker: false, scheduler: false });
    fake.down = true;
    await publishCommitted(rt.redis, rt.keys, events(30));
    await until(async () => fake.refused >= 3, 'publishes refused during the outage');
    // Nothing confirmed, so nothing acknowledged: every entry still pending in the relay's group.
    expect(fake.received).to.have.length(0);
    expect(await pending(rt)).to.equal(30);

    fake.down = false;
    await publishCommitted(rt.redis, rt.keys, events(6, 30));
    const ids = await entryIds(rt);
    expect(ids).to.have.length(36);
    await until(async () => fake.received.length >= 36 && (await pending(rt)) === 0, 'every event published and acknowledged', 30_000);

    // Exactly once per stream entry, recognisable by its eventId.
    const got = fake.received.map((m) => m.attributes.eventId);
    expect(got).to.have.members(ids.map((id) => eventIdOf(rt.config.prefix, 'events', id)));
    expect(new Set(got).size).to.equal(got.length);
    // Ordered per table: each table's messages arrive in stream order.
    for (const table of TABLES) {
      const order = fake.received.filter((m) => m.orderingKey === table).map((m) => m.attributes.eventId);
      const expected = ids.filter((_, i) => TABLES[i % TABLES.length] === table).map((id) => eventIdOf(rt.config.prefix, 'events', id));
      expect(order, table).to.deep.equal(expected);
    }
    const first = fake.received.find((m) => m.attributes.eventId === eventIdOf(rt.config.prefix, 'events', ids[0] as string));
    expect(first?.topic).to.equal(TOPIC);
    expect(first?.attributes).to.deep.include({
      type: 'committed',
      processor: 'nbac_player_boxscores',
      table: 'nba_raw.nbac_player_boxscores',
      slice: '2023-11-01',
      rows: '10',
      batchId: 'c0-a0',
      run: 'bf-test-run',
    });
    expect(first?.data).to.deep.include({ processor: 'nbac_player_boxscores', slice: '2023-11-01', rows: 10, backfillId: 'bf-test-run' });
    // Live work (no backfill) carries no run attribute.
    expect(fake.received.find((m) => m.data.batchId === 'c1-a0')?.attributes).to.not.have.property('run');
  });

  it('a relay stopped during an outage leaves its entries to the next one, which publishes each once', async () => {
    env = await openTestRuntime();
    const { rt } = env;
    const ctx = { redis: rt.redis, keys: rt.keys, prefix: rt.config.prefix };
    const opts = { topic: TOPIC, client, consumer: 'relay-a', publishTimeoutMs: 200, retryMs: 50, retryMaxMs: 200 };
    fake.down = true;
    const first = await startPubSubRelay(ctx, opts);
    await publishCommitted(rt.redis, rt.keys, events(12));
    await until(async () => first.stats().failed >= 12 && fake.refused >= 2, 'the first relay failing to publish');
    await first.close();
    expect(await pending(rt)).to.equal(12);
    expect(fake.received).to.have.length(0);

    fake.down = false;
    const second = await startPubSubRelay(ctx, opts);
    try {
      await until(async () => (await pending(rt)) === 0 && fake.received.length >= 12, 'the pending entries published by the restarted relay', 30_000);
      expect(second.stats().published).to.equal(12);
      const ids = (await entryIds(rt)).map((id) => eventIdOf(rt.config.prefix, 'events', id));
      // One request per ordering key: the tables interleave, each in stream order.
      const got = fake.received.map((m) => m.attributes.eventId as string);
      expect(got).to.have.members(ids);
      for (const table of TABLES) {
        const ofTable = fake.received.filter((m) => m.orderingKey === table).map((m) => m.attributes.eventId);
        expect(ofTable, table).to.deep.equal(ids.filter((id) => ofTable.includes(id)));
      }
    } finally {
      await second.close();
    }
  });

  it('closes within its timeout while Pub/Sub hangs, leaving the unconfirmed entries pending', async () => {
    env = await openTestRuntime();
    const { rt } = env;
    fake.hang = true;
    const relay = await startPubSubRelay(
      { redis: rt.redis, keys: rt.keys, prefix: rt.config.prefix },
      { topic: TOPIC, client, publishTimeoutMs: 30_000, closeTimeoutMs: 300 },
    );
    await publishCommitted(rt.redis, rt.keys, events(3));
    await until(async () => fake.requests >= 1, 'a publish in flight');
    const started = Date.now();
    await relay.close();
    expect(Date.now() - started).to.be.below(2000);
    expect(await pending(rt)).to.equal(3);
    expect(fake.received).to.have.length(0);
  });

  it("publishes a run's end once, with its outcome, beside its committed events", async function () {
    this.timeout(120_000);
    env = await openTestRuntime({ PHASEGATE_PUBSUB_TOPIC: TOPIC, PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_GATHER_SECONDS: '5' }, { pubsub: client });
    const { rt } = env;
    await rt.startWorkers({ phases: [1, 2], commit: true, concurrency: 2, scheduler: false });
    const dates = ['2023-11-01', '2023-11-03'];
    const record = await startBackfill(rt, { processors: ['nbac_team_boxscore_scraper', 'nbac_team_boxscore'].map((p) => rt.registry.get(p)), dates });
    await waitForBackfill(rt, record, { bars: false, pollMs: 100, timeoutMs: 90_000 });
    const end = await until(async () => fake.received.find((m) => m.attributes.type === 'run_finished'), "the run's end on the topic", 30_000);
    expect(end.attributes.run).to.equal(record.id);
    expect(end.orderingKey).to.equal(undefined);
    expect(end.data).to.deep.include({ run: record.id, processors: ['nbac_team_boxscore_scraper', 'nbac_team_boxscore'], cascade: false });
    expect(end.data.counts).to.deep.equal({ committed: 4 });
    const committed = fake.received.filter((m) => m.attributes.type === 'committed' && m.attributes.run === record.id);
    expect(committed.map((m) => `${m.attributes.processor} ${m.attributes.slice}`).sort()).to.deep.equal(dates.map((d) => `nbac_team_boxscore ${d}`));
    // Once, however many commits looked at the finished run after it ended.
    await publishCommitted(rt.redis, rt.keys, events(1));
    await until(async () => fake.received.some((m) => m.data.batchId === 'c0-a0'), 'a later event');
    expect(fake.received.filter((m) => m.attributes.type === 'run_finished')).to.have.length(1);
  });

  it('takes a topic path, or a topic name in PHASEGATE_BQ_PROJECT', () => {
    const base = { REDIS_URL: TEST_REDIS_URL };
    expect(loadConfig({ ...base, PHASEGATE_PUBSUB_TOPIC: TOPIC }).pubsub.topic).to.equal(TOPIC);
    expect(loadConfig({ ...base, PHASEGATE_PUBSUB_TOPIC: 'completions', PHASEGATE_BQ_PROJECT: 'my-project' }).pubsub.topic).to.equal(
      'projects/my-project/topics/completions',
    );
    expect(() => loadConfig({ ...base, PHASEGATE_PUBSUB_TOPIC: 'completions' })).to.throw(
      /PHASEGATE_PUBSUB_TOPIC: a bare topic name needs PHASEGATE_BQ_PROJECT/,
    );
    expect(loadConfig(base).pubsub.topic).to.equal(undefined);
  });
});
