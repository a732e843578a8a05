/**
 * A local Redis Cluster for tests and bench:cluster: three masters with one replica each, started from the
 * distribution's `redis-server` on free loopback ports (each port and its cluster bus port,
 * +10000) in a temporary folder, joined with `redis-cli --cluster create`, stopped by `stop`.
 * The node timeout is short so that a killed master's replica takes over within seconds.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { spawnLocalRedisServer } from '../../src/redis/ensure-redis.ts';
import { hashSlot } from '../../src/redis/hash-slot.ts';
import { until } from './wait.ts';

const run = promisify(execFile);

export interface ClusterNodeProcess {
  port: number;
  process: ChildProcess;
}

export interface LocalCluster {
  nodes: ClusterNodeProcess[];
  /** `127.0.0.1:p,…`: PHASEGATE_REDIS_CLUSTER's value. */
  seeds: string;
  /** The node serving `key` as master now. */
  masterOf(key: string): Promise<ClusterNodeProcess>;
  /** Waits until every slot is served and the cluster says `cluster_state:ok` on every live node. */
  healthy(timeoutMs?: number): Promise<void>;
  /**
   * Kills a master with SIGKILL once its replicas hold every write it acknowledged: writes are
   * paused (CLIENT PAUSE WRITE), the replicas' offsets reach the master's, then the kill.
   * Redis replicates asynchronously, so a master killed at a random instant can lose its last
   * writes (a job's move, a completion event) on failover; that loss is Redis's, not the
   * pipeline's, and a test of failover should not hinge on it.
   */
  killInSync(node: ClusterNodeProcess): Promise<void>;
  stop(): Promise<void>;
}

/** The master's replication offset and each connected replica's, from `INFO replication`. */
function offsets(text: string): { master: number; replicas: number[] } {
  const master = Number(/master_repl_offset:(\d+)/.exec(text)?.[1] ?? -1);
  const replicas = [...text.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((m) => Number(m[1]));
  return { master, replicas };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `n` ports, each free together with its cluster bus port (+10000). */
async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  let port = 20_000 + Math.floor(Math.random() * 20_000);
  while (out.length < n) {
    port += 1;
    if ((await portFree(port)) && (await portFree(port + 10_000))) out.push(port);
  }
  return out;
}

async function info(port: number, section: string): Promise<string> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return section === 'cluster-info' ? String(await c.cluster('INFO')) : await c.info(section);
  } catch {
    return '';
  } finally {
    c.disconnect();
  }
}

/**
 * A redis-server with cluster mode on, its own folder `dir` (created) and no AOF, not yet part
 * of any cluster; `extra` adds arguments (a node timeout, an announced IP).
 */
export async function spawnClusterNode(port: number, dir: string, extra: readonly string[] = []): Promise<ChildProcess> {
  await mkdir(dir, { recursive: true });
  return spawnLocalRedisServer(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--appendonly', 'no', ...extra]);
}

export async function startLocalCluster(opts: { nodeTimeoutMs?: number } = {}): Promise<LocalCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-cluster-'));
  const ports = await freePorts(6);
  const nodes: ClusterNodeProcess[] = [];
  // A test process that exits without `stop` (a watchdog ending a hung run) leaves no node behind.
  const killAll = () => {
    for (const n of nodes) if (n.process.exitCode === null && n.process.signalCode === null) n.process.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const stop = async () => {
    process.off('exit', killAll);
    killAll();
    await Promise.all(nodes.map((n) => (n.process.exitCode === null && n.process.signalCode === null ? once(n.process, 'exit') : undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const child = await spawnClusterNode(port, path.join(dir, String(port)), ['--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000)]);
      nodes.push({ port, process: child });
    }
    for (const { port } of nodes) await until(async () => (await info(port, 'server')) !== '', `redis-server on ${port}`, 20_000, 50);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], {
      timeout: 60_000,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const live = () => nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);
  const cluster: LocalCluster = {
    nodes,
    seeds: ports.map((p) => `127.0.0.1:${p}`).join(','),
    async masterOf(key) {
      const slot = hashSlot(key);
      for (const n of live()) {
        const c = new Redis({ port: n.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on('error', () => undefined);
        try {
          await c.connect();
          const slots = (await c.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]], ...unknown[]][];
          const range = slots.find(([from, to]) => from <= slot && slot <= to);
          const node = nodes.find((m) => m.port === range?.[2][1]);
          if (node) return node;
        } catch {
          // a node still starting or dying: ask the next
        } finally {
          c.disconnect();
        }
      }
      throw new Error(`no live node knows the master of slot ${slot}`);
    },
    async healthy(timeoutMs = 30_000) {
      await until(
        async () => {
          for (const n of live()) {
            const text = await info(n.port, 'cluster-info');
            if (!text.includes('cluster_state:ok') || !text.includes('cluster_slots_ok:16384')) return false;
            // A replica that never synced with its master cannot take over from it.
            const replication = await info(n.port, 'replication');
            if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
          }
          return true;
        },
        'the cluster to be ok on every node, every replica in sync',
        timeoutMs,
        100,
      );
    },
    async killInSync(node) {
      const c = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      c.on('error', () => undefined);
      try {
        await c.call('CLIENT', 'PAUSE', '30000', 'WRITE');
        await until(
          async () => {
            const { master, replicas } = offsets(await c.info('replication'));
            return replicas.length > 0 && replicas.every((r) => r >= master);
          },
          `the replicas of ${node.port} to hold every write`,
          20_000,
          20,
        );
      } finally {
        c.disconnect();
      }
      node.process.kill('SIGKILL');
      await once(node.process, 'exit');
    },
    stop,
  };
  try {
    await cluster.healthy();
  } catch (err) {
    await stop();
    throw err;
  }
  return cluster;
}
