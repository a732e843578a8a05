/**
 * How a stream entry becomes a Pub/Sub message — the layout is a public interface, documented
 * in docs/events.md. Pub/Sub assigns its own `messageId` on every publish, so a republish of the
 * same entry (a relay that stopped after Pub/Sub accepted a batch and before it acknowledged
 * the entries) gets a new one; the `eventId` attribute is the entry's and does not change.
 */

import type { RunEndEvent } from '../queues/events/run-ends.ts';
import type { CommittedEvent } from '../queues/events/stream.ts';

export interface RelayMessage {
  data: Buffer;
  attributes: Record<string, string>;
  /** Messages with one key are delivered in publish order to an ordered subscription. */
  orderingKey?: string;
}

/**
 * `eventId` is `<prefix>/<stream>/<entry id>`: unique per stream entry across pipelines that
 * share a topic (each has its own prefix), the same for every publish of that entry.
 */
export function eventIdOf(prefix: string, stream: 'events' | 'run-ends', entryId: string): string {
  return `${prefix}/${stream}/${entryId}`;
}

/** A `committed` event: ordered per table, so a subscriber sees a table's dates in commit order. */
export function committedMessage(prefix: string, entryId: string, event: CommittedEvent): RelayMessage {
  const eventId = eventIdOf(prefix, 'events', entryId);
  const attributes: Record<string, string> = {
    type: 'committed',
    eventId,
    processor: event.processor,
    table: event.table,
    slice: event.slice,
    rows: String(event.rows),
    batchId: event.batchId,
  };
  if (event.backfillId) attributes.run = event.backfillId;
  return { data: Buffer.from(JSON.stringify({ eventId, ...event })), attributes, orderingKey: event.table };
}

/** A run's end: no ordering key (it orders with no table's events; Pub/Sub needs none). */
export function runEndMessage(prefix: string, entryId: string, event: RunEndEvent): RelayMessage {
  const eventId = eventIdOf(prefix, 'run-ends', entryId);
  return { data: Buffer.from(JSON.stringify({ eventId, ...event })), attributes: { type: event.type, eventId, run: event.run } };
}
