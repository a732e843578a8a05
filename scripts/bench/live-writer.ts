/**
 * The live writer: what the pipeline's auto-processor did during the incident. The backfill's
 * own raw-file writes triggered it, so it processed the dates the backfill was about to reach:
 * here, at a steady `ratePerMinute` (BigQuery minutes), it takes a date a little ahead of the
 * mode's frontier (the furthest date the mode has begun), runs the same processor on the same
 * raw files and writes the rows with a legacy streaming insert (`insertAll`). Those rows sit in
 * the streaming buffer for `bufferSeconds`, so the mode's own write of that date, moments
 * later, meets them. It never deletes first: the auto-processor appended, which is how the
 * incident's rows were "silently duplicated".
 *
 * Being tied to the frontier rather than to the clock makes every mode meet the same number
 * of conflicts whatever its speed, and the lead (more dates than the mode has in flight)
 * keeps the stream ahead of the mode's write.
 */

import { mulberry32 } from '../../src/prng.ts';
import { nbacPlayerBoxscore } from '../../src/processors/nbac/player-boxscore.ts';
import type { TableSpec } from '../../src/processors/types.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import type { BigQueryRulesWarehouse } from '../../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { FIXTURE_SCHEDULE } from './raw-files.ts';

export interface LiveStream {
  date: string;
  rows: number;
  /** Real ms since the mode started. */
  atMs: number;
  /** The mode's frontier (dates begun) when the date was streamed. */
  frontier: number;
}

/** How far the mode has got: every mode reports the dates it has begun. */
export class Frontier {
  private readonly index: Map<string, number>;
  private furthest = 0;

  constructor(dates: readonly string[]) {
    this.index = new Map(dates.map((d, i) => [d, i]));
  }

  begun(date: string): void {
    this.furthest = Math.max(this.furthest, (this.index.get(date) ?? -1) + 1);
  }

  /** One past the index of the furthest date begun. */
  get value(): number {
    return this.furthest;
  }
}

export class LiveWriter {
  readonly streams: LiveStream[] = [];
  readonly errors: string[] = [];
  private stopped = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly random: () => number;

  constructor(
    private readonly opts: {
      warehouse: BigQueryRulesWarehouse;
      spec: TableSpec;
      store: ObjectStore;
      dates: readonly string[];
      frontier: Frontier;
      /** How many dates to stream. */
      count: number;
      /** Dates streamed per BigQuery minute. */
      ratePerMinute: number;
      /** Streams a date at least this many dates past the frontier. */
      lead: number;
      timeScale: number;
      seed: number;
      startedAt: number;
    },
  ) {
    this.random = mulberry32(opts.seed * 7919 + 17);
  }

  start(): void {
    this.running ??= this.run();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** A date between lead and 2 × lead past the frontier that was not streamed yet, if any. */
  private pick(streamed: ReadonlySet<string>): string | undefined {
    const { dates, lead, frontier } = this.opts;
    const from = frontier.value + lead;
    const candidates: string[] = [];
    for (let i = from; i < Math.min(dates.length, from + Math.max(1, lead)); i++) {
      const d = dates[i] as string;
      if (!streamed.has(d)) candidates.push(d);
    }
    return candidates[Math.floor(this.random() * candidates.length)];
  }

  private async run(): Promise<void> {
    const { warehouse, spec, store, ratePerMinute, timeScale, startedAt, count, frontier } = this.opts;
    const intervalMs = 60_000 / ratePerMinute / timeScale;
    const streamed = new Set<string>();
    for (let tick = 0; streamed.size < count; tick++) {
      // A fixed schedule from the mode's start, like files landing at a steady pace.
      const due = startedAt + tick * intervalMs;
      if (Date.now() < due) await this.sleep(due - Date.now());
      if (this.stopped) return;
      const date = this.pick(streamed);
      if (!date) {
        // Nothing left ahead of the backfill: the auto-processor has caught up with it.
        if (frontier.value + this.opts.lead >= this.opts.dates.length) return;
        continue;
      }
      streamed.add(date);
      try {
        const at = frontier.value;
        const rows = await nbacPlayerBoxscore.run({ slice: date, store, schedule: FIXTURE_SCHEDULE });
        await warehouse.streamingInsert(spec, rows);
        this.streams.push({ date, rows: rows.length, atMs: Date.now() - startedAt, frontier: at });
      } catch (err) {
        this.errors.push(`${date}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }
}
