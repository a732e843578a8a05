/**
 * Completion events: every successful commit appends one `committed` event per slice to a
 * Redis Stream. Downstream phases consume it with a consumer group (at-least-once).
 * The field layout is a public interface, documented in the README.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';

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
  };
}

export interface StreamCap {
  /** Approximate maximum entries kept. @defaultValue 1_000_000 */
  maxLen: number;
}

export async function publishCommitted(redis: Redis, keys: Keys, events: readonly CommittedEvent[], cap: StreamCap = { maxLen: 1_000_000 }): Promise<void> {
  if (events.length === 0) return;
  const multi = redis.multi();
  for (const event of events) multi.xadd(keys.events(), 'MAXLEN', '~', String(cap.maxLen), '*', ...toFields(event));
  await multi.exec();
}
