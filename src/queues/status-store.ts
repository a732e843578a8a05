/**
 * Per (processor, slice) status, the source of truth for progress bars, `status`, the
 * dashboard grid and failed-date files. A slice counts as committed only after its MERGE
 * succeeded. A status written for a backfill is also kept in that backfill's own hash, so a
 * later run of the same slices does not rewrite what an earlier backfill's page shows.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';

/**
 * `incomplete`: the slice cannot show it is complete — some of its scheduled games are missing
 * (the games it has committed, unless that would shrink what the warehouse holds), or none
 * came and nothing was staged. `empty`: nothing was scheduled and nothing came; nothing staged.
 */
export const SLICE_STATES = ['pending', 'running', 'staged', 'committed', 'incomplete', 'empty', 'waiting', 'deferred', 'failed'] as const;
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
}

/** States after which nothing more happens to a slice without a person or a new run. */
export const FINAL_STATES: ReadonlySet<SliceState> = new Set(['committed', 'incomplete', 'empty', 'failed', 'deferred']);

/** States in which the slice's rows (all or some of its games) are in the warehouse for this run. */
export function landed(s: Pick<SliceStatus, 'status' | 'nothingLanded'> | undefined): boolean {
  return s?.status === 'committed' || (s?.status === 'incomplete' && !s.nothingLanded);
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

export class StatusStore {
  private readonly opts: StatusStoreOptions;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    opts: Partial<StatusStoreOptions> = {},
  ) {
    this.opts = { ...STATUS_STORE_DEFAULTS, ...opts };
  }

  /**
   * Writes `value` for the slices: the latest status (one hash per processor) and, when the
   * status names a backfill, that backfill's own copy — in one MULTI, so the two never disagree
   * about which write came last.
   */
  private async write(processor: string, slices: readonly string[], value: SliceStatus): Promise<void> {
    const json = JSON.stringify(value);
    const latest: string[] = [];
    for (const slice of slices) latest.push(slice, json);
    const multi = this.redis.multi().hset(this.keys.status(processor), ...latest);
    if (value.backfillId) {
      const own: string[] = [];
      for (const slice of slices) own.push(ownField(processor, slice), json);
      const key = this.keys.backfillStatuses(value.backfillId);
      multi.hset(key, ...own).expire(key, this.opts.backfillOutcomeTtlSeconds);
    }
    const res = await multi.exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw new Error(`status of ${processor} (${slices.length} slices): ${failed?.[0]?.message ?? 'transaction aborted'}`);
  }

  async set(processor: string, slice: string, status: Omit<SliceStatus, 'updatedAt'>): Promise<void> {
    await this.write(processor, [slice], { ...status, updatedAt: new Date().toISOString() });
  }

  /** Sets many slices of one processor in one round trip. */
  async setMany(processor: string, slices: readonly string[], status: Omit<SliceStatus, 'updatedAt'>): Promise<void> {
    if (slices.length === 0) return;
    await this.write(processor, slices, { ...status, updatedAt: new Date().toISOString() });
  }

  /** Merges fields into the current status (keeps rows/attempts the caller did not name). */
  async update(processor: string, slice: string, patch: Partial<SliceStatus> & Pick<SliceStatus, 'status'>): Promise<void> {
    const current = await this.get(processor, slice);
    await this.set(processor, slice, { ...current, ...patch });
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
