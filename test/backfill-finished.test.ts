/** "Backfill finished with failures" is announced once a backfill is over — a cascade's downstream phases included. */
import { expect } from 'chai';
import { DefinitionError } from '../src/errors/definition-error.ts';
import { addDays, datesIn } from '../src/processors/precompute/lookback.ts';
import { Registry } from '../src/processors/registry.ts';
import type { TableSpec, TransformDef } from '../src/processors/types.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { Receiver } from './conflict-fixtures.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const table = (name: string): TableSpec => ({
  dataset: 'nba_analytics',
  table: name,
  columns: [
    { name: 'game_date', type: 'DATE' },
    { name: 'n', type: 'INT64' },
  ],
  primaryKey: ['game_date'],
  sliceColumn: 'game_date',
});

const up: TransformDef = {
  kind: 'transform',
  name: 'finished_up',
  phase: 2,
  description: 'one row per date',
  table: table('finished_up'),
  dependsOn: [],
  run: async (ctx) => [{ game_date: ctx.slice, n: 1 }],
};

const down: TransformDef = {
  kind: 'transform',
  name: 'finished_down',
  phase: 3,
  description: 'fails every date',
  table: table('finished_down'),
  dependsOn: [up.name],
  run: async (ctx) => {
    throw new DefinitionError(`finished_down cannot build ${ctx.slice}`);
  },
};

describe('backfill finished with failures', function () {
  this.timeout(60_000);
  const receiver = new Receiver();
  let env: TestEnv;

  before(async () => {
    const url = await receiver.start();
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200', PHASEGATE_WEBHOOK_URL: url }, { registry: new Registry([up, down]) });
  });
  after(async () => {
    await env?.cleanup();
    await receiver.stop();
  });

  it('a cascade whose requested phase all landed but whose downstream failed is announced once, naming the downstream slices', async () => {
    const rt = env.rt;
    await rt.startWorkers({ phases: [2, 3], commit: true, concurrency: 2 });
    const record = await startCascadingBackfill(rt, { processors: [up], dates: ['2024-01-01', '2024-01-02'], cascade: true });
    const progress = await waitForCascade(rt, record, { pollMs: 50, timeoutMs: 30_000 });
    expect(progress.perProcessor.finished_up).to.include({ committed: 2 });
    expect(progress.perProcessor.finished_down).to.include({ failed: 2 });
    const notice = await until(async () => receiver.bodies.find((b) => b.text.includes(`backfill ${record.id} finished`)), 'the finished notice', 10_000);
    expect(notice.text).to.include('2 of 4 slices failed or deferred');
    expect(notice.text).to.include('finished_down 2024-01-01 failed:').and.to.include('finished_down cannot build 2024-01-01');
    expect(await rt.redis.exists(rt.keys.notifyOnce('backfill-failed', record.id))).to.equal(1);
    // Once: the second failure's check finds the marker.
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.bodies.filter((b) => b.text.includes(`backfill ${record.id} finished`))).to.have.length(1);
  });
});

describe('backfill finished with failures, over more dates than one look reads', function () {
  this.timeout(90_000);
  const receiver = new Receiver();
  let env: TestEnv;
  // The check looks at the latest dates first, a chunk at a time; a failure in the earliest
  // date is in the last chunk it reads, so it is found only if every chunk is read once done.
  const dates = datesIn({ start: '2024-01-01', end: addDays('2024-01-01', 299) });
  const first: TransformDef = { ...up, name: 'chunked_up', table: table('chunked_up') };
  const second: TransformDef = {
    ...down,
    name: 'chunked_down',
    table: table('chunked_down'),
    dependsOn: [first.name],
    run: async (ctx) => {
      if (ctx.slice === dates[0]) throw new DefinitionError(`chunked_down cannot build ${ctx.slice}`);
      return [{ game_date: ctx.slice, n: 2 }];
    },
  };

  before(async () => {
    const url = await receiver.start();
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '500', PHASEGATE_WEBHOOK_URL: url }, { registry: new Registry([first, second]) });
  });
  after(async () => {
    await env?.cleanup();
    await receiver.stop();
  });

  it('names the one failed slice of 600, in the earliest date, once everything ended', async () => {
    const rt = env.rt;
    await rt.startWorkers({ phases: [2, 3], commit: true, concurrency: 4 });
    const record = await startCascadingBackfill(rt, { processors: [first], dates, cascade: true });
    const progress = await waitForCascade(rt, record, { pollMs: 200, timeoutMs: 60_000 });
    expect(progress.done).to.equal(true);
    expect(progress.perProcessor.chunked_down).to.include({ committed: 299, failed: 1 });
    const notice = await until(async () => receiver.bodies.find((b) => b.text.includes(`backfill ${record.id} finished`)), 'the finished notice', 10_000);
    expect(notice.text).to.include('1 of 600 slices failed or deferred');
    expect(notice.text).to.include(`chunked_down ${dates[0]} failed:`);
    expect(receiver.bodies.filter((b) => b.text.includes(`backfill ${record.id} finished`))).to.have.length(1);
  });
});
