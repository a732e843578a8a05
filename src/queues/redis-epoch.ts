/**
 * When phasegate first wrote to this Redis (`keys.redisEpoch()`), and what a long-lived
 * process does when a reconnect finds it gone: Redis restarted without its data (no AOF, no
 * RDB), so what phasegate keeps only in Redis — a table gate's caps (BullMQ's global
 * concurrency and rate limit live in the queue's meta hash) — has to be set again, and what
 * Redis counts (statuses, rows committed, DML today) starts from zero.
 */
import type { Redis } from 'ioredis';
import { log } from '../log.ts';
import type { Keys } from './keys.ts';

/** Writes the marker unless there is one; the marker's time either way. */
export async function markRedisEpoch(redis: Redis, keys: Pick<Keys, 'redisEpoch'>, now = new Date()): Promise<string> {
  const set = await redis.set(keys.redisEpoch(), now.toISOString(), 'NX');
  if (set === 'OK') return now.toISOString();
  return (await redis.get(keys.redisEpoch())) ?? now.toISOString();
}

export async function readRedisEpoch(redis: Redis, keys: Pick<Keys, 'redisEpoch'>): Promise<string | undefined> {
  return (await redis.get(keys.redisEpoch())) ?? undefined;
}

/**
 * After every reconnect of `redis`, checks the marker; when it is gone, logs once, runs
 * `restore` (what this process set up in Redis at start) and writes the marker again.
 * Returns a function that stops watching.
 */
export function watchRedisRestarts(redis: Redis, keys: Pick<Keys, 'redisEpoch'>, restore: () => Promise<void>): () => void {
  let running = false;
  const onReady = () => {
    if (running) return;
    running = true;
    void (async () => {
      try {
        if ((await redis.exists(keys.redisEpoch())) === 1) return;
        log.warn(
          "Redis came back without phasegate's data (restarted without persistence?): setting the table gates' caps again; counts shown start again from now",
        );
        await restore();
        await markRedisEpoch(redis, keys);
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
