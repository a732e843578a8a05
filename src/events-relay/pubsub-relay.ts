/**
 * Relays the `committed` stream and the run-ends stream to a Google Pub/Sub topic. The Redis
 * streams stay the source of truth: a consumer group of the relay's own reads them and
 * acknowledges (XACK) an entry only after Pub/Sub confirmed its message, so a Pub/Sub outage
 * delays the messages and loses none. Entries that could not be published stay in the group's
 * pending list and are published again, in stream order, before anything newer — with the
 * table as ordering key, a subscriber sees one table's dates in the order they were committed.
 * A relay that stops leaves its pending entries to the next one under the same name, or to any
 * other once they have been idle `claimIdleMs` (XAUTOCLAIM).
 *
 * Delivery is at-least-once: a relay stopped between Pub/Sub's confirmation and its XACK
 * publishes those entries again, with the same `eventId` attribute (pubsub-message.ts).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClientConfig, PubSub, Topic } from '@google-cloud/pubsub';
import { toError } from '../errors/phasegate-error.ts';
import { log } from '../log.ts';
import { parseRunEndFields } from '../queues/events/run-ends.ts';
import { parseEventFields } from '../queues/events/stream.ts';
import { BlockingConnection } from '../redis/blocking-connection.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { Keys } from '../redis/keys.ts';
import { entriesByStream, entriesOf, type StreamEntry } from '../redis/stream-reply.ts';
import { unblockUntilEnded } from '../redis/unblock.ts';
import { committedMessage, type RelayMessage, runEndMessage } from './pubsub-message.ts';

export interface PubSubRelayOptions {
  /** The topic, `projects/P/topics/T` (PHASEGATE_PUBSUB_TOPIC, resolved by the configuration). */
  topic: string;
  /**
   * The Pub/Sub client. @defaultValue `new PubSub({ projectId: P, fallback: true })` — the REST
   * transport, closed with the relay (a client passed in is the caller's to close).
   */
  client?: PubSub | undefined;
  /** Consumer group on both streams. @defaultValue 'pubsub-relay' */
  group?: string;
  /** This consumer's name; restarted under the same name it resumes its pending entries at once. @defaultValue `<hostname>-<pid>-<random>` */
  consumer?: string;
  /** Entries read (and published together) per call. @defaultValue 100 */
  batchSize?: number;
  /** Longest a read blocks waiting for new entries, in ms (close() interrupts it). @defaultValue 2000 */
  blockMs?: number;
  /**
   * How long the client may spend on one publish, its own retries included, before the relay
   * keeps the entries pending and tries again itself. @defaultValue 60000
   */
  publishTimeoutMs?: number;
  /** First pause after a failed publish; it doubles on each failure in a row, up to `retryMaxMs`. @defaultValue 500 */
  retryMs?: number;
  /** @defaultValue 30000 */
  retryMaxMs?: number;
  /** Idle time after which another relay's pending entries are claimed (it is presumed dead), in ms. @defaultValue 60000 */
  claimIdleMs?: number;
  /**
   * Longest close() waits for publishes in flight, in ms; entries still unconfirmed then stay
   * pending for the next relay (a worker's shutdown never hangs on an unanswering Pub/Sub).
   * @defaultValue 5000
   */
  closeTimeoutMs?: number;
}

const DEFAULTS = {
  group: 'pubsub-relay',
  batchSize: 100,
  blockMs: 2000,
  publishTimeoutMs: 60_000,
  retryMs: 500,
  retryMaxMs: 30_000,
  claimIdleMs: 60_000,
  closeTimeoutMs: 5000,
} satisfies Omit<Required<PubSubRelayOptions>, 'topic' | 'client' | 'consumer'>;

export interface RelayStats {
  /** Entries acknowledged after Pub/Sub confirmed them (or found trimmed). */
  published: number;
  /** Publish calls that failed (each left its entry pending). */
  failed: number;
}

export interface RelayContext {
  redis: RedisClient;
  keys: Keys;
  /** PHASEGATE_PREFIX: part of every message's `eventId`. */
  prefix: string;
}

/** The project of a `projects/P/topics/T` path. */
export function projectOfTopic(topic: string): string {
  const m = /^projects\/([^/]+)\/topics\/[^/]+$/.exec(topic);
  if (!m) throw new Error(`not a topic path (projects/P/topics/T): ${topic}`);
  return m[1] as string;
}

export class PubSubRelay {
  readonly group: string;
  readonly consumer: string;
  private readonly opts: typeof DEFAULTS;
  private readonly client: PubSub;
  private readonly ownsClient: boolean;
  private readonly topic: Topic;
  private readonly counts: RelayStats = { published: 0, failed: 0 };
  private reads: BlockingConnection | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  /** Failures in a row; 0 while Pub/Sub answers. */
  private streak = 0;

  constructor(
    private readonly ctx: RelayContext,
    client: PubSub,
    ownsClient: boolean,
    options: PubSubRelayOptions,
  ) {
    const { topic: _topic, client: _client, consumer, ...rest } = options;
    this.opts = { ...DEFAULTS, ...rest };
    this.group = this.opts.group;
    this.consumer = consumer ?? `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
    this.client = client;
    this.ownsClient = ownsClient;
    this.topic = client.topic(options.topic, {
      messageOrdering: true,
      // A commit's events arrive together: one request for them, after at most 10 ms.
      batching: { maxMessages: this.opts.batchSize, maxMilliseconds: 10 },
      gaxOpts: { timeout: this.opts.publishTimeoutMs },
    });
  }

  stats(): RelayStats {
    return { ...this.counts };
  }

  private get streams(): readonly string[] {
    return [this.ctx.keys.events(), this.ctx.keys.runEnds()];
  }

  async start(): Promise<void> {
    if (this.loop) return;
    // Its own connection: a blocking XREADGROUP would hold up every other command on a shared one.
    const reads = await BlockingConnection.open(this.ctx.redis, this.ctx.keys.events(), `pubsub relay ${this.consumer}: Redis connection`);
    this.reads = reads;
    const conn = reads.client;
    for (const stream of this.streams) {
      try {
        // From now on (`$`), not the stream's start: turning the relay on does not publish a week
        // of history. The group then remembers where it is across restarts.
        await conn.xgroup('CREATE', stream, this.group, '$', 'MKSTREAM');
      } catch (err) {
        if (!toError(err).message.includes('BUSYGROUP')) throw err;
      }
    }
    this.loop = this.run(reads);
  }

  private async run(reads: BlockingConnection): Promise<void> {
    let nextClaim = 0;
    while (!this.stopping) {
      // The connection of this round: a read given up on replaces it (blocking-connection.ts).
      const conn = reads.client;
      try {
        // Entries left pending (a failed publish, a restart) go first, in stream order, before
        // anything newer: that keeps each table's messages in commit order.
        let failed = await this.relay(conn, await this.read(reads, '0'));
        if (failed === undefined && Date.now() >= nextClaim) {
          failed = await this.claimIdle(conn);
          nextClaim = Date.now() + Math.max(this.opts.retryMs, this.opts.claimIdleMs / 2);
        }
        if (failed === undefined) failed = await this.relay(conn, await this.read(reads, '>'));
        if (failed) await this.pause();
      } catch (err) {
        if (this.stopping) return;
        log.error(`pubsub relay ${this.consumer}: ${toError(err).message}`);
        await this.pause();
      }
    }
  }

  /** This consumer's pending entries (`0`) or new ones (`>`, blocking), by stream. */
  private async read(reads: BlockingConnection, from: '0' | '>'): Promise<Map<string, StreamEntry[]>> {
    const block = from === '>' ? ['BLOCK', this.opts.blockMs] : [];
    const send = (conn: RedisClient) =>
      conn.call(
        'XREADGROUP',
        'GROUP',
        this.group,
        this.consumer,
        'COUNT',
        this.opts.batchSize,
        ...block,
        'STREAMS',
        ...this.streams,
        ...this.streams.map(() => from),
      );
    return entriesByStream(from === '>' ? await reads.read(this.opts.blockMs, send) : await send(reads.client));
  }

  /** Entries another relay — presumed dead — left pending for `claimIdleMs`; undefined when there were none. */
  private async claimIdle(conn: RedisClient): Promise<boolean | undefined> {
    const claimed = new Map<string, StreamEntry[]>();
    for (const stream of this.streams) {
      const reply = (await conn.call('XAUTOCLAIM', stream, this.group, this.consumer, this.opts.claimIdleMs, '0-0', 'COUNT', this.opts.batchSize)) as unknown[];
      const entries = entriesOf(reply[1]);
      if (entries.length > 0) claimed.set(stream, entries);
    }
    if (claimed.size > 0) log.info(`pubsub relay ${this.consumer}: claimed ${[...claimed.values()].flat().length} entries left pending by a stopped relay`);
    return this.relay(conn, claimed);
  }

  private messageOf(stream: string, [id, fields]: StreamEntry): RelayMessage | undefined {
    if (fields === null) return undefined;
    return stream === this.ctx.keys.runEnds()
      ? runEndMessage(this.ctx.prefix, id, parseRunEndFields(fields))
      : committedMessage(this.ctx.prefix, id, parseEventFields(fields));
  }

  /**
   * Publishes the entries and acknowledges those Pub/Sub confirmed. Returns whether any failed
   * (they stay pending), or undefined when there was nothing to publish.
   */
  private async relay(conn: RedisClient, byStream: Map<string, StreamEntry[]>): Promise<boolean | undefined> {
    const work: { stream: string; id: string; sent: Promise<unknown> }[] = [];
    // A failed publish pauses its ordering key in the client until resumed; these are tried again now.
    const keys = new Set<string>();
    for (const [stream, entries] of byStream) {
      for (const entry of entries) {
        const message = this.messageOf(stream, entry);
        if (message?.orderingKey && !keys.has(message.orderingKey)) {
          keys.add(message.orderingKey);
          this.topic.resumePublishing(message.orderingKey);
        }
        if (message === undefined) log.warn(`pubsub relay: entry ${entry[0]} of ${stream} was trimmed from the stream before it was published`);
        work.push({ stream, id: entry[0], sent: message ? this.topic.publishMessage(message) : Promise.resolve() });
      }
    }
    if (work.length === 0) return undefined;
    const results = await Promise.allSettled(work.map((w) => w.sent));
    const acks = new Map<string, string[]>();
    let firstError: unknown;
    results.forEach((r, i) => {
      const w = work[i] as (typeof work)[number];
      if (r.status === 'rejected') {
        firstError ??= r.reason;
        return;
      }
      acks.set(w.stream, [...(acks.get(w.stream) ?? []), w.id]);
    });
    for (const [stream, ids] of acks) {
      await conn.xack(stream, this.group, ...ids);
      this.counts.published += ids.length;
    }
    const failed = work.length - [...acks.values()].flat().length;
    this.counts.failed += failed;
    if (failed === 0) {
      if (this.streak > 0) log.info(`pubsub relay: publishing to ${this.topic.name} again after ${this.streak} failed tries`);
      this.streak = 0;
      return false;
    }
    // Said once per outage, not on every retry.
    if (this.streak === 0)
      log.warn(
        `pubsub relay: ${failed} of ${work.length} messages not published to ${this.topic.name} (kept pending, retried): ${toError(firstError).message}`,
      );
    this.streak += 1;
    return true;
  }

  /** Waits before the next try after a failure, doubling with each failure in a row (close() cuts it short). */
  private pause(): Promise<void> {
    const ms = Math.min(this.opts.retryMaxMs, this.opts.retryMs * 2 ** Math.max(0, this.streak - 1));
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Stops after the batch in hand; unacknowledged entries stay pending for the next relay. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake?.();
    const reads = this.reads;
    const loop = this.loop;
    if (loop && reads) {
      const ended =
        reads.blocked() !== undefined &&
        (await unblockUntilEnded(this.ctx.redis, () => reads.blocked(), loop, {
          deadlineMs: Date.now() + this.opts.closeTimeoutMs,
          nudge: () => this.wake?.(),
        }));
      // Past the deadline a publish is still in flight: its entries were never acknowledged, so
      // they stay pending; the loop ends on its own (it stops at the closed connection).
      if (ended) await loop;
    }
    await reads?.close();
    if (this.ownsClient) await this.client.close();
  }
}

/** Starts a relay; the caller closes it (runtime.close does for the one startWorkers starts). */
export async function startPubSubRelay(ctx: RelayContext, options: PubSubRelayOptions): Promise<PubSubRelay> {
  let client = options.client;
  const owns = client === undefined;
  if (!client) {
    // Loaded only when a topic is configured: the client and its transport are heavy.
    const { PubSub } = await import('@google-cloud/pubsub');
    // The REST transport (HTTP/1.1 + JSON), the one the tests exercise; a few messages a second need nothing more.
    // `fallback` is google-gax's transport switch, passed through to the generated clients; ClientConfig does not list it.
    const settings: ClientConfig & { fallback: boolean } = { projectId: projectOfTopic(options.topic), fallback: true };
    client = new PubSub(settings);
  }
  const relay = new PubSubRelay(ctx, client, owns, options);
  try {
    await relay.start();
  } catch (err) {
    await relay.close().catch(() => undefined);
    throw err;
  }
  return relay;
}
