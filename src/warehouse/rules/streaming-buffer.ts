/**
 * Rows written by a streaming insert (the legacy tabledata insert-all API) sit in BigQuery's streaming buffer
 * for ~30 min (rarely 90): they are queryable, but any UPDATE/DELETE/MERGE over their
 * partition fails. One entry per streamed slice; entries expire lazily, so no timers.
 */
import type { StreamingBufferInfo } from '../types.ts';

interface Entry {
  slice: string;
  rows: number;
  insertedAt: number;
  flushAt: number;
}

export class StreamingBuffer {
  private entries: Entry[] = [];
  private readonly holdMs: number;

  constructor(holdMs: number) {
    this.holdMs = holdMs;
  }

  add(rowsBySlice: ReadonlyMap<string, number>, now: number): void {
    for (const [slice, rows] of rowsBySlice) this.entries.push({ slice, rows, insertedAt: now, flushAt: now + this.holdMs });
  }

  private live(now: number): Entry[] {
    this.entries = this.entries.filter((e) => e.flushAt > now);
    return this.entries;
  }

  /** Slices with rows still in the buffer, sorted. */
  slices(now: number): string[] {
    return [...new Set(this.live(now).map((e) => e.slice))].sort();
  }

  /** Which of `slices` a mutating statement may not touch now (BigQuery checks by partition). */
  conflicts(slices: readonly string[], now: number): string[] {
    const buffered = new Set(this.live(now).map((e) => e.slice));
    return slices.filter((s) => buffered.has(s));
  }

  /** What `tables.get` reports as `streamingBuffer`, or undefined once it has flushed. */
  info(now: number): StreamingBufferInfo | undefined {
    const live = this.live(now);
    if (live.length === 0) return undefined;
    const oldest = Math.min(...live.map((e) => e.insertedAt));
    return { oldestEntryTime: new Date(oldest), estimatedRows: live.reduce((n, e) => n + e.rows, 0) };
  }
}
