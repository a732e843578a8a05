/**
 * Redis on a fresh machine: use REDIS_URL when it answers; otherwise, when the URL was not
 * set explicitly, start `redis-server` from PATH on a free loopback port with a temporary
 * directory (stopped on exit); otherwise fail with one line saying how to get one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors/config-error.ts';
import { redact } from '../redact.ts';
import { connectRedis } from './connect.ts';

export interface RedisHandle {
  url: string;
  /** True when phasegate started this server itself. */
  embedded: boolean;
  stop(): Promise<void>;
}

export const HOW_TO_GET_REDIS =
  'install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) or run `docker compose up -d redis`, or point REDIS_URL at a running server';

/** What a Redis URL answered: PONG, a refusal of its credentials, or nothing usable. */
export type RedisProbe = { answer: 'pong' } | { answer: 'auth-refused' | 'none'; reason: string };

// Redis's replies to bad credentials: AUTH/HELLO with a wrong password (WRONGPASS, or
// "invalid password" before Redis 6) and a command sent without one where it is required (NOAUTH).
const AUTH_REFUSED = /\b(WRONGPASS|NOAUTH)\b|invalid password|invalid username-password/i;

export async function probeRedis(url: string, timeoutMs = 1500): Promise<RedisProbe> {
  const client = connectRedis({ redisUrl: url }, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // ioredis reports a refused AUTH as an 'error' event; connect() then only says "Connection is closed".
  const seen: string[] = [];
  client.on('error', (err: Error) => seen.push(err.message));
  try {
    await client.connect();
    if ((await client.ping()) === 'PONG') return { answer: 'pong' };
    return { answer: 'none', reason: 'PING did not answer PONG' };
  } catch (err) {
    const texts = [...seen, (err as Error).message];
    const refused = texts.find((t) => AUTH_REFUSED.test(t));
    if (refused) return { answer: 'auth-refused', reason: refused };
    return { answer: 'none', reason: texts[0] ?? 'no answer' };
  } finally {
    client.disconnect();
  }
}

export async function pingRedis(url: string, timeoutMs = 1500): Promise<boolean> {
  return (await probeRedis(url, timeoutMs)).answer === 'pong';
}

/** A loopback port nothing listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function hasRedisServer(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    p.once('error', () => resolve(false));
    p.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * The distribution's `redis-server` on 127.0.0.1:`port`, its files in `dir`, with no RDB
 * snapshots and no eviction (a queue must never lose a key to memory pressure); `args` add the
 * caller's own (persistence, cluster mode).
 */
export function spawnLocalRedisServer(port: number, dir: string, args: readonly string[]): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--maxmemory-policy', 'noeviction', ...args], {
    stdio: 'ignore',
  });
}

/**
 * Starts a redis-server. `appendfsync: 'always'` makes every acknowledged write durable in the
 * AOF before the reply, so a crash-and-restart run loses nothing a client was told succeeded.
 */
export async function startRedisServer(
  opts: { port?: number; dir?: string; appendonly?: boolean; appendfsync?: 'always' | 'everysec' | 'no' } = {},
): Promise<RedisHandle & { port: number; process: ChildProcess }> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), 'phasegate-redis-')));
  const child = spawnLocalRedisServer(port, dir, ['--appendonly', opts.appendonly ? 'yes' : 'no', '--appendfsync', opts.appendfsync ?? 'everysec']);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (await pingRedis(url, 200)) {
      return {
        url,
        port,
        process: child,
        embedded: true,
        stop: async () => {
          if (child.exitCode === null) {
            child.kill('SIGTERM');
            await new Promise((r) => child.once('exit', r));
          }
          if (!opts.dir) await rm(dir, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new ConfigError(`REDIS_URL: could not start redis-server on port ${port}`);
}

/**
 * A Redis Cluster that answers on at least one seed node, or a ConfigError in one line: a
 * cluster client left to itself retries unreachable seeds for ever, in silence. phasegate never
 * starts a cluster; REDIS_URL lends each node its credentials.
 */
export async function ensureCluster(url: string, seeds: readonly { host: string; port: number }[]): Promise<RedisHandle> {
  const reasons: string[] = [];
  for (const seed of seeds) {
    const node = new URL(url);
    node.hostname = seed.host;
    node.port = String(seed.port);
    const probe = await probeRedis(node.toString());
    if (probe.answer === 'pong') return { url, embedded: false, stop: async () => undefined };
    if (probe.answer === 'auth-refused')
      throw new ConfigError(
        `PHASEGATE_REDIS_CLUSTER: the node ${seed.host}:${seed.port} refused the credentials (${redact(firstWords(probe.reason))}); check the user and password in REDIS_URL`,
      );
    reasons.push(`${seed.host}:${seed.port} (${redact(firstWords(probe.reason))})`);
  }
  throw new ConfigError(`PHASEGATE_REDIS_CLUSTER: no seed node answers: ${reasons.join(', ')}`);
}

/**
 * A Redis that answers, or a ConfigError. Every message shows the URL through `redact`, so
 * the password in REDIS_URL is never repeated. A server that refused the credentials did
 * answer: that is said as such, and no embedded server is started in its place.
 */
export async function ensureRedis(url: string, explicit: boolean): Promise<RedisHandle> {
  const probe = await probeRedis(url);
  if (probe.answer === 'pong') return { url, embedded: false, stop: async () => undefined };
  const shown = redact(url);
  if (probe.answer === 'auth-refused') {
    const reply = redact(firstWords(probe.reason));
    if (new URL(url).password)
      throw new ConfigError(`REDIS_URL: Redis at ${shown} refused the credentials (${reply}); check the user and password in REDIS_URL`);
    throw new ConfigError(`REDIS_URL: Redis at ${shown} requires a password (${reply}); put it in REDIS_URL`);
  }
  if (explicit) throw new ConfigError(`REDIS_URL: no Redis answers at ${shown}; ${HOW_TO_GET_REDIS}`);
  if (!(await hasRedisServer())) throw new ConfigError(`REDIS_URL: no Redis answers at ${shown} and no redis-server is on PATH; ${HOW_TO_GET_REDIS}`);
  return startRedisServer();
}

/** Redis's reply up to its first sentence: NOAUTH's goes on about HELLO for three lines' worth. */
function firstWords(reason: string): string {
  const cut = reason.search(/[.,]/);
  return cut > 0 ? reason.slice(0, cut) : reason;
}
