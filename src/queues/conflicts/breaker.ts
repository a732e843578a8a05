/**
 * Per-table circuit breaker (seed 002's plan, inside the queue system). It judges each commit
 * by the share of the slices its MERGE tried that the streaming buffer held back: a commit
 * whose split landed the rest is not a conflicting commit (PHASEGATE_BREAKER_CONFLICT_SHARE).
 * When more than PHASEGATE_BREAKER_TRIP_SHARE of a table's last N commits within the window
 * (at least PHASEGATE_BREAKER_MIN_COMMITS of them) were conflicting, the breaker opens for a
 * cool-down; then ONE commit goes through as a probe (half-open): not conflicting, the breaker
 * closes; conflicting, it opens again.
 *
 * What an open breaker stops: the retries of held slices (those the buffer held back before),
 * not the table. Clean staged slices keep landing under the table's normal caps; a held slice
 * that comes due while the breaker is open is held on until the cool-down ends (the commit job
 * asks `admitCommit` first and holds those slices back again without trying them). This needs
 * no timer anyone has to survive: the hold is a due time in Redis, and the job that wakes the
 * slices up at the end of the cool-down is the probe.
 *
 * State lives in Redis (hash per table, changed only by the scripts below), so every worker
 * process and `phasegate status` see the same breaker.
 */

import { scaledMs } from '../../config/load-config.ts';
import { luaScript } from '../../redis/script.ts';
import type { PipelineContext } from '../context.ts';

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
  /** Commits within the window (at most N) and how many were conflicting: the trip condition's inputs. */
  recentCommits: number;
  recentConflicts: number;
  /** Slices those commits' MERGEs tried, and how many of them the streaming buffer held back. */
  recentSlices: number;
  recentHeld: number;
  /** recentHeld / recentSlices (0 when nothing was tried): the share of slices conflicts cost. */
  heldShare: number;
  /** How many times the breaker opened. */
  trips: number;
  /** The commit job probing a half-open breaker, if any. */
  probeJob?: string | undefined;
}

/**
 * What a commit job may do now. Every job runs (an open breaker does not stop the table);
 * `retries` says whether it may try slices the streaming buffer held back before, and when
 * not, `holdUntilMs` is when those may be tried again.
 */
export interface Admission {
  /** This job is the half-open breaker's probe: its outcome closes or re-opens the breaker. */
  probe: boolean;
  retries: boolean;
  holdUntilMs?: number | undefined;
  state: BreakerState;
}

/** A commit's outcome as the breaker judges it: slices its MERGEs tried, and how many the buffer held back. */
export interface CommitOutcome {
  tried: number;
  held: number;
}

/**
 * Decides what a commit job may do now.
 * KEYS: [1] breaker hash
 * ARGV: [1] now (ms), [2] job id, [3] probe timeout (ms), [4] how long held slices stay held
 *       while another job probes (ms)
 * Returns {'go'} | {'probe'} | {'hold', until ms, state}.
 * Open and cooled down → half-open with this job as the probe. Half-open with a live probe →
 * hold; with a probe that never reported (its process died) → this job probes instead.
 */
const ADMIT = luaScript(
  'breaker_admit',
  ['breaker'],
  `
local now = tonumber(ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return {'go'} end
if state == 'open' then
  local reopens = tonumber(redis.call('HGET', KEYS[1], 'reopensAt') or '0')
  if now < reopens then return {'hold', tostring(reopens), 'open'} end
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
return {'hold', tostring(math.min(probeUntil, now + tonumber(ARGV[4]))), 'half-open'}
`,
);

/**
 * Records a commit's outcome and moves the breaker.
 * KEYS: [1] breaker hash, [2] recent-outcomes list (`<ms>:<held>:<tried>`, newest first)
 * ARGV: [1] now (ms), [2] slices held back, [3] slices tried, [4] N, [5] window (ms),
 *       [6] cool-down (ms), [7] job id, [8] conflict share, [9] trip share, [10] fewest commits judged
 * Returns the transition: 'tripped' | 'reopened' | 'closed' | 'none'.
 */
const RECORD = luaScript(
  'breaker_record',
  ['breaker', 'recent'],
  `
local now = tonumber(ARGV[1])
local conflictShare = tonumber(ARGV[8])
local function conflicting(held, tried)
  return tried > 0 and held > conflictShare * tried
end
local conflict = conflicting(tonumber(ARGV[2]), tonumber(ARGV[3]))
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'half-open' then
  if redis.call('HGET', KEYS[1], 'probeJob') ~= ARGV[7] then return 'none' end
  redis.call('HDEL', KEYS[1], 'probeJob', 'probeUntil')
  if conflict then
    redis.call('HSET', KEYS[1], 'state', 'open', 'since', tostring(now), 'reopensAt', tostring(now + tonumber(ARGV[6])))
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
redis.call('LPUSH', KEYS[2], ARGV[1] .. ':' .. ARGV[2] .. ':' .. ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
local total = 0
local conflicts = 0
for _, item in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local at, held, tried = string.match(item, '^(%d+):(%d+):(%d+)$')
  if not at then
    -- Written before shares were recorded: '<ms>:<0|1>', one slice that did or did not conflict.
    at, held = string.match(item, '^(%d+):(%d)$')
    tried = '1'
  end
  if at and tonumber(at) > now - tonumber(ARGV[5]) then
    total = total + 1
    if conflicting(tonumber(held), tonumber(tried)) then conflicts = conflicts + 1 end
  end
end
if total >= tonumber(ARGV[10]) and conflicts > tonumber(ARGV[9]) * total then
  redis.call('HSET', KEYS[1], 'state', 'open', 'since', tostring(now), 'reopensAt', tostring(now + tonumber(ARGV[6])), 'lastTrip', ARGV[1] .. ':' .. conflicts .. '/' .. total)
  redis.call('HINCRBY', KEYS[1], 'trips', 1)
  return 'tripped'
end
return 'none'
`,
);

/** Gives a probe slot back without a verdict (the probe found nothing to commit, or the table was busy). */
const RELEASE_PROBE = luaScript(
  'breaker_release_probe',
  ['breaker'],
  `
if redis.call('HGET', KEYS[1], 'probeJob') == ARGV[1] then redis.call('HDEL', KEYS[1], 'probeJob', 'probeUntil') end
return 1
`,
);

export async function admitCommit(ctx: Pick<PipelineContext, 'config' | 'redis' | 'keys'>, table: string, jobId: string, now = Date.now()): Promise<Admission> {
  const b = ctx.config.breaker;
  const res = (await ADMIT.run(
    ctx.redis,
    { breaker: ctx.keys.breaker(table) },
    now,
    jobId,
    scaledMs(ctx.config, b.probeTimeoutSeconds),
    // Held slices look again this often while a probe runs, so a closed breaker is noticed soon.
    scaledMs(ctx.config, Math.min(30, b.probeTimeoutSeconds)),
  )) as string[];
  if (res[0] === 'go') return { probe: false, retries: true, state: 'closed' };
  if (res[0] === 'probe') return { probe: true, retries: true, state: 'half-open' };
  return { probe: false, retries: false, holdUntilMs: Number(res[1]), state: (res[2] ?? 'open') as BreakerState };
}

export type BreakerTransition = 'tripped' | 'reopened' | 'closed' | 'none';

/** Whether a commit counts as conflicting: the buffer held back more than the configured share of what it tried. */
export function isConflicting(config: Pick<PipelineContext['config'], 'breaker'>, outcome: CommitOutcome): boolean {
  return outcome.tried > 0 && outcome.held > config.breaker.conflictShare * outcome.tried;
}

/**
 * Records a commit's outcome (slices tried and held back; `true`/`false` is one slice that
 * did or did not conflict) and returns how the breaker moved.
 */
export async function recordCommit(
  ctx: Pick<PipelineContext, 'config' | 'redis' | 'keys'>,
  table: string,
  jobId: string,
  outcome: CommitOutcome | boolean,
  now = Date.now(),
): Promise<BreakerTransition> {
  const b = ctx.config.breaker;
  const k = ctx.keys;
  const o = typeof outcome === 'boolean' ? { tried: 1, held: outcome ? 1 : 0 } : outcome;
  const tried = Math.max(0, Math.round(o.tried));
  const held = Math.min(tried, Math.max(0, Math.round(o.held)));
  return (await RECORD.run(
    ctx.redis,
    { breaker: k.breaker(table), recent: k.breakerRecent(table) },
    now,
    held,
    tried,
    b.commits,
    scaledMs(ctx.config, b.windowSeconds),
    scaledMs(ctx.config, b.cooldownSeconds),
    jobId,
    b.conflictShare,
    b.tripShare,
    b.minCommits,
  )) as BreakerTransition;
}

export async function releaseProbe(ctx: Pick<PipelineContext, 'config' | 'redis' | 'keys'>, table: string, jobId: string): Promise<void> {
  await RELEASE_PROBE.run(ctx.redis, { breaker: ctx.keys.breaker(table) }, jobId);
}

/** `<ms>:<held>:<tried>`, or the older `<ms>:<0|1>` (one slice). */
function parseOutcome(item: string): { at: number; held: number; tried: number } | undefined {
  const parts = item.split(':').map(Number);
  if (parts.some((n) => !Number.isFinite(n))) return undefined;
  if (parts.length === 3) return { at: parts[0] as number, held: parts[1] as number, tried: parts[2] as number };
  if (parts.length === 2) return { at: parts[0] as number, held: parts[1] as number, tried: 1 };
  return undefined;
}

/** One table's breaker as it stands (closed with no history when it never recorded anything). */
export async function readBreaker(ctx: Pick<PipelineContext, 'config' | 'redis' | 'keys'>, table: string, now = Date.now()): Promise<BreakerView> {
  const k = ctx.keys;
  const [hash, recent] = await Promise.all([ctx.redis.hgetall(k.breaker(table)), ctx.redis.lrange(k.breakerRecent(table), 0, -1)]);
  const windowMs = scaledMs(ctx.config, ctx.config.breaker.windowSeconds);
  let recentCommits = 0;
  let recentConflicts = 0;
  let recentSlices = 0;
  let recentHeld = 0;
  for (const item of recent) {
    const o = parseOutcome(item);
    if (!o || o.at <= now - windowMs) continue;
    recentCommits += 1;
    recentSlices += o.tried;
    recentHeld += o.held;
    if (isConflicting(ctx.config, o)) recentConflicts += 1;
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
    recentSlices,
    recentHeld,
    heldShare: recentSlices > 0 ? Math.round((recentHeld / recentSlices) * 1000) / 1000 : 0,
    trips: Number(hash.trips ?? 0),
    probeJob: state === 'half-open' ? hash.probeJob : undefined,
  };
}
