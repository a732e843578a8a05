/**
 * A table's statement places. BigQuery runs at most two mutating DML statements of a table at
 * once and queues the rest, refusing them once its queue is full (limits.ts), so the gate runs
 * at most the table's commit concurrency of statements at once — counted here, in Redis, for
 * every process.
 *
 * A place is held for the statement, not for the commit job around it. A job does its own work
 * before its statement (admission, the take, its checks, the statement's objects) and after it
 * (the slices' statuses and events, the release, deleting the staged objects); when the cap was
 * the commit queue's running jobs, that work left a place idle — about a second per statement
 * on a busy gate, at the head of a backfill's critical path (docs/bench-scale.md). The commit
 * queue now runs one job more than its statements (`commitLanes`): that job readies its batch
 * while the others' statements run and takes the place as one ends.
 *
 * A holder that dies keeps its place until its lease ends: the worker's lock duration, renewed
 * while the statement runs — about when BullMQ finds its job stalled and runs it again.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../../log.ts';
import { luaScript } from '../../redis/script.ts';
import type { PipelineContext } from '../context.ts';
import { workerLockOptions } from '../defaults.ts';
import { statementCap } from './lanes.ts';

type Ctx = Pick<PipelineContext, 'config' | 'redis' | 'keys'>;

/**
 * Takes a place, or says how long until the oldest lease ends (ms).
 * KEYS: [1] the table's running statements (member → lease end ms), [2] its throttle hash
 * ARGV: [1] now (ms), [2] lease (ms), [3] the configured cap, [4] a member naming the statement
 */
const TAKE_PLACE = luaScript(
  'statement_place',
  ['statements', 'throttle'],
  `
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local cap = tonumber(ARGV[3])
-- A table whose DML queue was found full runs one statement at a time (throttle.ts).
if redis.call('HGET', KEYS[2], 'lowered') == '1' then cap = 1 end
if redis.call('ZCARD', KEYS[1]) < cap then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], lease)
  return 0
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(first[2]) - now)
`,
);

/**
 * How often a waiter asks again when the place it waits for may be freed by another process.
 * A release in this process wakes its waiters at once.
 */
const POLL_MS = 100;

/** Waiters in this process, by the statements key they wait on. */
const waiters = new Map<string, Set<() => void>>();

function wake(key: string): void {
  const set = waiters.get(key);
  if (!set) return;
  waiters.delete(key);
  for (const resolve of set) resolve();
}

async function wakeOrSleep(key: string, ms: number): Promise<void> {
  const controller = new AbortController();
  let resolveWake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => {
    resolveWake = resolve;
  });
  let set = waiters.get(key);
  if (!set) {
    set = new Set();
    waiters.set(key, set);
  }
  set.add(resolveWake);
  try {
    await Promise.race([woken, sleep(ms, undefined, { signal: controller.signal }).catch(() => undefined)]);
  } finally {
    controller.abort();
    waiters.get(key)?.delete(resolveWake);
  }
}

/**
 * One commit job's hold on a statement place of its table: `hold` waits for one (and keeps it
 * if held already), `release` gives it back; both may be called any number of times.
 */
export class StatementPlace {
  private member: string | undefined;
  private renew: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: Ctx,
    private readonly table: string,
    private readonly holder: string,
  ) {}

  get held(): boolean {
    return this.member !== undefined;
  }

  /** Waits for a place; resolves true when it had to wait for one. */
  async hold(): Promise<boolean> {
    if (this.member !== undefined) return false;
    const { ctx, table } = this;
    const key = ctx.keys.statements(table);
    const leaseMs = workerLockOptions(ctx.config).lockDuration;
    const member = `${this.holder}#${randomUUID()}`;
    let waited = false;
    for (;;) {
      const keys = { statements: key, throttle: ctx.keys.throttle(table) };
      const waitMs = Number(await TAKE_PLACE.run(ctx.redis, keys, Date.now(), leaseMs, statementCap(ctx.config, table), member));
      if (waitMs === 0) break;
      waited = true;
      await wakeOrSleep(key, Math.min(waitMs, POLL_MS));
    }
    this.member = member;
    this.renew = setInterval(() => {
      void ctx.redis
        .multi()
        .zadd(key, 'XX', Date.now() + leaseMs, member)
        .pexpire(key, leaseMs)
        .exec()
        .catch((err: unknown) => log.warn(`${table}: renewing a statement's place: ${(err as Error).message}`));
    }, leaseMs / 3);
    this.renew.unref();
    return waited;
  }

  async release(): Promise<void> {
    const member = this.member;
    if (member === undefined) return;
    this.member = undefined;
    clearInterval(this.renew);
    const key = this.ctx.keys.statements(this.table);
    try {
      await this.ctx.redis.zrem(key, member);
    } finally {
      wake(key);
    }
  }
}

/** Statements of the table holding a place now (leases not run out). */
export async function runningStatements(ctx: Ctx, table: string, now = Date.now()): Promise<number> {
  return ctx.redis.zcount(ctx.keys.statements(table), `(${now}`, '+inf');
}
