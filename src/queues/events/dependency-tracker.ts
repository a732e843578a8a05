/**
 * The dependency tracker: a consumer group on the `committed` stream that turns completion
 * events into downstream phase jobs (see unlocks.ts for which ones).
 *
 * Delivery is at-least-once. An event is acknowledged (XACK) only after everything it
 * unlocked is queued; an event whose work cannot be queued yet stays pending and is tried
 * again. A tracker that stops — closed, or killed — leaves its unacknowledged events in the
 * group's pending list: the same consumer name picks them up at once when it starts again,
 * and any other tracker claims them (XAUTOCLAIM) once they have been idle for
 * `PHASEGATE_TRACKER_CLAIM_IDLE_SECONDS`. Handling an event twice queues nothing twice (see
 * downstream.ts), so a redelivery is harmless.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { scaledMs } from '../../config/load-config.ts';
import { toError } from '../../errors/phasegate-error.ts';
import { log } from '../../log.ts';
import { lookbackOf } from '../../processors/precompute/lookback.ts';
import { BlockingConnection } from '../../redis/blocking-connection.ts';
import type { RedisClient } from '../../redis/connect.ts';
import { RepeatedErrors } from '../../redis/repeated-errors.ts';
import { entriesByStream, entriesOf, infoRecord, type StreamEntry } from '../../redis/stream-reply.ts';
import { withTraceparent } from '../../telemetry/tracing.ts';
import { phaseJobFinished } from '../commit/staging.ts';
import type { PipelineContext } from '../context.ts';
import { TRACKER_GROUP } from '../names.ts';
import { parseEventFields, streamCapFrom, trimEvents } from './stream.ts';
import { BackfillLookup, handleEvent } from './unlocks.ts';

export interface TrackerOptions {
  /** Consumer group; every tracker of one pipeline shares it. @defaultValue 'dependency-tracker' */
  group?: string;
  /**
   * This consumer's name. A tracker restarted under the same name resumes its own pending
   * events immediately. @defaultValue `<hostname>-<pid>-<random>`
   */
  consumer?: string;
  /** Events read per call. @defaultValue 100 */
  batchSize?: number;
  /** Longest a read blocks waiting for new events, in ms (close() interrupts it). @defaultValue 2000 */
  blockMs?: number;
  /** Pause before an event that could not be handled is tried again, in ms. @defaultValue 200 */
  retryMs?: number;
  /** How often the stream is trimmed to its configured cap, in ms. @defaultValue 60000 */
  trimEveryMs?: number;
}

const DEFAULTS = {
  group: TRACKER_GROUP,
  batchSize: 100,
  blockMs: 2000,
  retryMs: 200,
  trimEveryMs: 60_000,
} satisfies Omit<Required<TrackerOptions>, 'consumer'>;

/**
 * Events of one read handled at once (different slices; see `handleAll`): a full group commit's
 * worth (PHASEGATE_COMMIT_MAX_SLICES' default, 64 events), so the last date of a commit does
 * not wait for the round trips of the others before it.
 */
const HANDLE_CONCURRENCY = 64;

/** A consumer that has been silent this long with nothing pending is removed from the group. */
const FORGET_CONSUMER_MS = 86_400_000;

function defaultConsumer(): string {
  return `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

/** The entries of an XREADGROUP reply for the one stream the tracker reads; null (timeout) is none. */
function readReplyEntries(reply: unknown): StreamEntry[] {
  return [...entriesByStream(reply).values()][0] ?? [];
}

export interface TrackerStats {
  /** Events acknowledged. */
  acked: number;
  /** Times an event had to wait for a running job and was handled again. */
  retried: number;
  /** Blocking reads given up on for want of an answer, each on a new connection since (blocking-connection.ts). */
  readsGivenUp: number;
}

export class DependencyTracker {
  readonly group: string;
  readonly consumer: string;
  private readonly opts: Omit<Required<TrackerOptions>, 'consumer' | 'group'>;
  private readonly backfills: BackfillLookup;
  private readonly retryAt = new Map<string, number>();
  private readonly counts: Omit<TrackerStats, 'readsGivenUp'> = { acked: 0, retried: 0 };
  private reads: BlockingConnection | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly ctx: PipelineContext,
    options: TrackerOptions = {},
  ) {
    const o = { ...DEFAULTS, ...options };
    this.group = o.group;
    this.consumer = options.consumer ?? defaultConsumer();
    this.opts = { batchSize: o.batchSize, blockMs: o.blockMs, retryMs: o.retryMs, trimEveryMs: o.trimEveryMs };
    this.backfills = new BackfillLookup(ctx);
  }

  stats(): TrackerStats {
    return { ...this.counts, readsGivenUp: this.reads?.replacements ?? 0 };
  }

  private get key(): string {
    return this.ctx.keys.events();
  }

  private get timing() {
    const { tracker } = this.ctx.config;
    return {
      debounceMs: tracker.debounceSeconds > 0 ? scaledMs(this.ctx.config, tracker.debounceSeconds) : 0,
      windowWaitMs: scaledMs(this.ctx.config, tracker.windowWaitSeconds),
    };
  }

  async start(): Promise<void> {
    if (this.loop) return;
    // Its own connection: a blocking XREADGROUP would hold up every other command on a shared one.
    const reads = await BlockingConnection.open(this.ctx.redis, this.key, `dependency tracker ${this.consumer}: Redis connection`);
    this.reads = reads;
    await this.createGroup(reads.client);
    await this.forgetIdleConsumers(reads.client).catch((err) => log.warn(`dependency tracker: could not tidy consumers: ${toError(err).message}`));
    this.loop = this.run(reads);
  }

  /** Creates the consumer group (and the stream) unless it exists; true when it created it. */
  private async createGroup(conn: RedisClient): Promise<boolean> {
    try {
      // From the start of the stream, not `$`: events published before the first tracker ever
      // started (a worker without one, an earlier run) still carry their work down.
      await conn.xgroup('CREATE', this.key, this.group, '0', 'MKSTREAM');
      return true;
    } catch (err) {
      if (!toError(err).message.includes('BUSYGROUP')) throw err;
      return false;
    }
  }

  /**
   * A Redis that restarted without its data (no AOF, no RDB) has no stream and no group:
   * every read fails with NOGROUP until the group exists again. Events ids held from before
   * are gone with the stream; whatever a restart lost, later commits publish anew.
   */
  private async recreateGroup(conn: RedisClient): Promise<void> {
    this.retryAt.clear();
    if (await this.createGroup(conn))
      log.warn(
        `dependency tracker ${this.consumer}: the consumer group ${this.group} on ${this.key} was gone (Redis restarted without its data?): created it again`,
      );
  }

  private async run(reads: BlockingConnection): Promise<void> {
    const errors = new RepeatedErrors(`dependency tracker ${this.consumer}`, 'error');
    const claimIdleMs = scaledMs(this.ctx.config, this.ctx.config.tracker.claimIdleSeconds);
    let nextRecovery = 0;
    // Claiming scans the whole pending list, so it runs at half the idle time, not every retry.
    let nextClaim = 0;
    let nextTrim = Date.now() + this.opts.trimEveryMs;
    while (!this.stopping) {
      // The connection of this round: a read given up on replaces it (blocking-connection.ts).
      const conn = reads.client;
      try {
        if (Date.now() >= nextRecovery) {
          await this.retryOwn(conn);
          nextRecovery = Date.now() + this.opts.retryMs;
        }
        if (Date.now() >= nextClaim) {
          await this.claimIdle(conn, claimIdleMs);
          nextClaim = Date.now() + Math.max(this.opts.retryMs, claimIdleMs / 2);
        }
        if (Date.now() >= nextTrim) {
          await trimEvents(conn, this.ctx.keys, streamCapFrom(this.ctx.config));
          nextTrim = Date.now() + this.opts.trimEveryMs;
        }
        // While events wait for a retry, block only until the next one is due.
        const block = this.retryAt.size > 0 ? Math.max(1, Math.min(this.opts.blockMs, nextRecovery - Date.now())) : this.opts.blockMs;
        const reply = await reads.read(block, (c) =>
          c.call('XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', this.opts.batchSize, 'BLOCK', block, 'STREAMS', this.key, '>'),
        );
        const entries = readReplyEntries(reply);
        await this.handleAll(conn, entries);
        // Commits gathering for their next wave count these events as work upstream; handled,
        // they may have been the last of it (backlog-gather.ts).
        if (entries.length > 0)
          void phaseJobFinished(this.ctx, 3).catch((err: unknown) => log.warn(`dependency tracker: starting the gathered commits: ${(err as Error).message}`));
        errors.ok();
      } catch (err) {
        if (this.stopping) return;
        let failure = err;
        if (toError(err).message.startsWith('NOGROUP')) {
          try {
            await this.recreateGroup(conn);
            continue;
          } catch (again) {
            failure = again;
          }
        }
        errors.failed(failure);
        await new Promise((r) => setTimeout(r, this.opts.retryMs));
      }
    }
  }

  /**
   * The new events of one read. A commit of 64 dates publishes 64 events together: handled one
   * at a time, the last one's downstream job would wait for the round trips of the 63 before it.
   * So events of different slices are handled at once (at most HANDLE_CONCURRENCY), each
   * slice's events in stream order — two events of one date never race for the same downstream
   * job. An event whose dependents look back over other dates (a rolling window) can ask for
   * runs of those dates too: such events keep the one-at-a-time order among themselves. The
   * read's handled events are acknowledged together, in one XACK at the end (a tracker stopped
   * before it leaves them pending, to be handled again: harmless, see downstream.ts).
   */
  private async handleAll(conn: RedisClient, entries: readonly StreamEntry[]): Promise<void> {
    const chains = new Map<string, StreamEntry[]>();
    for (const entry of entries) {
      const event = entry[1] ? parseEventFields(entry[1]) : undefined;
      const windowed =
        event !== undefined && this.ctx.registry.has(event.processor) && this.ctx.registry.dependents(event.processor).some((d) => lookbackOf(d));
      const key = event === undefined || windowed ? '' : `slice:${event.slice}`;
      const chain = chains.get(key) ?? [];
      chain.push(entry);
      chains.set(key, chain);
    }
    const lanes = [...chains.values()];
    const acks: string[] = [];
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < lanes.length; i = next++) {
        for (const entry of lanes[i] as StreamEntry[]) {
          if (this.stopping) return;
          await this.handle(conn, entry, acks);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(HANDLE_CONCURRENCY, lanes.length) }, lane));
    } finally {
      if (acks.length > 0) {
        await conn.xack(this.key, this.group, ...acks);
        this.counts.acked += acks.length;
      }
    }
  }

  /** This consumer's pending events that are due: left from before a restart, or waiting on a running job. */
  private async retryOwn(conn: RedisClient): Promise<void> {
    let cursor = '0';
    for (;;) {
      const reply = await conn.call('XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', this.opts.batchSize, 'STREAMS', this.key, cursor);
      const entries = readReplyEntries(reply);
      if (entries.length === 0) break;
      for (const entry of entries) {
        if (this.stopping) return;
        if ((this.retryAt.get(entry[0]) ?? 0) <= Date.now()) await this.handle(conn, entry);
      }
      cursor = entries[entries.length - 1]?.[0] ?? cursor;
    }
  }

  /** Events another consumer — presumed dead — has left unacknowledged for `idle` ms. */
  private async claimIdle(conn: RedisClient, idle: number): Promise<void> {
    let start = '0-0';
    do {
      const reply = (await conn.call('XAUTOCLAIM', this.key, this.group, this.consumer, idle, start, 'COUNT', this.opts.batchSize)) as unknown[];
      start = String(reply[0] ?? '0-0');
      const claimed = entriesOf(reply[1]);
      if (claimed.length > 0) log.info(`dependency tracker ${this.consumer}: claimed ${claimed.length} events left pending by a stopped tracker`);
      for (const entry of claimed) {
        if (this.stopping) return;
        await this.handle(conn, entry);
      }
    } while (start !== '0-0');
  }

  /** Handles one event; acknowledges it when done — at once, or by adding its id to `acks` for the caller to. */
  private async handle(conn: RedisClient, [id, fields]: StreamEntry, acks?: string[]): Promise<void> {
    if (fields === null) {
      // Trimmed by the stream cap before anyone handled it: nothing left to act on.
      log.warn(`dependency tracker: event ${id} was trimmed from the stream before it was handled`);
      await conn.xack(this.key, this.group, id);
      return;
    }
    let done: boolean;
    try {
      const event = parseEventFields(fields);
      // The downstream jobs it queues continue the committed slice's trace (src/telemetry).
      done = (await withTraceparent(event.traceparent, () => handleEvent(this.ctx, event, id, this.backfills, this.timing))) === 'done';
    } catch (err) {
      log.warn(`dependency tracker: event ${id} not handled yet: ${toError(err).message}`);
      done = false;
    }
    if (done) {
      this.retryAt.delete(id);
      if (acks) acks.push(id);
      else {
        await conn.xack(this.key, this.group, id);
        this.counts.acked += 1;
      }
    } else {
      this.retryAt.set(id, Date.now() + this.opts.retryMs);
      this.counts.retried += 1;
    }
  }

  private async forgetIdleConsumers(conn: RedisClient): Promise<void> {
    const consumers = (await conn.xinfo('CONSUMERS', this.key, this.group)) as unknown[];
    for (const row of consumers) {
      const info = infoRecord(row);
      if (Number(info.pending) === 0 && Number(info.idle) > FORGET_CONSUMER_MS && info.name !== this.consumer) {
        await conn.xgroup('DELCONSUMER', this.key, this.group, String(info.name));
      }
    }
  }

  /**
   * For a process stopping while Redis does not answer: drops the tracker's connection, so its
   * loop's read fails at once and the loop (and a close waiting on it) ends.
   */
  letGo(): void {
    this.stopping = true;
    this.reads?.drop();
  }

  /** Stops after the event in hand; unacknowledged events stay pending for the next tracker. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // An event in hand is still handled and acknowledged; a read cut short leaves what it took pending.
    if (this.loop) await this.reads?.closeAfter(this.loop, this.ctx.redis);
    else await this.reads?.close();
  }
}

/** Starts a tracker; the caller closes it (runtime.close does for the one it starts). */
export async function startDependencyTracker(ctx: PipelineContext, options: TrackerOptions = {}): Promise<DependencyTracker> {
  const tracker = new DependencyTracker(ctx, options);
  await tracker.start();
  return tracker;
}
