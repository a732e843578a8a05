/**
 * Per-table circuit breaker (seed 002's plan, inside the queue system). When more than half
 * of a table's last N commits within the window met a streaming-buffer conflict, the table's
 * commits pause for a cool-down; then ONE commit goes through as a probe (half-open): clean,
 * the breaker closes; conflicting, it opens again.
 *
 * How the pause works: every commit job asks `admitCommit` before it takes a batch, and a job
 * that is not admitted delays itself (BullMQ `moveToDelayed`) until the cool-down ends. This
 * pauses only that table, in every process, without a timer anyone has to survive to resume
 * it — unlike `Queue.pause()`, which needs someone alive to call `resume()` and cannot let
 * exactly one job through. Staged slices keep collecting meanwhile and land as one batch.
 *
 * State lives in Redis (hash per table, changed only by the scripts below), so every worker
 * process and `phasegate status` see the same breaker.
 */

import { scaledMs } from '../config/index.ts';
import { commitKeysFor } from './commit-keys.ts';
import type { PipelineContext } from './context.ts';

export const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

/** What the dashboard and `status` show for a table. */
export interface BreakerView {
  table: string;
  state: BreakerState;
  /** When the breaker entered this state (ISO-8601). */
  since: string;
  /** When an open breaker lets a probe through (ISO-8601). */
  reopensAt?: string | undefined;
  /** Commits within the window (at most N) and how many met a conflict: the trip condition's inputs. */
  recentCommits: number;
  recentConflicts: number;
  /** How many times the breaker opened. */
  trips: number;
  /** The commit job probing a half-open breaker, if any. */
  probeJob?: string | undefined;
}

export type Admission = { go: true; probe: boolean } | { go: false; untilMs: number; state: BreakerState };

/**
 * Decides whether a commit job may run now.
 * KEYS: [1] breaker hash
 * ARGV: [1] now (ms), [2] job id, [3] probe timeout (ms), [4] how long a waiting job sleeps
 *       while a probe runs (ms)
 * Returns {'go'} | {'probe'} | {'wait', until ms, state}.
 * Open and cooled down → half-open with this job as the probe. Half-open with a live probe →
 * wait; with a probe that never reported (its process died) → this job probes instead.
 */
const ADMIT_LUA = `
local now = tonumber(ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return {'go'} end
if state == 'open' then
  local reopens = tonumber(redis.call('HGET', KEYS[1], 'reopensAt') or '0')
  if now < reopens then return {'wait', tostring(reopens), 'open'} end
  redis.call('HSET', KEYS[1], 'state', 'half-open', 'since', tostring(now), 'probeJob', ARGV[2], 'probeUntil', tostring(now + tonumber(ARGV[3])))
  return {'probe'}
end
local probe = redis.call('HGET', KEYS[1], 'probeJob')
local probeUntil = tonumber(redis.call('HGET', KEYS[1], 'probeUntil') or '0')
if probe == ARGV[2] then return {'probe'} end
if not probe or now >= probeUntil then
  redis.call('HSET', KEYS[1], 'probeJob', ARGV[2], 'probeUntil', tostring(now + tonumber(ARGV[3])))
  return {'probe'}
end
return {'wait', tostring(math.min(probeUntil, now + tonumber(ARGV[4]))), 'half-open'}
`;

/**
 * Records a commit's outcome and moves the breaker.
 * KEYS: [1] breaker hash, [2] recent-outcomes list
 * ARGV: [1] now (ms), [2] 1 = met a conflict, [3] N, [4] window (ms), [5] cool-down (ms), [6] job id
 * Returns the transition: 'tripped' | 'reopened' | 'closed' | 'none'.
 */
const RECORD_LUA = `
local now = tonumber(ARGV[1])
local conflict = ARGV[2] == '1'
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'half-open' then
  if redis.call('HGET', KEYS[1], 'probeJob') ~= ARGV[6] then return 'none' end
  redis.call('HDEL', KEYS[1], 'probeJob', 'probeUntil')
  if conflict then
    redis.call('HSET', KEYS[1], 'state', 'open', 'since', tostring(now), 'reopensAt', tostring(now + tonumber(ARGV[5])))
    redis.call('HINCRBY', KEYS[1], 'trips', 1)
    return 'reopened'
  end
  -- A clean probe: start judging afresh, the old conflicts belong to the episode that ended.
  redis.call('HSET', KEYS[1], 'state', 'closed', 'since', tostring(now))
  redis.call('HDEL', KEYS[1], 'reopensAt')
  redis.call('DEL', KEYS[2])
  return 'closed'
end
if state == 'open' then return 'none' end
redis.call('LPUSH', KEYS[2], ARGV[1] .. ':' .. (conflict and '1' or '0'))
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
local total = 0
local conflicts = 0
for _, item in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local at, c = string.match(item, '^(%d+):(%d)$')
  if at and tonumber(at) > now - tonumber(ARGV[4]) then
    total = total + 1
    if c == '1' then conflicts = conflicts + 1 end
  end
end
-- At least 3 commits before judging (seed 002: total_count < 3 never trips); more than half conflicting trips.
if total >= 3 and conflicts * 2 > total then
  redis.call('HSET', KEYS[1], 'state', 'open', 'since', tostring(now), 'reopensAt', tostring(now + tonumber(ARGV[5])), 'lastTrip', ARGV[1] .. ':' .. conflicts .. '/' .. total)
  redis.call('HINCRBY', KEYS[1], 'trips', 1)
  return 'tripped'
end
return 'none'
`;

/** Gives a probe slot back without a verdict (the probe found nothing to commit, or the table was busy). */
const RELEASE_PROBE_LUA = `
if redis.call('HGET', KEYS[1], 'probeJob') == ARGV[1] then redis.call('HDEL', KEYS[1], 'probeJob', 'probeUntil') end
return 1
`;

function keysOf(ctx: Pick<PipelineContext, 'config'>) {
  return commitKeysFor(ctx.config.prefix);
}

export async function admitCommit(ctx: Pick<PipelineContext, 'config' | 'redis'>, table: string, jobId: string, now = Date.now()): Promise<Admission> {
  const b = ctx.config.breaker;
  const res = (await ctx.redis.eval(
    ADMIT_LUA,
    1,
    keysOf(ctx).breaker(table),
    now,
    jobId,
    scaledMs(ctx.config, b.probeTimeoutSeconds),
    // Waiting jobs look again this often while a probe runs, so a closed breaker is noticed soon.
    scaledMs(ctx.config, Math.min(30, b.probeTimeoutSeconds)),
  )) as string[];
  if (res[0] === 'go') return { go: true, probe: false };
  if (res[0] === 'probe') return { go: true, probe: true };
  return { go: false, untilMs: Number(res[1]), state: (res[2] ?? 'open') as BreakerState };
}

export type BreakerTransition = 'tripped' | 'reopened' | 'closed' | 'none';

/** Records whether a commit (a MERGE that ran) met a conflict; returns how the breaker moved. */
export async function recordCommit(
  ctx: Pick<PipelineContext, 'config' | 'redis'>,
  table: string,
  jobId: string,
  conflict: boolean,
  now = Date.now(),
): Promise<BreakerTransition> {
  const b = ctx.config.breaker;
  const k = keysOf(ctx);
  return (await ctx.redis.eval(
    RECORD_LUA,
    2,
    k.breaker(table),
    k.breakerRecent(table),
    now,
    conflict ? '1' : '0',
    b.commits,
    scaledMs(ctx.config, b.windowSeconds),
    scaledMs(ctx.config, b.cooldownSeconds),
    jobId,
  )) as BreakerTransition;
}

export async function releaseProbe(ctx: Pick<PipelineContext, 'config' | 'redis'>, table: string, jobId: string): Promise<void> {
  await ctx.redis.eval(RELEASE_PROBE_LUA, 1, keysOf(ctx).breaker(table), jobId);
}

/** One table's breaker as it stands (closed with no history when it never recorded anything). */
export async function readBreaker(ctx: Pick<PipelineContext, 'config' | 'redis'>, table: string, now = Date.now()): Promise<BreakerView> {
  const k = keysOf(ctx);
  const [hash, recent] = await Promise.all([ctx.redis.hgetall(k.breaker(table)), ctx.redis.lrange(k.breakerRecent(table), 0, -1)]);
  const windowMs = scaledMs(ctx.config, ctx.config.breaker.windowSeconds);
  let recentCommits = 0;
  let recentConflicts = 0;
  for (const item of recent) {
    const [at, c] = item.split(':');
    if (Number(at) > now - windowMs) {
      recentCommits += 1;
      if (c === '1') recentConflicts += 1;
    }
  }
  const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : undefined);
  const state = (hash.state ?? 'closed') as BreakerState;
  return {
    table,
    state,
    since: iso(hash.since) ?? new Date(0).toISOString(),
    reopensAt: state === 'open' ? iso(hash.reopensAt) : undefined,
    recentCommits,
    recentConflicts,
    trips: Number(hash.trips ?? 0),
    probeJob: state === 'half-open' ? hash.probeJob : undefined,
  };
}

/** Every gated table's breaker, the log tables' excluded (they never meet the streaming buffer). */
export async function readBreakers(ctx: Pick<PipelineContext, 'config' | 'redis' | 'registry'>, now = Date.now()): Promise<BreakerView[]> {
  const tables = ctx.registry.gatedTables().filter((t) => !ctx.registry.isLogTable(t));
  return Promise.all(tables.map((t) => readBreaker(ctx, t, now)));
}
