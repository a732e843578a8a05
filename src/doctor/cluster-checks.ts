/**
 * A Redis Cluster as phasegate needs it: `cluster_state:ok` with all 16384 slots served (a
 * slot without a master fails every command on its keys with CLUSTERDOWN), a prefix that is a
 * hash tag (BullMQ's scripts and phasegate's MULTIs span several keys, which must share one
 * slot: docs.bullmq.io/patterns/redis-cluster), and every master as a standalone Redis must
 * be: new enough, `noeviction`, AOF on (see redis-checks.ts).
 */
import { RedisConnection } from 'bullmq';
import { connectRedis, isCluster, type RedisTarget } from '../redis/connect.ts';
import { CLUSTER_SLOTS, hashSlot, hashTagOf } from '../redis/hash-slot.ts';
import { type Check, fail, messageOf, ok, warn } from './check.ts';
import { infoFields, versionAtLeast } from './redis-checks.ts';

export async function clusterChecks(target: RedisTarget & { prefix: string }, timeoutMs = 3000): Promise<Check[]> {
  const seeds = (target.redisCluster ?? []).map((n) => `${n.host}:${n.port}`).join(',');
  const client = connectRedis(target, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  if (!isCluster(client)) return [];
  try {
    try {
      await client.connect();
    } catch (err) {
      return [
        fail('redis cluster', `no answer from the seed nodes ${seeds} (${messageOf(err)})`, 'check PHASEGATE_REDIS_CLUSTER and that the nodes run', true),
      ];
    }
    const checks: Check[] = [];
    const state = infoFields(String(await client.cluster('INFO')));
    const served = Number(state.get('cluster_slots_ok') ?? 0);
    const masters = client.nodes('master');
    checks.push(
      state.get('cluster_state') === 'ok' && served === CLUSTER_SLOTS
        ? ok('redis cluster', `cluster_state ok, all ${CLUSTER_SLOTS} slots served by ${masters.length} masters (seeds ${seeds})`)
        : fail(
            'redis cluster',
            `cluster_state ${state.get('cluster_state') ?? '?'}, ${served} of ${CLUSTER_SLOTS} slots served: commands on the other slots fail with CLUSTERDOWN`,
            'give every slot a master (redis-cli --cluster check / fix), or wait for a failover to finish',
            true,
          ),
    );
    const tag = hashTagOf(target.prefix);
    checks.push(
      tag !== undefined
        ? ok('redis cluster prefix', `${target.prefix}: every key of the pipeline hashes to slot ${hashSlot(target.prefix)}`)
        : fail(
            'redis cluster prefix',
            `${target.prefix} has no hash tag: a queue's keys fall in different slots and its scripts fail with CROSSSLOT`,
            `set PHASEGATE_PREFIX={${target.prefix}}`,
            true,
          ),
    );
    const below: string[] = [];
    const evicting: string[] = [];
    const noAof: string[] = [];
    const versions = new Set<string>();
    const minimum = RedisConnection.minimumVersion;
    for (const node of masters) {
      const name = `${node.options.host}:${node.options.port}`;
      const server = infoFields(await node.info('server'));
      const memory = infoFields(await node.info('memory'));
      const persistence = infoFields(await node.info('persistence'));
      const version = server.get('redis_version') ?? '?';
      versions.add(version);
      if (!versionAtLeast(version, minimum)) below.push(`${name} (${version})`);
      const policy = memory.get('maxmemory_policy') ?? 'unknown';
      if (policy !== 'noeviction') evicting.push(`${name} (${policy})`);
      if (persistence.get('aof_enabled') !== '1') noAof.push(name);
    }
    checks.push(
      below.length === 0
        ? ok('redis cluster version', `${[...versions].join(', ')} on every master`)
        : fail('redis cluster version', `BullMQ needs ${minimum} or newer: ${below.join(', ')}`, `upgrade Redis to ${minimum}+`, true),
    );
    checks.push(
      evicting.length === 0
        ? ok('redis cluster maxmemory-policy', 'noeviction on every master')
        : fail(
            'redis cluster maxmemory-policy',
            `${evicting.join(', ')}: under memory pressure Redis evicts keys, and BullMQ loses jobs and locks`,
            'set maxmemory-policy noeviction on every node (ElastiCache/Memorystore: the parameter group / the setting)',
          ),
    );
    checks.push(
      noAof.length === 0
        ? ok('redis cluster persistence', 'AOF on every master')
        : warn(
            'redis cluster persistence',
            `AOF off on ${noAof.join(', ')}: a node that restarts with no replica to take over loses the writes since its last snapshot`,
            'appendonly yes on every node',
          ),
    );
    return checks;
  } catch (err) {
    return [fail('redis cluster', `INFO failed on ${seeds}: ${messageOf(err)}`, 'check the nodes and their ACL (phasegate needs INFO and CLUSTER INFO)', true)];
  } finally {
    client.disconnect();
  }
}
