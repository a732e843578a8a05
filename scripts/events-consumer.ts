/**
 * A small example consumer of phasegate's completion events (docs/events.md): its own
 * consumer group on the `committed` stream, at-least-once, printing one JSON line per
 * committed slice. Copy it as the starting point of anything that should react when a table
 * gains a date — a cache refresh, a notification, an export.
 *
 *   npx tsx scripts/events-consumer.ts [--group NAME] [--consumer NAME] [--from-start] [--once]
 *
 * REDIS_URL and PHASEGATE_PREFIX choose the pipeline, as for the CLI. `--from-start` creates the
 * group at the start of the stream (otherwise it sees new events only); `--once` stops when
 * nothing new arrives for two seconds. Handling is idempotent here (printing), so a
 * redelivered event after a crash is harmless; make yours idempotent too.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load-config.ts';
import { type CommittedEvent, parseEventFields } from '../src/queues/events/stream.ts';
import { BlockingConnection } from '../src/redis/blocking-connection.ts';
import { connectRedis } from '../src/redis/connect.ts';
import { keysFor } from '../src/redis/keys.ts';
import { entriesByStream } from '../src/redis/stream-reply.ts';

const { values: flags } = parseArgs({
  options: {
    group: { type: 'string', default: 'example-consumer' },
    consumer: { type: 'string', default: `${hostname()}-${process.pid}` },
    'from-start': { type: 'boolean', default: false },
    once: { type: 'boolean', default: false },
  },
});

const config = loadConfig();
const stream = keysFor(config.prefix).events();
const group = flags.group;
const consumer = flags.consumer;
const redis = connectRedis(config, { maxRetriesPerRequest: null });

/** What this consumer does with an event. Replace with yours; keep it idempotent. */
function handle(id: string, event: CommittedEvent): void {
  process.stdout.write(`${JSON.stringify({ id, ...event })}\n`);
}

async function main(): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, flags['from-start'] ? '0' : '$', 'MKSTREAM');
  } catch (err) {
    // The group exists: carry on from where it stopped.
    if (!(err as Error).message.includes('BUSYGROUP')) throw err;
  }
  let stopping = false;
  process.once('SIGINT', () => {
    stopping = true;
  });
  // First what this consumer was handed before a crash and never acknowledged (id 0), then new events (>).
  // Reads on a connection of their own with a watchdog: a read a reconnect left unanswered is
  // dropped and read again (src/redis/blocking-connection.ts); what it took stays pending.
  const reads = await BlockingConnection.open(redis, stream, 'events-consumer: Redis connection');
  let cursor = '0';
  while (!stopping) {
    const reading = cursor === '>';
    const read = (conn: typeof redis) =>
      conn.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 100, ...(reading ? ['BLOCK', 2000] : []), 'STREAMS', stream, cursor);
    const batch = entriesByStream(reading ? await reads.read(2000, read) : await read(reads.client)).get(stream) ?? [];
    if (!reading && batch.length === 0) cursor = '>';
    if (reading && batch.length === 0 && flags.once) break;
    for (const [id, fields] of batch) {
      // Trimmed from the stream before it was read (the stream is capped): nothing to handle.
      if (fields) handle(id, parseEventFields(fields));
      // Acknowledge only after handling: a crash in between means a redelivery, not a loss.
      await reads.client.xack(stream, group, id);
      if (!reading) cursor = id;
    }
  }
  await reads.close();
  await redis.quit();
}

main().catch((err) => {
  process.stderr.write(`events-consumer: ${(err as Error).message}\n`);
  process.exit(1);
});
