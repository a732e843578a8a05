/**
 * A table's reaction to being busy. "Too many DML statements outstanding" means BigQuery's
 * queue of mutating DML for the table (limits.ts) is full — other writers are using it — so the
 * table's gate drops to one commit at a time (BullMQ global concurrency, shared by every
 * process) and comes back to its configured concurrency after a run of successes. The busy
 * streak (consecutive busy failures since the last success) sets how long the next wait is.
 * State in Redis, so a restarted worker keeps the lowered concurrency.
 */
import { scaledMs, tableLimits } from '../../config/load-config.ts';
import type { BusyCause } from '../../errors/classify.ts';
import { log } from '../../log.ts';
import { warehouseCaps } from '../../warehouse/index.ts';

import type { PipelineContext } from '../context.ts';

type Ctx = Pick<PipelineContext, 'config' | 'redis' | 'keys' | 'queues'>;

export interface ThrottleView {
  table: string;
  /** Whether the table commits one at a time because its DML queue was full. */
  lowered: boolean;
  since?: string | undefined;
  /** Successes in a row since it was lowered. */
  successes: number;
  /** Busy failures in a row since the last success. */
  busyStreak: number;
}

/** The table's configured commit concurrency, within the warehouse's running mutating DML per table (its caps). */
function configured(ctx: Ctx, table: string): number {
  return Math.min(warehouseCaps(ctx.config).runningDmlPerTable, tableLimits(ctx.config, table).concurrency);
}

/** Notes a busy failure; lowers the table's concurrency on a full DML queue. Returns the busy streak. */
export async function noteBusy(ctx: Ctx, table: string, cause: BusyCause, now = Date.now()): Promise<number> {
  const key = ctx.keys.throttle(table);
  const multi = ctx.redis.multi().hincrby(key, 'busyStreak', 1);
  if (cause === 'dmlOutstanding') multi.hset(key, 'lowered', '1', 'since', String(now), 'successes', '0');
  const res = await multi.exec();
  if (cause === 'dmlOutstanding') {
    await ctx.queues.commit(table).setGlobalConcurrency(1);
    const queued = warehouseCaps(ctx.config).queuedDmlPerTable;
    log.warn(
      `${table}: its DML queue was full${queued === undefined ? '' : ` (limit ${queued})`}; committing one at a time until ${ctx.config.busy.restoreAfter} commits succeed`,
    );
  }
  return Number(res?.[0]?.[1] ?? 1);
}

/** Notes a successful commit; restores the configured concurrency after enough of them. */
export async function noteSuccess(ctx: Ctx, table: string, now = Date.now()): Promise<void> {
  const key = ctx.keys.throttle(table);
  const res = await ctx.redis.multi().hset(key, 'busyStreak', '0').hget(key, 'lowered').exec();
  if (res?.[1]?.[1] !== '1') return;
  const successes = await ctx.redis.hincrby(key, 'successes', 1);
  const since = Number((await ctx.redis.hget(key, 'since')) ?? now);
  if (successes < ctx.config.busy.restoreAfter || now - since < scaledMs(ctx.config, ctx.config.busy.minThrottleSeconds)) return;
  // Only the process that clears the flag restores, so two restores cannot race a new lowering.
  const cleared = await ctx.redis.hdel(key, 'lowered');
  if (cleared === 0) return;
  await ctx.redis.hdel(key, 'since', 'successes');
  await ctx.queues.commit(table).setGlobalConcurrency(configured(ctx, table));
  log.info(`${table}: ${successes} commits in a row succeeded; back to ${configured(ctx, table)} at a time`);
}

/** Re-applies a lowered concurrency after `applyTableCaps` set the configured one (worker start). */
export async function reapplyThrottle(ctx: Ctx, table: string): Promise<void> {
  const lowered = await ctx.redis.hget(ctx.keys.throttle(table), 'lowered');
  if (lowered === '1') await ctx.queues.commit(table).setGlobalConcurrency(1);
}

export async function readThrottle(ctx: Pick<PipelineContext, 'config' | 'redis' | 'keys'>, table: string): Promise<ThrottleView> {
  const h = await ctx.redis.hgetall(ctx.keys.throttle(table));
  return {
    table,
    lowered: h.lowered === '1',
    since: h.since ? new Date(Number(h.since)).toISOString() : undefined,
    successes: Number(h.successes ?? 0),
    busyStreak: Number(h.busyStreak ?? 0),
  };
}
