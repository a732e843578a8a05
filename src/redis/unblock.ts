/**
 * Stopping a consumer whose loop blocks in a read on its own connection (XREADGROUP … BLOCK,
 * BLPOP):
 * CLIENT UNBLOCK wakes a blocked read at once; it is repeated, because the loop may be between
 * reads when it arrives.
 *
 * A connection id is a server's: on a Redis Cluster the blocked read sits on the cluster
 * client's connection to the master holding the key's slot, so CLIENT ID is asked there and
 * CLIENT UNBLOCK sent to that master — sent to any other node it names another connection, or
 * none, and the loop only ends when its block times out.
 */
import { isCluster, nodeFor, type RedisClient } from './connect.ts';

/** A blocked read: the connection's id on its server, and the key it blocks on (which server). */
export interface BlockedRead {
  id: number;
  key: string;
}

/** The id, on its server, of `conn`'s connection that serves `key`. */
export async function connectionIdFor(conn: RedisClient, key: string): Promise<number> {
  if (isCluster(conn) && conn.status !== 'ready') await new Promise((resolve) => conn.once('ready', resolve));
  const node = nodeFor(conn, key);
  if (!node) throw new Error(`no master known for the slot of ${key}`);
  return Number(await node.client('ID'));
}

/**
 * Reads the id of `conn`'s connection serving `key` now, and again whenever it may have
 * changed — a reconnect (Redis restarted) or, on a cluster, a new slot table (a failover moved
 * the key to another master) — passing each to `set`. Resolves with the first.
 */
export async function followConnectionId(conn: RedisClient, key: string, set: (id: number) => void): Promise<number> {
  const reread = () => {
    connectionIdFor(conn, key).then(set, () => undefined);
  };
  conn.on('ready', reread);
  if (isCluster(conn)) conn.on('refresh', reread);
  const id = await connectionIdFor(conn, key);
  set(id);
  return id;
}

/**
 * Unblocks the read `blocked` (through `redis`, another connection) until `loop` ends or the
 * deadline passes; `nudge` runs each round too (a loop that also waits on something else).
 * Returns whether the loop ended.
 */
export async function unblockUntilEnded(
  redis: RedisClient,
  blocked: () => BlockedRead | undefined,
  loop: Promise<unknown>,
  opts: { deadlineMs?: number; nudge?: () => void } = {},
): Promise<boolean> {
  let ended = false;
  void loop.finally(() => {
    ended = true;
  });
  const deadline = opts.deadlineMs ?? Number.POSITIVE_INFINITY;
  while (!ended && Date.now() < deadline) {
    const read = blocked();
    const node = read && nodeFor(redis, read.key);
    if (read && node) await node.client('UNBLOCK', read.id).catch(() => undefined);
    opts.nudge?.();
    await Promise.race([loop, new Promise((r) => setTimeout(r, 50))]);
  }
  return ended;
}
