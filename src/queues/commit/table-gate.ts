/**
 * The table gate's Redis side: phase jobs register staged slices as pending for a table,
 * and a commit job atomically takes up to N of them as one batch. Many dates per
 * statement is what lets a multi-season backfill use a few dozen table operations.
 */
import { nodeFor, type RedisClient } from '../../redis/connect.ts';
import type { Keys } from '../../redis/keys.ts';
import { luaScript } from '../../redis/script.ts';
import { RedisStep } from '../../redis/step.ts';

export interface PendingSlice {
  /** Object-store key of the staged NDJSON; '' when the rows are `inline`. */
  object: string;
  /**
   * The staged NDJSON itself, for a slice small enough to stay in Redis
   * (`PHASEGATE_STAGING_INLINE_MAX_BYTES`): no object of its own; a commit writes its batch's
   * inline rows as one object (staged-objects.ts).
   */
  inline?: string | undefined;
  rows: number;
  processor: string;
  stagedAt: string;
  backfillId?: string | undefined;
  /** Staged rows per unit (`game_id` → rows; `*` for a table without one): what the gate's no-shrink and no-move checks compare. */
  units?: Record<string, number> | undefined;
  /** Scheduled units (games) the staged slice does not have: it lands as `incomplete`. */
  missing?: string[] | undefined;
  /** Scheduled games for the slice; null when the schedule does not cover its date. */
  expected?: number | null | undefined;
  /** Rows kept with a `warn` plausibility issue. */
  warnings?: number | undefined;
  /** Digest of the rows' content (staging.ts `contentHash`): a recommit that changes it makes the downstream stale. */
  contentHash?: string | undefined;
  /** W3C `traceparent` of the slice's staging span, when tracing is on: the commit links to it. */
  traceparent?: string | undefined;
}

/** What a registration answers: the commit sequence its job is named by, the fields pending, the entry it replaced. */
export interface Registered {
  seq: number;
  pending: number;
  previous: PendingSlice | undefined;
}

/**
 * The slice a pending field stands for. A merge table has one field per slice (a newer
 * staging replaces the older); an append (log) table registers every staged chunk under its
 * own field `<slice>#<id>`, since two chunks of one date must both land.
 */
export function sliceOfField(field: string): string {
  const hash = field.indexOf('#');
  return hash < 0 ? field : field.slice(0, hash);
}

/** Redis writes an infinite score as `inf`. */
function scoreMs(score: string | undefined): number {
  return score === 'inf' || score === '+inf' ? Number.POSITIVE_INFINITY : Number(score);
}

/** A field held back (streaming-buffer conflict) and when it may be taken again; `Infinity` = deferred. */
export interface HeldField {
  field: string;
  dueMs: number;
}

export interface TakenBatch {
  /** The commit job that took the batch. */
  jobId: string;
  /** Pending fields taken: slices for a merge table, `<slice>#<id>` chunks for a log table. */
  slices: string[];
  entries: Record<string, PendingSlice>;
  takenAt: string;
}

/**
 * Fields a commit could take now (pending, not in flight, not held) and the earliest time a
 * held field comes due. Shared head of the take and release scripts, whose KEYS both start
 * pending hash, batch key, …, in-flight hash, hold sorted set (field → due ms, +inf = deferred).
 */
const READY_LUA = `
local function ready(now)
  local held = {}
  local nextDue = -1
  local h = redis.call('ZRANGEBYSCORE', KEYS[5], '(' .. now, '+inf', 'WITHSCORES')
  for i = 1, #h, 2 do
    held[h[i]] = true
    local due = tonumber(h[i + 1])
    if due and due < 1e300 and (nextDue < 0 or due < nextDue) then nextDue = due end
  end
  -- Field names only: an entry may carry its rows inline (staging.ts), and a backlog of them
  -- read whole on every take and release would stall Redis; TAKE reads the entries it takes.
  local names = redis.call('HKEYS', KEYS[1])
  local fields = {}
  for _, field in ipairs(names) do
    if not held[field] and redis.call('HEXISTS', KEYS[4], field) == 0 then fields[#fields + 1] = field end
  end
  return fields, nextDue
end
`;

/**
 * Registers a staged slice as pending, replacing an older staging of it.
 * KEYS: [1] pending hash, [2] hold sorted set, [3] commit-seq counter
 * ARGV: [1] field, [2] the pending entry's JSON
 * Returns the entry it replaced ('' when none), the commit sequence, and how many fields are pending.
 * A new staging is a new try: a held or deferred slice loses its hold, so the next commit looks
 * at it (and holds it again, without a MERGE, while its partition is still buffered).
 */
const REGISTER = luaScript(
  'gate_register',
  ['pending', 'hold', 'commitSeq'],
  `
local previous = redis.call('HGET', KEYS[1], ARGV[1]) or ''
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
return {previous, tonumber(redis.call('GET', KEYS[3]) or '0'), redis.call('HLEN', KEYS[1])}
`,
);

/**
 * Takes (or re-reads) a commit job's batch.
 * KEYS: [1] pending hash, [2] batch key, [3] commit-seq counter, [4] in-flight hash, [5] hold sorted set
 * ARGV: [1] max slices, [2] max rows, [3] takenAt ISO, [4] job id, [5] now (ms)
 * Returns: the batch JSON (or nil when nothing can be taken), how many fields could still be
 * taken now, the earliest due time (ms) of a held field, or -1, and the commit sequence after
 * the take (what names the job for the fields still pending).
 * A batch already taken by this job is returned unchanged, so a retried or stalled commit
 * job lands exactly the slices it took. Bumping the sequence in the same script is what
 * makes a slice registered after the take get a new commit job (see `register`).
 * Slices in flight in another batch are left pending: two concurrent MERGEs of one slice
 * could land an older version last. Held slices (their partition still had streamed rows)
 * are left pending until due: BigQuery would refuse the MERGE anyway.
 */
const TAKE = luaScript(
  'gate_take',
  ['pending', 'batch', 'commitSeq', 'inflight', 'hold'],
  `${READY_LUA}
local existing = redis.call('GET', KEYS[2])
if existing then
  local fields, nextDue = ready(ARGV[5])
  return {existing, #fields, nextDue, tonumber(redis.call('GET', KEYS[3]) or '0')}
end
local seq = redis.call('INCR', KEYS[3])
local slices, nextDue = ready(ARGV[5])
if #slices == 0 then return {false, 0, nextDue, seq} end
table.sort(slices)
local maxSlices = tonumber(ARGV[1])
local maxRows = tonumber(ARGV[2])
local taken = {}
local entries = {}
local rows = 0
for _, slice in ipairs(slices) do
  local entry = cjson.decode(redis.call('HGET', KEYS[1], slice))
  local n = tonumber(entry.rows) or 0
  if #taken > 0 and (#taken >= maxSlices or rows + n > maxRows) then break end
  taken[#taken + 1] = slice
  entries[slice] = entry
  rows = rows + n
  redis.call('HDEL', KEYS[1], slice)
  redis.call('HSET', KEYS[4], slice, ARGV[4])
end
local batch = cjson.encode({jobId = ARGV[4], slices = taken, entries = entries, takenAt = ARGV[3]})
redis.call('SET', KEYS[2], batch)
return {batch, #slices - #taken, nextDue, seq}
`,
);

/**
 * Releases a landed (or failed) batch: its fields leave the in-flight hash and lose any hold.
 * KEYS: [1] pending hash, [2] batch key, [3] hold-info hash, [4] in-flight hash, [5] hold sorted set
 * ARGV: [1] now (ms), [2..] the batch's fields
 * Returns how many fields could be taken now (re-staged while in flight, say).
 */
const RELEASE = luaScript(
  'gate_release',
  ['pending', 'batch', 'holdInfo', 'inflight', 'hold'],
  `${READY_LUA}
redis.call('DEL', KEYS[2])
for i = 2, #ARGV do
  redis.call('HDEL', KEYS[4], ARGV[i])
  redis.call('ZREM', KEYS[5], ARGV[i])
  redis.call('HDEL', KEYS[3], ARGV[i])
end
local fields = ready(ARGV[1])
return #fields
`,
);

/**
 * A place for one statement in the table's rate window, as BigQuery counts it: no more than
 * `max` statements started in the `window` ms before this one (sliding).
 * KEYS: [1] the window's sorted set (member → start ms)
 * ARGV: [1] now (ms), [2] window (ms), [3] max, [4] a member naming the statement
 * Returns 0 when the place is taken, else the ms until the window's oldest statement leaves it.
 */
const OPS_SLOT = luaScript(
  'gate_ops_slot',
  ['window'],
  `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  -- Two windows: a place restamped later than its take (restampOpsSlot) still counts a whole one.
  redis.call('PEXPIRE', KEYS[1], 2 * window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`,
);

/**
 * Holds some fields of a taken batch back (streaming-buffer conflict): they return to the
 * pending hash with a due time, and the batch shrinks to the rest — in one step, so a crash
 * leaves every field either in the batch or pending, never both or neither.
 * KEYS: [1] pending hash, [2] batch key, [3] hold-info hash, [4] in-flight hash, [5] hold sorted set
 * ARGV: [1] the remaining batch JSON ('' = none remains), then per field: field, due ms
 *       ('+inf' = deferred), hold-info JSON, pending-entry JSON
 * Returns the fields re-staged meanwhile (their held entry was dropped for the newer one).
 */
const HOLD = luaScript(
  'gate_hold',
  ['pending', 'batch', 'holdInfo', 'inflight', 'hold'],
  `
local superseded = {}
for i = 2, #ARGV, 4 do
  local field = ARGV[i]
  if redis.call('HSETNX', KEYS[1], field, ARGV[i + 3]) == 0 then superseded[#superseded + 1] = field end
  redis.call('HDEL', KEYS[4], field)
  redis.call('ZADD', KEYS[5], ARGV[i + 1], field)
  redis.call('HSET', KEYS[3], field, ARGV[i + 2])
end
if ARGV[1] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[1]) end
return superseded
`,
);

/**
 * Drops fields from a taken batch for good (the integrity gate refused them): they leave the
 * in-flight hash and any hold, and the batch shrinks to the rest, in one step.
 * KEYS: [1] batch key, [2] hold-info hash, [3] in-flight hash, [4] hold sorted set
 * ARGV: [1] the remaining batch JSON ('' = none remains), [2..] the dropped fields
 */
const DROP = luaScript(
  'gate_drop',
  ['batch', 'holdInfo', 'inflight', 'hold'],
  `
for i = 2, #ARGV do
  redis.call('HDEL', KEYS[3], ARGV[i])
  redis.call('ZREM', KEYS[4], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
if ARGV[1] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`,
);

/**
 * Makes deferred fields due now (\`phasegate retry --deferred\`).
 * KEYS: [1] hold sorted set; ARGV: [1] now (ms), [2..] fields (none = every deferred field)
 * Returns the fields made due.
 */
const UNPARK = luaScript(
  'gate_unpark',
  ['hold'],
  `
local parked = redis.call('ZRANGEBYSCORE', KEYS[1], '+inf', '+inf')
local wanted = nil
if #ARGV > 1 then
  wanted = {}
  for i = 2, #ARGV do wanted[ARGV[i]] = true end
end
local out = {}
for _, field in ipairs(parked) do
  if wanted == nil or wanted[field] then
    redis.call('ZADD', KEYS[1], ARGV[1], field)
    out[#out + 1] = field
  end
end
return out
`,
);

/** A batch without some of its fields: a new batch, the given one unchanged. */
function without(batch: TakenBatch, gone: ReadonlySet<string>): TakenBatch {
  const slices = batch.slices.filter((s) => !gone.has(s));
  return { ...batch, slices, entries: Object.fromEntries(slices.map((s) => [s, batch.entries[s] as PendingSlice])) };
}

export class TableGateStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    // Defined now, so every MULTI made on the connection afterwards can queue it (script.ts).
    REGISTER.define(redis);
  }

  /** The keys of one table's gate and one commit job's batch, by the names the scripts declare. */
  private gateKeys(table: string, jobId: string) {
    const k = this.keys;
    return {
      pending: k.pending(table),
      batch: k.batch(table, jobId),
      commitSeq: k.commitSeq(table),
      holdInfo: k.holdInfo(table),
      inflight: k.inflight(table),
      hold: k.hold(table),
    };
  }

  /**
   * Registers a staged slice as pending (replacing an older staging of the same slice) and
   * returns the sequence number naming the commit job that will take it, how many slices are
   * pending, and the entry it replaced — read in the same script, so two stagers racing on one
   * slice each learn exactly the entry they overwrote. No commit reads a pending entry (a take
   * moves it into its batch first), so the replaced entry's object is the caller's to delete.
   */
  async register(table: string, slice: string, entry: PendingSlice): Promise<Registered> {
    const step = new RedisStep(this.redis);
    const registered = this.registerIn(step, table, slice, entry);
    await step.run(`register ${table}/${slice}`);
    return registered();
  }

  /**
   * `register` as part of a caller's step (its other writes — the slice's status, the end of its
   * run — land in the same MULTI, so the gate cannot take the slice before them). The returned
   * function gives the answer once the step ran.
   */
  registerIn(step: RedisStep, table: string, slice: string, entry: PendingSlice): () => Registered {
    const k = this.keys;
    const replies = step.add((multi) =>
      REGISTER.queue(multi, { pending: k.pending(table), hold: k.hold(table), commitSeq: k.commitSeq(table) }, slice, JSON.stringify(entry)),
    );
    return () => {
      const [previous, seq, pending] = (replies()[0] ?? []) as [string, number, number];
      return { seq: Number(seq ?? 0), pending: Number(pending ?? 0), previous: previous ? (JSON.parse(previous) as PendingSlice) : undefined };
    };
  }

  /**
   * Takes the job's batch (or re-reads the one it took). `remaining`: fields that could still
   * be taken now; `nextDueMs`: when the earliest held field comes due, if any; `seq`: the
   * commit sequence after the take, which names the commit job for the `remaining` fields.
   */
  async take(
    table: string,
    jobId: string,
    limits: { maxSlices: number; maxRows: number },
    now = Date.now(),
  ): Promise<{ batch: TakenBatch | null; remaining: number; nextDueMs: number | undefined; seq: number }> {
    const [json, remaining, nextDue, seq] = (await TAKE.run(
      this.redis,
      this.gateKeys(table, jobId),
      limits.maxSlices,
      limits.maxRows,
      new Date(now).toISOString(),
      jobId,
      now,
    )) as [string | null, number, number, number];
    const nextDueMs = Number(nextDue) >= 0 ? Number(nextDue) : undefined;
    if (!json) return { batch: null, remaining: Number(remaining), nextDueMs, seq: Number(seq) };
    const batch = JSON.parse(json) as TakenBatch;
    // cjson encodes an empty Lua table as {}; a batch always has at least one slice.
    return { batch, remaining: Number(remaining), nextDueMs, seq: Number(seq) };
  }

  /** Releases a batch (landed or failed) and returns how many fields could be taken now. */
  async release(table: string, batch: TakenBatch, now = Date.now()): Promise<number> {
    return Number(await RELEASE.run(this.redis, this.gateKeys(table, batch.jobId), now, ...batch.slices));
  }

  /**
   * Holds `held` fields of a taken batch back until their due time (Infinity = deferred until
   * a person retries) with the conflict path's note on each. Returns the batch that remains
   * (the caller's is left as it was) and the fields that were re-staged meanwhile (their old
   * staged object is now unused).
   */
  async hold(table: string, batch: TakenBatch, held: readonly (HeldField & { info: string })[]): Promise<{ batch: TakenBatch; superseded: string[] }> {
    const rest = without(batch, new Set(held.map((h) => h.field)));
    const args: string[] = [rest.slices.length === 0 ? '' : JSON.stringify(rest)];
    for (const h of held) {
      const entry = batch.entries[h.field];
      if (!entry) continue;
      args.push(h.field, Number.isFinite(h.dueMs) ? String(Math.round(h.dueMs)) : '+inf', h.info, JSON.stringify(entry));
    }
    const superseded = (await HOLD.run(this.redis, this.gateKeys(table, batch.jobId), ...args)) as string[];
    return { batch: rest, superseded };
  }

  /** Drops `fields` from a taken batch (refused by the integrity gate); returns the batch that remains. */
  async drop(table: string, batch: TakenBatch, fields: readonly string[]): Promise<TakenBatch> {
    if (fields.length === 0) return batch;
    const rest = without(batch, new Set(fields));
    await DROP.run(this.redis, this.gateKeys(table, batch.jobId), rest.slices.length === 0 ? '' : JSON.stringify(rest), ...fields);
    return rest;
  }

  /** Makes deferred fields (all, or the named ones) due now; returns those made due. */
  async unpark(table: string, fields: readonly string[] = [], now = Date.now()): Promise<string[]> {
    return (await UNPARK.run(this.redis, { hold: this.keys.hold(table) }, now, ...fields)) as string[];
  }

  /** Held fields with their due times (Infinity = deferred), earliest first. */
  async held(table: string): Promise<HeldField[]> {
    const flat = await this.redis.zrange(this.keys.hold(table), '0', '-1', 'WITHSCORES');
    const out: HeldField[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ field: flat[i] as string, dueMs: scoreMs(flat[i + 1]) });
    return out;
  }

  /** The conflict path's notes on some fields (undefined where none). */
  async holdInfo(table: string, fields: readonly string[]): Promise<(string | undefined)[]> {
    if (fields.length === 0) return [];
    return (await this.redis.hmget(this.keys.holdInfo(table), ...fields)).map((v) => v ?? undefined);
  }

  /** Every note the conflict path keeps for a table, by field. */
  async allHoldInfo(table: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.holdInfo(table));
  }

  /** Batches taken by jobs and not released yet: job id → batch. */
  async takenBatches(table: string): Promise<Map<string, TakenBatch>> {
    const prefix = this.keys.batch(table, '');
    const out = new Map<string, TakenBatch>();
    let cursor = '0';
    // SCAN walks one server's keys: on a cluster, the master holding the prefix's hash tag.
    const server = nodeFor(this.redis, prefix) ?? this.redis;
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]]/g, '\\$&')}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const json = await this.redis.get(key);
        if (json) out.set(key.slice(prefix.length), JSON.parse(json) as TakenBatch);
      }
    } while (cursor !== '0');
    return out;
  }

  /** Puts a batch's slices back as pending (unless re-staged meanwhile) and releases it. */
  async putBack(table: string, batch: TakenBatch, slices: readonly string[]): Promise<void> {
    const multi = this.redis.multi();
    for (const slice of slices) {
      const entry = batch.entries[slice];
      if (entry) multi.hsetnx(this.keys.pending(table), slice, JSON.stringify(entry));
    }
    await multi.exec();
    await this.release(table, batch);
  }

  /** Batch fields → their slices, distinct and sorted (append tables hold many fields per slice). */
  static slicesOf(batch: Pick<TakenBatch, 'slices'>): string[] {
    return [...new Set(batch.slices.map(sliceOfField))].sort();
  }

  async currentSeq(table: string): Promise<number> {
    return Number((await this.redis.get(this.keys.commitSeq(table))) ?? 0);
  }

  async pendingCount(table: string): Promise<number> {
    return this.redis.hlen(this.keys.pending(table));
  }

  async pending(table: string): Promise<Map<string, PendingSlice>> {
    const raw = await this.redis.hgetall(this.keys.pending(table));
    return new Map(Object.entries(raw).map(([slice, json]) => [slice, JSON.parse(json) as PendingSlice]));
  }

  /**
   * Counts one write of a table today (UTC) and returns today's count of its kind: a table
   * modification (against the daily budget) when the warehouse counts it as one (its
   * `capabilities`; the gate does not know BigQuery's rules), else a DML statement (shown,
   * never capped).
   */
  async countTableOp(table: string, dailyModification: boolean, day = new Date().toISOString().slice(0, 10)): Promise<number> {
    const key = dailyModification ? this.keys.tableModifications(table, day) : this.keys.tableOps(table, day);
    const res = await this.redis
      .multi()
      .incr(key)
      .expire(key, 3 * 86_400)
      .exec();
    return Number(res?.[0]?.[1] ?? 0);
  }

  /**
   * Takes a place for one statement in the table's sliding rate window (`OPS_SLOT`); 0 when
   * taken, else how long until one frees (ms). `member` names the statement (unique);
   * `windowMs` is whole milliseconds.
   */
  async takeOpsSlot(table: string, limits: { max: number; windowMs: number }, member: string, now = Date.now()): Promise<number> {
    return Number(await OPS_SLOT.run(this.redis, { window: this.keys.opsWindow(table) }, now, limits.windowMs, limits.max, member));
  }

  /**
   * Moves a taken place to `at`, when its statement starts: the place was taken at the time its
   * request left, and the reply's way back (milliseconds, more on a busy process) would otherwise
   * let a later place count the window from too early. Only a place still there moves.
   */
  async restampOpsSlot(table: string, member: string, at: number): Promise<void> {
    await this.redis.zadd(this.keys.opsWindow(table), 'XX', at, member);
  }

  /** DML statements (group commits) counted today (UTC). */
  async tableOpsToday(table: string, day = new Date().toISOString().slice(0, 10)): Promise<number> {
    return Number((await this.redis.get(this.keys.tableOps(table, day))) ?? 0);
  }

  /** Table modifications (loads, copies, query appends) counted today (UTC): what the daily budget limits. */
  async tableModificationsToday(table: string, day = new Date().toISOString().slice(0, 10)): Promise<number> {
    return Number((await this.redis.get(this.keys.tableModifications(table, day))) ?? 0);
  }
}
