/**
 * Completion events: every successful commit appends one `committed` event per slice to a
 * Redis Stream. Downstream phases consume it with a consumer group (at-least-once).
 * The field layout is a public interface, documented in the README.
 */

import type { Config } from '../../config/load-config.ts';
import type { RedisClient } from '../../redis/connect.ts';
import type { Keys } from '../../redis/keys.ts';
import { RedisStep } from '../../redis/step.ts';

export interface CommittedEvent {
  type: 'committed';
  processor: string;
  table: string;
  slice: string;
  rows: number;
  batchId: string;
  committedAt: string;
  backfillId?: string | undefined;
  /** The backfill's requested downstream processors, when the event should carry work down. */
  targets?: string[] | undefined;
  cascade?: boolean | undefined;
  /** The slice was committed before with other content: what its downstream was computed from changed. */
  changed?: boolean | undefined;
  /** W3C `traceparent` of the slice's `committed` span, when tracing is on: downstream work continues its trace. */
  traceparent?: string | undefined;
}

/** Stream entries are flat string pairs; arrays travel as JSON. */
function toFields(event: CommittedEvent): string[] {
  const fields: string[] = [];
  for (const [k, v] of Object.entries(event)) {
    if (v === undefined) continue;
    fields.push(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return fields;
}

export function parseEventFields(fields: readonly string[]): CommittedEvent {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i] as string] = fields[i + 1] as string;
  return {
    type: 'committed',
    processor: o.processor ?? '',
    table: o.table ?? '',
    slice: o.slice ?? '',
    rows: Number(o.rows ?? 0),
    batchId: o.batchId ?? '',
    committedAt: o.committedAt ?? '',
    backfillId: o.backfillId,
    targets: o.targets ? (JSON.parse(o.targets) as string[]) : undefined,
    cascade: o.cascade === undefined ? undefined : o.cascade === 'true',
    changed: o.changed === 'true' ? true : undefined,
    traceparent: o.traceparent,
  };
}

export interface StreamCap {
  /** Approximate maximum entries kept. @defaultValue 1_000_000 */
  maxLen: number;
  /** Entries older than this are trimmed by `trimEvents`, in seconds. @defaultValue 7 days */
  maxAgeSeconds?: number | undefined;
}

/** The stream cap the configuration asks for (PHASEGATE_EVENTS_MAX_LEN / _MAX_AGE_HOURS). */
export function streamCapFrom(config: Pick<Config, 'events'>): StreamCap {
  return { maxLen: config.events.maxLen, maxAgeSeconds: config.events.maxAgeSeconds };
}

/**
 * Trims the stream by age and length. XADD can cap by one of them only, so the age cap is
 * applied here, periodically (the dependency tracker calls it). `~` lets Redis trim whole
 * macro-nodes, which is what keeps trimming O(1) amortised.
 */
export async function trimEvents(redis: RedisClient, keys: Keys, cap: StreamCap, now = Date.now()): Promise<number> {
  let trimmed = 0;
  if (cap.maxAgeSeconds !== undefined) trimmed += await redis.xtrim(keys.events(), 'MINID', '~', String(Math.max(0, now - cap.maxAgeSeconds * 1000)));
  trimmed += await redis.xtrim(keys.events(), 'MAXLEN', '~', String(cap.maxLen));
  return trimmed;
}

export async function publishCommitted(
  redis: RedisClient,
  keys: Keys,
  events: readonly CommittedEvent[],
  cap: StreamCap = { maxLen: 1_000_000 },
): Promise<void> {
  if (events.length === 0) return;
  const step = new RedisStep(redis);
  publishCommittedIn(step, keys, events, cap);
  await step.run(`publishing ${events.length} committed events`);
}

/** `publishCommitted` as part of a commit's step: the events land with the slices' `committed` statuses, all or none. */
export function publishCommittedIn(step: RedisStep, keys: Keys, events: readonly CommittedEvent[], cap: StreamCap = { maxLen: 1_000_000 }): void {
  if (events.length === 0) return;
  step.add((multi) => {
    for (const event of events) multi.xadd(keys.events(), 'MAXLEN', '~', String(cap.maxLen), '*', ...toFields(event));
  });
}
