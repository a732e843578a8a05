/**
 * Per (processor, slice) status, the source of truth for progress bars, `status`, the
 * dashboard grid and failed-date files. A slice counts as committed only after its MERGE
 * succeeded.
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

export class StatusStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async set(processor: string, slice: string, status: Omit<SliceStatus, 'updatedAt'>): Promise<void> {
    const value: SliceStatus = { ...status, updatedAt: new Date().toISOString() };
    await this.redis.hset(this.keys.status(processor), slice, JSON.stringify(value));
  }

  /** Sets many slices of one processor in one round trip. */
  async setMany(processor: string, slices: readonly string[], status: Omit<SliceStatus, 'updatedAt'>): Promise<void> {
    if (slices.length === 0) return;
    const value = JSON.stringify({ ...status, updatedAt: new Date().toISOString() } satisfies SliceStatus);
    const args: string[] = [];
    for (const slice of slices) args.push(slice, value);
    await this.redis.hset(this.keys.status(processor), ...args);
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
