/**
 * Redis as BullMQ needs it: reachable, new enough, `maxmemory-policy noeviction` (an evicted
 * job or lock key is lost work: BullMQ warns "IMPORTANT! Eviction policy is … It should be
 * noeviction"; docs.bullmq.io/guide/going-to-production#max-memory-policy) and persistent (an
 * AOF survives a restart with at most a second of writes lost; RDB snapshots lose minutes —
 * redis.io/docs/latest/operate/oss_and_stack/management/persistence).
 */
import { RedisConnection } from 'bullmq';
import { redact } from '../redact.ts';
import { connectRedis } from '../redis/connect.ts';
import { type Check, fail, messageOf, ok, warn } from './check.ts';

/** `key:value` lines of an INFO section. */
export function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** The server's URL without a password, for the report. */
const shown = redact;

export async function redisChecks(url: string, timeoutMs = 3000): Promise<Check[]> {
  const client = connectRedis(
    { redisUrl: url },
    {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    },
  );
  client.on('error', () => undefined);
  try {
    try {
      await client.connect();
      await client.ping();
    } catch (err) {
      return [
        fail(
          'redis',
          `no answer at ${shown(url)} (${messageOf(err)})`,
          'start Redis (`docker compose up -d redis`) or point REDIS_URL at a running server',
          true,
        ),
      ];
    }
    const server = infoFields(await client.info('server'));
    const memory = infoFields(await client.info('memory'));
    const persistence = infoFields(await client.info('persistence'));
    const version = server.get('redis_version') ?? '?';
    const checks: Check[] = [];
    const minimum = RedisConnection.minimumVersion;
    checks.push(
      versionAtLeast(version, minimum)
        ? ok('redis', `reachable at ${shown(url)}, version ${version}`)
        : fail('redis', `version ${version} at ${shown(url)}; BullMQ needs ${minimum} or newer`, `upgrade Redis to ${minimum}+`, true),
    );
    // INFO memory reports the policy even where CONFIG is disabled (managed Redis).
    const policy = memory.get('maxmemory_policy') ?? 'unknown';
    checks.push(
      policy === 'noeviction'
        ? ok('redis maxmemory-policy', 'noeviction')
        : fail(
            'redis maxmemory-policy',
            `${policy}: under memory pressure Redis evicts keys, and BullMQ loses jobs and locks`,
            'CONFIG SET maxmemory-policy noeviction (and in redis.conf; Memorystore: the maxmemory-policy setting)',
          ),
    );
    const aof = persistence.get('aof_enabled') === '1';
    checks.push(
      aof
        ? ok('redis persistence', 'AOF on')
        : warn(
            'redis persistence',
            'AOF off: a Redis restart loses the queues’ writes since the last RDB snapshot (if any)',
            'CONFIG SET appendonly yes (and appendonly yes in redis.conf)',
          ),
    );
    return checks;
  } catch (err) {
    return [fail('redis', `INFO failed at ${shown(url)}: ${messageOf(err)}`, 'check REDIS_URL and the server’s ACL (phasegate needs INFO)', true)];
  } finally {
    client.disconnect();
  }
}
