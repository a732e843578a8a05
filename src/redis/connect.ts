/**
 * Every Redis connection phasegate makes comes from here: a plain `Redis` on REDIS_URL, or,
 * when PHASEGATE_REDIS_CLUSTER names seed nodes, an ioredis `Cluster` that learns the other
 * nodes from them and follows MOVED/ASK redirections and failovers. Both speak the same
 * commands; what differs is where a command lands, which `nodeFor` answers.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { hashSlot } from './hash-slot.ts';

/** A connection to a standalone Redis or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: the config's `redisUrl` and `redisCluster`. */
export interface RedisTarget {
  /** REDIS_URL: the server; on a cluster only its user, password and `rediss:` TLS are used. */
  redisUrl: string;
  /** PHASEGATE_REDIS_CLUSTER's seed nodes; absent: a standalone Redis. */
  redisCluster?: readonly { host: string; port: number }[] | undefined;
}

// A failover moves a dead master's slots to its replica within the cluster's node timeout
// (redis.conf `cluster-node-timeout`, 15 s by default): commands to those slots wait and retry
// meanwhile rather than fail, 200 ms apart, up to 100 redirections (~20 s). A client that is
// idle then — a worker blocked waiting for jobs — meets no MOVED to tell it the slots moved:
// without re-reading the slot table (every 2 s) its blocked reads stayed with the dead master,
// and the worker neither took another job nor closed.
//
// No ready check (`CLUSTER INFO` before `ready`): a cluster client that reconnects while a
// failover is under way finds `cluster_state:fail`, and ioredis then reconnects on its own but
// never settles the promise the first `connect()` returned. BullMQ resets a worker's blocking
// connection with exactly that call when a blocked read outlives its timeout, as every read
// waiting on the dead master does: the worker awaited it for ever and took no job again, though
// its connection was back (test/redis-cluster.test.ts kills a master mid-run). Without the check
// the client is ready once it has the slot table; a command that meets CLUSTERDOWN meanwhile
// is retried (`retryDelayOnClusterDown`).
const CLUSTER_OPTIONS: Pick<
  ClusterOptions,
  'retryDelayOnFailover' | 'retryDelayOnClusterDown' | 'retryDelayOnTryAgain' | 'maxRedirections' | 'slotsRefreshInterval' | 'enableReadyCheck'
> = {
  enableReadyCheck: false,
  slotsRefreshInterval: 2000,
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 200,
  retryDelayOnTryAgain: 200,
  maxRedirections: 100,
};

/** The credentials and TLS of a URL, as ioredis options for each node of a cluster. */
function credentialsOf(url: string): RedisOptions {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * A new connection. `options` are ioredis's per-connection options (on a cluster, those of
 * each node's connection; `retryStrategy`, `lazyConnect` and `enableOfflineQueue` apply to the
 * cluster as a whole).
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  if (!target.redisCluster) return new Redis(target.redisUrl, options);
  const { retryStrategy, lazyConnect, enableOfflineQueue, ...perNode } = options;
  return endingSlotRefresh(
    new Cluster(
      target.redisCluster.map((n) => ({ host: n.host, port: n.port })),
      {
        ...CLUSTER_OPTIONS,
        redisOptions: { ...perNode, ...credentialsOf(target.redisUrl) },
        ...(retryStrategy !== undefined ? { clusterRetryStrategy: retryStrategy } : {}),
        ...(lazyConnect !== undefined ? { lazyConnect } : {}),
        ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
      },
    ),
  );
}

/** A cluster client's states once it is being closed, or closed. */
const CLOSING = new Set(['disconnecting', 'close', 'end']);

/** What `endingSlotRefresh` reaches of ioredis's Cluster beyond its typed API. */
interface SlotRefreshing {
  status: string;
  refreshSlotsCache(callback?: (err?: Error | null) => void): void;
  /** Private in ioredis's types: stops the periodic refresh (what `disconnect` and `quit` call). */
  clearNodesRefreshInterval(): void;
  /** Private in ioredis's types: starts the periodic refresh (on `ready`). */
  resetNodesRefreshInterval(): void;
  duplicate(...args: unknown[]): Cluster;
}

/** The duplicates made of each cluster client (BullMQ's blocking connections among them). */
const duplicatesOf = new WeakMap<Cluster, Set<Cluster>>();
/** Cluster clients `closeClient` let go of, with everything duplicated from them: they stay closed. */
const letGo = new WeakSet<Cluster>();

/**
 * ioredis 6.0.0 re-reads the slot table every `slotsRefreshInterval` by a timer that each round
 * sets again when its refresh ends (`resetNodesRefreshInterval`). `disconnect` and `quit` clear
 * the timer, but a refresh in flight at that moment still ends — "Cluster is disconnected" —
 * and its round sets the timer again; on a closed client every later round fails at once and
 * sets it again, every 2 s for ever. A closed runtime's process then never exits (a CLI
 * command, a worker stopped by SIGTERM; the test run, held open after its last test). So the
 * round that ends on a closing client is stopped right after it sets its timer; a client that
 * reconnects starts the refresh again itself (on `ready`). Duplicates get the same: BullMQ
 * duplicates a worker's connection for its blocking reads.
 */
function endingSlotRefresh(cluster: Cluster): Cluster {
  const c = cluster as unknown as SlotRefreshing;
  const refresh = c.refreshSlotsCache.bind(cluster);
  c.refreshSlotsCache = (callback) =>
    refresh(
      callback &&
        ((err) => {
          callback(err);
          if (CLOSING.has(c.status) || letGo.has(cluster)) c.clearNodesRefreshInterval();
        }),
    );
  const arm = c.resetNodesRefreshInterval.bind(cluster);
  c.resetNodesRefreshInterval = () => {
    if (!letGo.has(cluster)) arm();
  };
  // A client let go of that connects again anyway (a reconnect started before the close and
  // left running: BullMQ's recovery of a blocking cluster client does that) is closed again.
  cluster.on('ready', () => {
    if (letGo.has(cluster)) cluster.disconnect();
  });
  const duplicate = c.duplicate.bind(cluster);
  c.duplicate = (...args) => {
    const made = endingSlotRefresh(duplicate(...args));
    let family = duplicatesOf.get(cluster);
    if (!family) {
      family = new Set();
      duplicatesOf.set(cluster, family);
    }
    family.add(made);
    return made;
  };
  return cluster;
}

/**
 * Lets go of a cluster client and of every client duplicated from it, and from those: each
 * one still open is disconnected, and none of them arms its slot refresh again. At a runtime's
 * close every consumer has closed its own duplicates; one still open is a leak that re-reads the
 * slot table every 2 s for as long as the process lives. A CI run was held open after its last
 * test by such a refresh, in the run where a worker stuck after a failover was replaced and
 * force-closed (its blocking client was reconnecting: the likeliest owner, not proven). The
 * duplicates stay listed until their parent is let go of: a handful per process (a worker's
 * blocking connection each, and each replacement's).
 */
function letGoOfCluster(cluster: Cluster): void {
  letGo.add(cluster);
  for (const d of duplicatesOf.get(cluster) ?? []) {
    letGoOfCluster(d);
    if (d.status !== 'end') d.disconnect();
  }
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * The connection that serves `key`: the client itself on a standalone Redis; on a cluster,
 * the client's own connection to the master holding the key's slot (for a command that is not
 * routed by key, such as CLIENT ID or CLIENT UNBLOCK of a read blocked on that key). Undefined
 * while the cluster client does not know the slot's master yet (connecting, mid-failover).
 */
export function nodeFor(client: RedisClient, key: string): Redis | undefined {
  if (!isCluster(client)) return client;
  const master = client.slots[hashSlot(key)]?.[0];
  if (master === undefined) return undefined;
  return client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master);
}

/** Another connection like `client` (same server or cluster, same options), e.g. for a blocking read. */
export function duplicateClient(client: RedisClient): RedisClient {
  return isCluster(client) ? client.duplicate() : client.duplicate();
}

/**
 * Closes a client: politely (QUIT, after the replies to what it sent) while Redis answers, at
 * once while it does not. ioredis sends a QUIT given while it reconnects at once only when no
 * other command waits; behind one, the QUIT waits with it for a reconnect that may never come
 * (a runtime closed while Redis was dead waited out its whole shutdown wait so, when a command
 * of its own was still queued).
 */
export async function closeClient(client: RedisClient): Promise<void> {
  if (isCluster(client)) letGoOfCluster(client);
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}
