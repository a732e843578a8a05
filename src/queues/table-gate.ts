/**
 * The table gate's Redis side: phase jobs register staged slices as pending for a table,
 * and a commit job atomically takes up to N of them as one batch. Many dates per
 * statement is what lets a multi-season backfill use a few dozen table operations.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';

export interface PendingSlice {
  /** Object-store key of the staged NDJSON. */
  object: string;
  rows: number;
  processor: string;
  stagedAt: string;
  backfillId?: string | undefined;
}

export interface TakenBatch {
  /** The commit job that took the batch. */
  jobId: string;
  slices: string[];
  entries: Record<string, PendingSlice>;
  takenAt: string;
}

/**
 * Takes (or re-reads) a commit job's batch.
 * KEYS: [1] pending hash, [2] batch key, [3] commit-seq counter, [4] in-flight hash
 * ARGV: [1] max slices, [2] max rows, [3] takenAt ISO, [4] job id
 * Returns: the batch JSON (or nil when nothing is pending), and how many slices stay pending.
 * A batch already taken by this job is returned unchanged, so a retried or stalled commit
 * job lands exactly the slices it took. Bumping the sequence in the same script is what
 * makes a slice registered after the take get a new commit job (see `register`).
 * Slices in flight in another batch are left pending: two concurrent MERGEs of one slice
 * could land an older version last.
 */
const TAKE_LUA = `
local existing = redis.call('GET', KEYS[2])
if existing then return {existing, redis.call('HLEN', KEYS[1])} end
redis.call('INCR', KEYS[3])
local flat = redis.call('HGETALL', KEYS[1])
local slices = {}
local raw = {}
for i = 1, #flat, 2 do
  if redis.call('HEXISTS', KEYS[4], flat[i]) == 0 then
    slices[#slices + 1] = flat[i]
    raw[flat[i]] = flat[i + 1]
  end
end
if #slices == 0 then return {false, #flat / 2} end
table.sort(slices)
local maxSlices = tonumber(ARGV[1])
local maxRows = tonumber(ARGV[2])
local taken = {}
local entries = {}
local rows = 0
for _, slice in ipairs(slices) do
  local entry = cjson.decode(raw[slice])
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
return {batch, redis.call('HLEN', KEYS[1])}
`;

/**
 * Releases a landed (or failed) batch.
 * KEYS: [1] batch key, [2] in-flight hash; ARGV: the batch's slices. Returns 1.
 */
const RELEASE_LUA = `
redis.call('DEL', KEYS[1])
for i = 1, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
return 1
`;

export class TableGateStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  private inflight(table: string): string {
    return `${this.keys.pending(table)}:inflight`;
  }

  /**
   * Registers a staged slice as pending (replacing an older staging of the same slice) and
   * returns the sequence number naming the commit job that will take it, plus how many
   * slices are pending.
   */
  async register(table: string, slice: string, entry: PendingSlice): Promise<{ seq: number; pending: number }> {
    const res = await this.redis
      .multi()
      .hset(this.keys.pending(table), slice, JSON.stringify(entry))
      .get(this.keys.commitSeq(table))
      .hlen(this.keys.pending(table))
      .exec();
    if (!res) throw new Error(`register ${table}/${slice}: transaction aborted`);
    return { seq: Number(res[1]?.[1] ?? 0), pending: Number(res[2]?.[1] ?? 0) };
  }

  async take(table: string, jobId: string, limits: { maxSlices: number; maxRows: number }): Promise<{ batch: TakenBatch | null; remaining: number }> {
    const [json, remaining] = (await this.redis.eval(
      TAKE_LUA,
      4,
      this.keys.pending(table),
      this.keys.batch(table, jobId),
      this.keys.commitSeq(table),
      this.inflight(table),
      limits.maxSlices,
      limits.maxRows,
      new Date().toISOString(),
      jobId,
    )) as [string | null, number];
    if (!json) return { batch: null, remaining: Number(remaining) };
    const batch = JSON.parse(json) as TakenBatch;
    // cjson encodes an empty Lua table as {}; a batch always has at least one slice.
    return { batch, remaining: Number(remaining) };
  }

  async release(table: string, batch: TakenBatch): Promise<void> {
    await this.redis.eval(RELEASE_LUA, 2, this.keys.batch(table, batch.jobId), this.inflight(table), ...batch.slices);
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

  /** Counts one table operation against today's budget (UTC); returns today's count. */
  async countTableOp(table: string, day = new Date().toISOString().slice(0, 10)): Promise<number> {
    const key = this.keys.tableOps(table, day);
    const res = await this.redis.multi().incr(key).expire(key, 3 * 86_400).exec();
    return Number(res?.[0]?.[1] ?? 0);
  }

  async tableOpsToday(table: string, day = new Date().toISOString().slice(0, 10)): Promise<number> {
    return Number((await this.redis.get(this.keys.tableOps(table, day))) ?? 0);
  }
}
