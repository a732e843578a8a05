/**
 * The example consumer of completion events (scripts/events-consumer.ts), run as docs/events.md
 * tells a user to run it, against a real Redis: one JSON line per committed event, acknowledged
 * after it is printed; a second run of the same group prints nothing again; an event the
 * consumer took and never acknowledged (a crash between reading and handling) is handled on its
 * next start; an event trimmed from the stream before it was handled is acknowledged, not printed.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { type CommittedEvent, publishCommitted } from '../src/queues/events/stream.ts';
import { keysFor } from '../src/redis/keys.ts';
import { entriesByStream } from '../src/redis/stream-reply.ts';
import { deleteKeys, runNode, TEST_REDIS_URL } from './helpers.ts';

const SCRIPT = path.resolve(import.meta.dirname, '..', 'scripts', 'events-consumer.ts');

interface ConsumerRun {
  code: number;
  /** The slices of the events it printed, in order. */
  slices: string[];
  stderr: string;
}

async function runConsumer(prefix: string, args: readonly string[]): Promise<ConsumerRun> {
  const run = await runNode(['--import', 'tsx', SCRIPT, '--once', ...args], { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix }, { timeoutMs: 30_000 });
  const slices = run.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as CommittedEvent & { id: string }).slice);
  return { code: run.code, slices, stderr: run.stderr };
}

function event(slice: string): CommittedEvent {
  return {
    type: 'committed',
    processor: 'nbac_player_boxscore',
    table: 'nba_raw.nbac_player_boxscores',
    slice,
    rows: 250,
    batchId: 'b1',
    committedAt: '2026-12-06T12:00:00.000Z',
  };
}

describe('the example events consumer (scripts/events-consumer.ts)', function () {
  this.timeout(60_000);
  let prefix: string;
  let redis: Redis;

  beforeEach(() => {
    prefix = `test-${randomUUID().slice(0, 8)}`;
    redis = new Redis(TEST_REDIS_URL);
  });

  afterEach(async () => {
    await redis.quit();
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
  });

  async function pending(group: string): Promise<number> {
    const summary = (await redis.xpending(keysFor(prefix).events(), group)) as [number, ...unknown[]];
    return Number(summary[0]);
  }

  it('prints each committed event once, acknowledges it, and a second run of its group prints nothing again', async () => {
    await publishCommitted(redis, keysFor(prefix), [event('2024-01-01'), event('2024-01-02'), event('2024-01-03')]);
    const first = await runConsumer(prefix, ['--from-start', '--group', 'g1', '--consumer', 'c1']);
    expect(first, first.stderr).to.deep.include({ code: 0, slices: ['2024-01-01', '2024-01-02', '2024-01-03'] });
    expect(await pending('g1')).to.equal(0);

    await publishCommitted(redis, keysFor(prefix), [event('2024-01-04')]);
    const second = await runConsumer(prefix, ['--group', 'g1', '--consumer', 'c1']);
    expect(second, second.stderr).to.deep.include({ code: 0, slices: ['2024-01-04'] });
  });

  it('handles what it took and never acknowledged before a crash, first, on its next start', async () => {
    const stream = keysFor(prefix).events();
    await redis.xgroup('CREATE', stream, 'g2', '0', 'MKSTREAM');
    await publishCommitted(redis, keysFor(prefix), [event('2024-02-01'), event('2024-02-02')]);
    // c1 took the first event and stopped before handling it.
    await redis.xreadgroup('GROUP', 'g2', 'c1', 'COUNT', 1, 'STREAMS', stream, '>');
    expect(await pending('g2')).to.equal(1);

    const run = await runConsumer(prefix, ['--group', 'g2', '--consumer', 'c1']);
    expect(run, run.stderr).to.deep.include({ code: 0, slices: ['2024-02-01', '2024-02-02'] });
    expect(await pending('g2')).to.equal(0);
  });

  it('acknowledges, without printing, an event trimmed from the stream before it was handled', async () => {
    const stream = keysFor(prefix).events();
    await redis.xgroup('CREATE', stream, 'g3', '0', 'MKSTREAM');
    await publishCommitted(redis, keysFor(prefix), [event('2024-03-01'), event('2024-03-02')]);
    const taken = entriesByStream(await redis.xreadgroup('GROUP', 'g3', 'c1', 'COUNT', 1, 'STREAMS', stream, '>'));
    const id = taken.get(stream)?.[0]?.[0] as string;
    await redis.xdel(stream, id);

    const run = await runConsumer(prefix, ['--group', 'g3', '--consumer', 'c1']);
    expect(run, run.stderr).to.deep.include({ code: 0, slices: ['2024-03-02'] });
    expect(await pending('g3')).to.equal(0);
  });
});
