/**
 * A consumer's own connection for its blocking reads (the dependency tracker's XREADGROUP …
 * BLOCK, the read relay's BLPOP, the Pub/Sub relay's XREADGROUP), and a watchdog on each read.
 *
 * Why the watchdog: these connections run with `maxRetriesPerRequest: null`, and then ioredis
 * re-queues a blocking command whose connection was reset and sends it again on reconnect
 * instead of failing it; such a command can then never settle (BullMQ met it in its own
 * blocking reads and races them against a timer since: taskforcesh/bullmq#4479, fixed by #4484).
 * On a Redis Cluster whose master died with the dependency tracker blocked on it, the tracker's
 * read never returned: the raw tables' events were never handled and the cascade stopped at
 * phase 2 with every status `pending` (test/redis-cluster.test.ts, "workers idle when their
 * master dies", failed so once in CI). A read that has not answered by its block time plus a
 * margin is given up on: the connection is dropped with the read on it, a new one takes its
 * place, and the read counts as a timeout. Nothing a read took is lost by that — a stream read
 * leaves its entries pending for the consumer, who reads them again; a popped relay request
 * is lost with it, and its asker gives up at its own deadline, as when a reply is late.
 */
import { log } from '../log.ts';
import { closeClient, duplicateClient, type RedisClient } from './connect.ts';
import { quietConnectionErrors } from './repeated-errors.ts';
import { type BlockedRead, followConnectionId, unblockUntilEnded } from './unblock.ts';

/** How much longer than its block a read may take before it is given up on. */
export const READ_WATCHDOG_MARGIN_MS = 3000;

/**
 * How long a stopping consumer sends CLIENT UNBLOCK before it cuts its read by dropping the
 * connection (`closeAfter`). Without the cut a close after a failover waited for the read's
 * block (5 s for the read relay) or the watchdog (8 s).
 */
export const UNBLOCK_GRACE_MS = 1000;

export class BlockingConnection {
  private conn: RedisClient;
  private id: number | undefined;
  private replaced = 0;
  /** Reads sent and not yet answered (or given up on). */
  private inFlight = 0;
  /** When the first connection's id is known; rejects when Redis does not tell it. */
  private readonly first: Promise<number>;
  /** Rejects when the process lets go of the source's Redis (`letGoOfBlockingReads`). */
  private readonly letGo: Promise<never>;
  private failOpen: (err: Error) => void = () => undefined;

  private constructor(
    private readonly source: RedisClient,
    /** The key the reads block on: on a cluster it names the master whose connection blocks. */
    private readonly key: string,
    private readonly what: string,
    private readonly marginMs: number,
  ) {
    const { conn, followed } = this.connect();
    this.conn = conn;
    this.first = followed;
    this.letGo = new Promise<never>((_, reject) => {
      this.failOpen = reject;
    });
    this.letGo.catch(() => undefined);
    let made = madeFrom.get(source);
    if (!made) {
      made = new Set();
      madeFrom.set(source, made);
    }
    made.add(this);
  }

  /**
   * A new connection like `source`, for reads blocking on `key`; `what` names it in its errors.
   * Fails, leaving nothing open, when Redis does not tell the connection's id.
   *
   * `letGoOfBlockingReads(source)` drops it, and fails an `open` still waiting for its id: a
   * process that lets go of a Redis that does not answer (runtime.ts `close`) disconnects its
   * connections, and a consumer still starting then — its first command waits for Redis as
   * long as it is dead — would otherwise keep its own connection reconnecting for ever.
   * (ioredis emits no `end` for a client disconnected while it reconnects, so the source's own
   * events cannot tell.)
   */
  static async open(source: RedisClient, key: string, what: string, opts: { marginMs?: number } = {}): Promise<BlockingConnection> {
    const c = new BlockingConnection(source, key, what, opts.marginMs ?? READ_WATCHDOG_MARGIN_MS);
    try {
      // Its id is set as it arrives (connect's follower); here only its failure matters.
      await Promise.race([c.first, c.letGo]);
    } catch (err) {
      c.drop();
      throw err;
    }
    return c;
  }

  /** A new connection like the source, its errors logged once, its id followed while it is the current one. */
  private connect(): { conn: RedisClient; followed: Promise<number> } {
    const conn = quietConnectionErrors(duplicateClient(this.source), this.what);
    // A reconnect (a Redis restart, a failover) gives it another id, which close() unblocks.
    const followed = followConnectionId(conn, this.key, (id) => {
      if (this.conn === conn) this.id = id;
    });
    return { conn, followed };
  }

  /** The connection now: for the consumer's other commands (XACK, XAUTOCLAIM …), which do not block. */
  get client(): RedisClient {
    return this.conn;
  }

  /** How many times a read was given up on and the connection replaced. */
  get replacements(): number {
    return this.replaced;
  }

  /** The read blocked now, for `unblockUntilEnded`: the connection's id on its server, and the key. */
  blocked(): BlockedRead | undefined {
    return this.id === undefined ? undefined : { id: this.id, key: this.key };
  }

  /**
   * Runs `send`, a read that blocks at most `blockMs` on the server; its reply, or null when it
   * has not answered `blockMs` plus the margin later (the connection is replaced then). A read
   * that fails rejects as it did.
   */
  async read<T>(blockMs: number, send: (conn: RedisClient) => Promise<T>): Promise<T | null> {
    this.inFlight += 1;
    try {
      return await this.readOnce(blockMs, send);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Whether a read is waiting for its answer now: a consumer stopping may cut it (`drop`), not the work after it. */
  get reading(): boolean {
    return this.inFlight > 0;
  }

  private async readOnce<T>(blockMs: number, send: (conn: RedisClient) => Promise<T>): Promise<T | null> {
    const conn = this.conn;
    const reply = send(conn);
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<typeof OVERDUE>((resolve) => {
      timer = setTimeout(() => resolve(OVERDUE), blockMs + this.marginMs);
    });
    try {
      const result = await Promise.race([reply, overdue]);
      if (result !== OVERDUE) return result;
    } finally {
      clearTimeout(timer);
    }
    // The abandoned read may settle later, or never: either way nobody waits on it.
    reply.catch(() => undefined);
    if (this.conn === conn) {
      log.warn(
        `${this.what}: a read blocking ${blockMs} ms had no answer ${blockMs + this.marginMs} ms after it was sent: dropped it with its connection, reading again on a new one`,
      );
      this.replaced += 1;
      this.id = undefined;
      const next = this.connect();
      // Its id comes when Redis answers; until then close() waits for the read's own block.
      next.followed.catch(() => undefined);
      this.conn = next.conn;
      conn.disconnect();
    }
    return null;
  }

  /** Closes the connection, politely (QUIT) when Redis answers. */
  async close(): Promise<void> {
    madeFrom.get(this.source)?.delete(this);
    await closeClient(this.conn);
  }

  /** `letGoOfBlockingReads`' part: fails a pending `open`, drops the connection. */
  letGoOf(): void {
    this.failOpen(new Error(`${this.what}: let go of before Redis answered`));
    this.drop();
  }

  /**
   * Ends a consumer's `loop` that reads on this connection (its stopping flag already set), then
   * closes the connection. CLIENT UNBLOCK, sent through `via`, wakes a blocked read within a
   * round trip; after a failover it may reach no read at all (the id is asked again only once the
   * client has the new slot table, and ioredis may hold the read to send it later), so past
   * UNBLOCK_GRACE_MS a read still in flight is cut by dropping the connection — never the work
   * the loop does with what it read.
   */
  async closeAfter(loop: Promise<unknown>, via: RedisClient): Promise<void> {
    const ended = await unblockUntilEnded(via, () => this.blocked(), loop, { deadlineMs: Date.now() + UNBLOCK_GRACE_MS });
    if (!ended && this.reading) this.drop();
    await loop;
    await this.close();
  }

  /** Drops the connection at once: a read on it fails now (for a process stopping while Redis is silent). */
  drop(): void {
    madeFrom.get(this.source)?.delete(this);
    this.conn.disconnect();
  }
}

const OVERDUE = Symbol('overdue');

/** The blocking connections made from each source and not closed yet. */
const madeFrom = new WeakMap<RedisClient, Set<BlockingConnection>>();

/**
 * Drops every blocking connection made from `source` and fails every `open` of one still
 * waiting for Redis: for a process letting go of a Redis that does not answer.
 */
export function letGoOfBlockingReads(source: RedisClient): void {
  for (const c of [...(madeFrom.get(source) ?? [])]) c.letGoOf();
}
