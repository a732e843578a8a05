/**
 * When phasegate first wrote to this Redis (`keys.redisEpoch()`), and what a long-lived
 * process does when a reconnect finds it gone: Redis restarted without its data (no AOF, no
 * RDB), so what phasegate keeps only in Redis — a table gate's caps (BullMQ's global
 * concurrency and rate limit live in the queue's meta hash) — has to be set again, and what
 * Redis counts (statuses, rows committed, DML today) starts from zero.
 */
import { randomBytes } from 'node:crypto';
import { log } from '../log.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { Keys } from '../redis/keys.ts';

export interface RedisEpoch {
  /** When phasegate first wrote to this Redis (since it last lost its data). */
  since: string;
  /** When a running worker found that Redis had lost phasegate's data, if one did. */
  lostAt?: string | undefined;
}

/**
 * Writes the marker unless there is one (`lostAt`: a worker just found the data gone). A
 * Redis that holds backfills but no marker was written by a phasegate from before the marker:
 * its counts go back to its oldest backfill, so that is when phasegate first wrote to it.
 */
export async function markRedisEpoch(
  redis: RedisClient,
  keys: Pick<Keys, 'redisEpoch' | 'backfills'>,
  opts: { now?: Date; lostAt?: Date } = {},
): Promise<void> {
  if ((await redis.hexists(keys.redisEpoch(), 'since')) === 0) {
    const oldest = Number((await redis.zrange(keys.backfills(), '0', '0', 'WITHSCORES'))[1] ?? Number.NaN);
    const now = (opts.now ?? new Date()).getTime();
    await redis.hsetnx(keys.redisEpoch(), 'since', new Date(Number.isFinite(oldest) ? Math.min(oldest, now) : now).toISOString());
  }
  if (opts.lostAt) await redis.hsetnx(keys.redisEpoch(), 'lostAt', opts.lostAt.toISOString());
}

export async function readRedisEpoch(redis: RedisClient, keys: Pick<Keys, 'redisEpoch'>): Promise<RedisEpoch | undefined> {
  const h = await redis.hgetall(keys.redisEpoch());
  return h.since ? { since: h.since, lostAt: h.lostAt } : undefined;
}

/**
 * What `status` says about its counts (rows committed, DML today, statuses live in Redis):
 * that they restarted when Redis lost its data, or that they may be partial — undefined when
 * nothing suggests either. `oldestBackfillMs`: when the oldest backfill Redis still knows began.
 */
export function countsRestartedLine(epoch: RedisEpoch | undefined, oldestBackfillMs: number | undefined): string | undefined {
  if (epoch?.lostAt)
    return `Redis lost phasegate's data at ${epoch.lostAt} (restarted without persistence): the counts below start from then; the warehouse holds what landed before`;
  if (!epoch && oldestBackfillMs !== undefined)
    return "Redis has no record of when phasegate first wrote to it (it lost its data, or an older phasegate wrote it): the counts below may start later than the warehouse's rows";
  if (epoch && oldestBackfillMs !== undefined && Date.parse(epoch.since) > oldestBackfillMs)
    return `Redis's counts restarted at ${epoch.since}, after the oldest backfill it knows of: the counts below start from then; the warehouse holds what landed before`;
  return undefined;
}

/**
 * After every reconnect of `redis`, checks the marker; when it is gone, logs once, runs
 * `restore` (what this process set up in Redis at start) and writes the marker again.
 * Returns a function that stops watching.
 */
export function watchRedisRestarts(redis: RedisClient, keys: Pick<Keys, 'redisEpoch' | 'backfills'>, restore: () => Promise<void>): () => void {
  let running = false;
  const onReady = () => {
    if (running) return;
    running = true;
    void (async () => {
      try {
        // `since`, not the key: a commit may have put the epoch's id back first (deploymentId).
        if ((await redis.hexists(keys.redisEpoch(), 'since')) === 1) return;
        log.warn(
          "Redis came back without phasegate's data (restarted without persistence?): setting the table gates' caps again; counts shown start again from now",
        );
        const lostAt = new Date();
        await restore();
        await markRedisEpoch(redis, keys, { now: lostAt, lostAt });
      } catch (err) {
        log.warn(`after Redis came back: ${(err as Error).message}`);
      } finally {
        running = false;
      }
    })();
  };
  redis.on('ready', onReady);
  return () => redis.off('ready', onReady);
}

/**
 * This deployment's id: made by the first commit on an empty Redis and kept in the epoch
 * marker, so a Redis that lost its data (commit sequences restart at c0) gets a new one. It
 * goes into every BigQuery job id (commit/worker.ts `statementId`). One round trip.
 */
export async function deploymentId(redis: RedisClient, keys: Pick<Keys, 'redisEpoch'>): Promise<string> {
  const mine = randomBytes(4).toString('hex');
  const replies = await redis.multi().hsetnx(keys.redisEpoch(), 'id', mine).hget(keys.redisEpoch(), 'id').exec();
  return String(replies?.[1]?.[1] ?? mine);
}
