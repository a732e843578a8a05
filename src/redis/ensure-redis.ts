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
import { Redis } from 'ioredis';
import { ConfigError } from '../errors/config-error.ts';

export interface RedisHandle {
  url: string;
  /** True when phasegate started this server itself. */
  embedded: boolean;
  stop(): Promise<void>;
}

export const HOW_TO_GET_REDIS =
  'install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) or run `docker compose up -d redis`, or point REDIS_URL at a running server';

export async function pingRedis(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function freePort(): Promise<number> {
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
 * Starts a redis-server. `appendfsync: 'always'` makes every acknowledged write durable in the
 * AOF before the reply, so a crash-and-restart run loses nothing a client was told succeeded.
 */
export async function startRedisServer(
  opts: { port?: number; dir?: string; appendonly?: boolean; appendfsync?: 'always' | 'everysec' | 'no' } = {},
): Promise<RedisHandle & { port: number; process: ChildProcess }> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), 'phasegate-redis-')));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      opts.appendonly ? 'yes' : 'no',
      '--appendfsync',
      opts.appendfsync ?? 'everysec',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
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

export async function ensureRedis(url: string, explicit: boolean): Promise<RedisHandle> {
  if (await pingRedis(url)) return { url, embedded: false, stop: async () => undefined };
  if (explicit) throw new ConfigError(`REDIS_URL: no Redis answers at ${url}; ${HOW_TO_GET_REDIS}`);
  if (!(await hasRedisServer())) throw new ConfigError(`REDIS_URL: no Redis answers at ${url} and no redis-server is on PATH; ${HOW_TO_GET_REDIS}`);
  return startRedisServer();
}
