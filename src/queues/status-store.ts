/**
 * Per (processor, slice) status, the source of truth for progress bars, `status`, the
 * dashboard grid and failed-date files. A slice counts as committed only after its MERGE
 * succeeded. A status written for a backfill is also kept in that backfill's own hash, so a
 * later run of the same slices does not rewrite what an earlier backfill's page shows.
 */
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/connect.ts';
import type { Keys } from '../redis/keys.ts';
import { luaScript } from '../redis/script.ts';
import { RedisStep } from '../redis/step.ts';

/**
 * `incomplete`: the slice cannot show it is complete — some of its scheduled games are missing
 * (the games it has committed, unless that would shrink what the warehouse holds), or none
 * came and nothing was staged. `empty`: nothing was scheduled and nothing came; nothing staged.
 * `upstream_failed`: the slice will not run because an input it needs ended without rows for
 * its date (failed, cancelled, or landed nothing); `upstream` names that input's slice.
 * `cancelled`: its run was cancelled before it ran (`phasegate cancel`).
 */
export const SLICE_STATES = [
  'pending',
  'running',
  'staged',
  'committed',
  'incomplete',
  'empty',
  'waiting',
  'deferred',
  'failed',
  'upstream_failed',
  'cancelled',
] as const;
export type SliceState = (typeof SLICE_STATES)[number];

export interface SliceStatus {
  status: SliceState;
  updatedAt: string;
  backfillId?: string | undefined;
  attempts?: number | undefined;
  rows?: number | undefined;
  /** The reason a person can read, with the file or slice it concerns. */
  error?: string | undefined;
  /** When a waiting slice is tried again. */
  nextTryAt?: string | undefined;
  batchId?: string | undefined;
  committedAt?: string | undefined;
  /** Scheduled games the slice does not have (seed 004's Play-In games). */
  missingGames?: string[] | undefined;
  /** How many games the schedule holds for the slice; null when it does not cover the date. */
  expectedGames?: number | null | undefined;
  /** An `incomplete` slice that landed nothing: the warehouse holds what it held before. */
  nothingLanded?: boolean | undefined;
  /** Rows kept with a `warn` plausibility issue (in their `quality_issues` column). */
  warnings?: number | undefined;
  /** A remark a person should see next to the state: "no schedule", an allowed shrink. */
  note?: string | undefined;
  /** `upstream_failed`: the input slice whose end settled this one (its reason is in `error`). */
  upstream?: { processor: string; slice: string } | undefined;
  /** Digest of the committed rows' content (staging.ts `contentHash`). */
  contentHash?: string | undefined;
  /**
   * A landed slice computed from an input that has since recommitted with other rows: it is
   * out of date until it is recomputed (a cascade does; `backfill --only-stale`).
   */
  stale?: { since: string; upstream: { processor: string; slice: string } } | undefined;
  /** Set by `stateNow` only (never stored): the slice's last run ended without landing, the warehouse keeps its last commit. */
  rerunFailed?: { at: string; state: SliceState; reason?: string | undefined } | undefined;
}

/** What the warehouse holds for a slice from its last commit, kept apart from the latest status (a failed re-run does not hide it). */
export interface LastCommit {
  committedAt: string;
  rows: number;
  contentHash?: string | undefined;
  backfillId?: string | undefined;
}

/** States after which nothing more happens to a slice without a person or a new run. */
export const FINAL_STATES: ReadonlySet<SliceState> = new Set(['committed', 'incomplete', 'empty', 'failed', 'deferred', 'upstream_failed', 'cancelled']);

/** Final states a retry runs again (`--retry-failed`, the dashboard's "retry failed"): nothing more happens to them by itself. */
export const RETRIED_STATES: ReadonlySet<SliceState> = new Set(['failed', 'deferred', 'incomplete', 'upstream_failed', 'cancelled']);

/** Final states that are a failure a person must look at (the run's exit code is 1, `--retry-failed` re-runs them). */
export const FAILED_STATES: ReadonlySet<SliceState> = new Set(['failed', 'deferred', 'upstream_failed', 'cancelled']);

/** States in which the slice's rows (all or some of its games) are in the warehouse for this run. */
export function landed(s: Pick<SliceStatus, 'status' | 'nothingLanded'> | undefined): boolean {
  return s?.status === 'committed' || (s?.status === 'incomplete' && !s.nothingLanded);
}

/** The slice's last run ended and landed nothing (failed, upstream_failed, cancelled, deferred, or incomplete with nothing staged). */
export function endedWithoutLanding(status: Pick<SliceStatus, 'status' | 'nothingLanded'> | undefined): boolean {
  return !!status && (FAILED_STATES.has(status.status) || (status.status === 'incomplete' && status.nothingLanded === true));
}

/**
 * A slice's state now, as the warehouse holds it: a slice whose last run ended without landing
 * (failed, upstream_failed, cancelled, deferred, or incomplete with nothing staged) but that an
 * earlier commit landed still reads `committed` — its rows and its downstream are untouched —
 * with `rerunFailed` saying when and why the last run did not land. Any other status is as stored.
 */
export function stateNow(status: SliceStatus | undefined, last: LastCommit | undefined): SliceStatus | undefined {
  if (!status || !last || !endedWithoutLanding(status)) return status;
  return {
    ...status,
    status: 'committed',
    rows: last.rows,
    committedAt: last.committedAt,
    error: undefined,
    upstream: undefined,
    nothingLanded: undefined,
    rerunFailed: { at: status.updatedAt, state: status.status, reason: status.error },
  };
}

/** `committed (last re-run failed at T: reason)`: how a person reads a `stateNow` status. */
export function describeNow(s: SliceStatus): string {
  if (!s.rerunFailed) return s.status;
  const reason = s.rerunFailed.reason ? `: ${s.rerunFailed.reason}` : '';
  const what = s.rerunFailed.state === 'failed' ? 'failed' : `ended ${s.rerunFailed.state}`;
  return `${s.status} (last re-run ${what} at ${s.rerunFailed.at}${reason})`;
}

export interface StatusStoreOptions {
  /**
   * How long a backfill keeps its own statuses after its last write, in seconds. They are
   * what its dashboard page shows once a later run of the same slices has overwritten the
   * latest ones; people look at a backfill for days or weeks after it ran, and each backfill
   * keeps one field per slice it reached, so old ones must not pile up in Redis for ever.
   * When they expire the page falls back to the latest statuses (and says so).
   * @defaultValue 2_592_000 (30 days)
   */
  backfillOutcomeTtlSeconds: number;
}

export const STATUS_STORE_DEFAULTS = { backfillOutcomeTtlSeconds: 30 * 86_400 } satisfies StatusStoreOptions;

/** The field of a slice in a backfill's own-status hash (processor names never contain `/`). */
function ownField(processor: string, slice: string): string {
  return `${processor}/${slice}`;
}

/**
 * Merges a patch into a slice's status inside Redis and writes the latest status and, when the
 * merged status names a backfill, that backfill's own copy: one round trip, atomic (two
 * writers of one slice can no longer lose each other's fields).
 * The own copy's key is declared like every other (a Redis Cluster routes a script by its
 * KEYS): the caller names the backfill it expects the merged status to carry — the patch's, or
 * the one it read — and when the stored status names another, nothing is written and that id
 * is returned, for the caller to run the merge again with its key.
 * KEYS: [1] the processor's status hash, [2] the expected backfill's own-status hash (any key
 *       of the prefix when none is expected)
 * ARGV: [1] slice, [2] JSON of the fields to set, [3] JSON array of the fields to remove (the
 *       patch named them `undefined`), [4] the expected backfill id ('' for none), [5] the
 *       slice's field in the own-status hash, [6] that hash's TTL in seconds
 * Returns 1, or the merged status's backfill id ('' for none) when it is not the expected one.
 * lua-cjson cannot tell an empty array from an empty object; the only array of a status is
 * `missingGames`, and an empty one means none, so it is dropped (as `update` does in JS).
 */
const MERGE = luaScript(
  'status_merge',
  ['latest', 'own'],
  `
local status = {}
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then status = cjson.decode(old) end
for k, v in pairs(cjson.decode(ARGV[2])) do status[k] = v end
for _, k in ipairs(cjson.decode(ARGV[3])) do status[k] = nil end
if type(status.missingGames) == 'table' and next(status.missingGames) == nil then status.missingGames = nil end
local id = ''
if type(status.backfillId) == 'string' then id = status.backfillId end
if id ~= ARGV[4] then return id end
local json = cjson.encode(status)
redis.call('HSET', KEYS[1], ARGV[1], json)
if id ~= '' then
  redis.call('HSET', KEYS[2], ARGV[5], json)
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return 1
`,
);

// A merge whose stored backfill id changed between the read and the script runs again; two
// writers changing one slice's backfill back and forth this often is not a real workload.
const MERGE_TRIES = 5;

type StatusPatch = Partial<SliceStatus> & Pick<SliceStatus, 'status'>;

/** A patch as the merge script takes it: the fields to set, and those named `undefined` (to remove). */
function patchArgs(patch: Partial<SliceStatus>): [set: string, remove: string] {
  const set: Record<string, unknown> = {};
  const remove: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || (k === 'missingGames' && Array.isArray(v) && v.length === 0)) remove.push(k);
    else set[k] = v;
  }
  return [JSON.stringify(set), JSON.stringify(remove)];
}

export class StatusStore {
  private readonly opts: StatusStoreOptions;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    opts: Partial<StatusStoreOptions> = {},
  ) {
    this.opts = { ...STATUS_STORE_DEFAULTS, ...opts };
    // Defined now, so every MULTI made on the connection afterwards can queue it (script.ts).
    MERGE.define(redis);
  }

  /**
   * Writes `status` for the slices: the latest status (one hash per processor) and, when the
   * status names a backfill, that backfill's own copy — in one MULTI, so the two never disagree
   * about which write came last.
   */
  private async write(processor: string, slices: readonly string[], status: Omit<SliceStatus, 'updatedAt'>, what: string): Promise<void> {
    const step = new RedisStep(this.redis);
    step.add((multi) => this.queueSet(multi, processor, slices, status));
    await step.run(what);
  }

  private queueSet(multi: ChainableCommander, processor: string, slices: readonly string[], status: Omit<SliceStatus, 'updatedAt'>): void {
    const json = JSON.stringify({ ...status, updatedAt: new Date().toISOString() } satisfies SliceStatus);
    const latest: string[] = [];
    for (const slice of slices) latest.push(slice, json);
    multi.hset(this.keys.status(processor), ...latest);
    if (status.backfillId) {
      const own: string[] = [];
      for (const slice of slices) own.push(ownField(processor, slice), json);
      const key = this.keys.backfillStatuses(status.backfillId);
      multi.hset(key, ...own).expire(key, this.opts.backfillOutcomeTtlSeconds);
    }
  }

  /**
   * `update` as part of a job's step (its other writes land in the same MULTI; see step.ts).
   * The patch names its backfill (or `undefined`: none), so the merge knows its keys without a read.
   */
  updateIn(step: RedisStep, processor: string, slice: string, patch: StatusPatch & { backfillId: string | undefined }): void {
    step.add((multi) => MERGE.queue(multi, this.mergeKeys(processor, patch.backfillId), ...this.mergeArgs(processor, slice, patch, patch.backfillId)));
  }

  async set(processor: string, slice: string, status: Omit<SliceStatus, 'updatedAt'>): Promise<void> {
    await this.write(processor, [slice], status, `status of ${processor} ${slice}`);
  }

  /** Sets many slices of one processor in one round trip. */
  async setMany(processor: string, slices: readonly string[], status: Omit<SliceStatus, 'updatedAt'>): Promise<void> {
    if (slices.length === 0) return;
    await this.write(processor, slices, status, `status of ${processor} (${slices.length} slices)`);
  }

  /**
   * Merges fields into the current status (keeps rows/attempts the caller did not name): one
   * round trip when the patch names its backfill, else a read of the stored one first.
   */
  async update(processor: string, slice: string, patch: StatusPatch): Promise<void> {
    let expected = 'backfillId' in patch ? patch.backfillId : (await this.get(processor, slice))?.backfillId;
    for (let i = 0; i < MERGE_TRIES; i++) {
      const done = await MERGE.run(this.redis, this.mergeKeys(processor, expected), ...this.mergeArgs(processor, slice, patch, expected));
      if (done === 1) return;
      expected = done === '' ? undefined : String(done);
    }
    throw new Error(`status of ${processor} ${slice}: its backfill changed under ${MERGE_TRIES} merges in a row`);
  }

  private mergeKeys(processor: string, backfillId: string | undefined): { latest: string; own: string } {
    return { latest: this.keys.status(processor), own: this.keys.backfillStatuses(backfillId ?? '') };
  }

  private mergeArgs(
    processor: string,
    slice: string,
    patch: Partial<SliceStatus>,
    backfillId: string | undefined,
  ): [string, string, string, string, string, number] {
    const [set, remove] = patchArgs({ ...patch, updatedAt: new Date().toISOString() });
    return [slice, set, remove, backfillId ?? '', ownField(processor, slice), this.opts.backfillOutcomeTtlSeconds];
  }

  async get(processor: string, slice: string): Promise<SliceStatus | undefined> {
    const raw = await this.redis.hget(this.keys.status(processor), slice);
    return raw ? (JSON.parse(raw) as SliceStatus) : undefined;
  }

  /** Statuses of the given slices, in order (undefined where none is recorded). */
  async getMany(processor: string, slices: readonly string[]): Promise<(SliceStatus | undefined)[]> {
    if (slices.length === 0) return [];
    const raws = await this.redis.hmget(this.keys.status(processor), ...slices);
    return raws.map((raw) => (raw ? (JSON.parse(raw) as SliceStatus) : undefined));
  }

  /**
   * The last status each slice had in one backfill, in order: what that backfill wrote,
   * even where a later run has written the slice since (undefined where it wrote nothing, or
   * its statuses expired).
   */
  async ofBackfill(backfillId: string, processor: string, slices: readonly string[]): Promise<(SliceStatus | undefined)[]> {
    if (slices.length === 0) return [];
    const raws = await this.redis.hmget(this.keys.backfillStatuses(backfillId), ...slices.map((s) => ownField(processor, s)));
    return raws.map((raw) => (raw ? (JSON.parse(raw) as SliceStatus) : undefined));
  }

  /** Whether a backfill's own statuses are still kept (false once expired, or for one that predates them). */
  async keepsBackfill(backfillId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.backfillStatuses(backfillId))) === 1;
  }

  /** What the last commit of each slice landed (undefined where it was never committed), in order. */
  async lastCommits(processor: string, slices: readonly string[]): Promise<(LastCommit | undefined)[]> {
    if (slices.length === 0) return [];
    const raws = await this.redis.hmget(this.keys.lastCommitted(processor), ...slices);
    return raws.map((raw) => (raw ? (JSON.parse(raw) as LastCommit) : undefined));
  }

  /** The slices' states now (`stateNow`): the latest status, a failed re-run of a landed slice read as the commit the warehouse keeps. */
  async getManyNow(processor: string, slices: readonly string[]): Promise<(SliceStatus | undefined)[]> {
    const [latest, last] = await Promise.all([this.getMany(processor, slices), this.lastCommits(processor, slices)]);
    return latest.map((s, i) => stateNow(s, last[i]));
  }

  async all(processor: string): Promise<Map<string, SliceStatus>> {
    const raw = await this.redis.hgetall(this.keys.status(processor));
    return new Map(Object.entries(raw).map(([slice, json]) => [slice, JSON.parse(json) as SliceStatus]));
  }
}

/** Counts per state, with every state present. */
export function countStates(statuses: Iterable<SliceStatus | undefined>): Record<SliceState, number> {
  const counts = Object.fromEntries(SLICE_STATES.map((s) => [s, 0])) as Record<SliceState, number>;
  for (const s of statuses) counts[s?.status ?? 'pending'] += 1;
  return counts;
}
