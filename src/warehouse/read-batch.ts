/**
 * Group reads: the read side of group commit. Phase 3–5 jobs running at once in one process
 * ask the warehouse for their inputs' slices; the reads of one table (with the same columns)
 * asked within a short window become ONE `readSlices` over the union of their slices — on
 * BigQuery one query job where each job would have run its own (about a second of latency,
 * and billed at least 10 MB per table it references:
 * cloud.google.com/bigquery/pricing#on_demand_pricing), on DuckDB one scan. Each job still gets
 * exactly the rows of the slices it asked for, in the order a read of its own returns them
 * (by slice, then key), and keeps its own status and retry: a failed read fails every job of
 * its batch, and each tries again on its own.
 *
 * A batch is bounded by the jobs it serves, not by dates: a look-back read asks for a window of
 * earlier dates, and the windows of a batch's jobs overlap, so each earlier date is read once
 * per batch. (DataLoader, the usual batching library, bounds a batch by keys — here dates — so
 * it would cut one job's window across several queries; this is the small part it lacks.)
 */
import { type Row, type TableSpec, tableId } from '../processors/types.ts';

export interface ReadBatchOptions {
  /**
   * How long a batch waits for one more read (ms): each read that joins restarts the wait, so
   * jobs started one after another in a burst (a group commit's slices) share a batch, and a
   * lone read waits only this long. 0 reads at once, alone.
   */
  gatherMs: number;
  /** Most reads one batch serves; the one that fills it sends the batch. */
  maxReads: number;
  /** Longest a batch gathers from its first read, however reads keep coming (ms). @defaultValue 20 × gatherMs */
  maxGatherMs?: number;
}

export type SliceReader = (spec: TableSpec, slices: readonly string[]) => Promise<Row[]>;

interface Waiting {
  slices: readonly string[];
  resolve(rows: Row[]): void;
  reject(err: unknown): void;
}

interface Batch {
  spec: TableSpec;
  waiting: Waiting[];
  /** When the batch is sent at the latest (ms since the epoch). */
  deadline: number;
  timer?: NodeJS.Timeout;
}

/** What a batcher did: reads asked of it, and reads it sent to the warehouse. */
export interface ReadBatchStats {
  asked: number;
  sent: number;
}

/** A slice column's value as the slice it names (`YYYY-MM-DD` for a DATE). */
function sliceOf(value: unknown): string {
  return value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
}

export class ReadBatcher {
  private readonly batches = new Map<string, Batch>();
  readonly stats: ReadBatchStats = { asked: 0, sent: 0 };

  constructor(
    private readonly read: SliceReader,
    private readonly opts: ReadBatchOptions,
  ) {}

  readSlices(spec: TableSpec, slices: readonly string[]): Promise<Row[]> {
    this.stats.asked += 1;
    if (slices.length === 0) return Promise.resolve([]);
    // Rows are handed back by their slice column; a projection without it is read alone.
    if (this.opts.gatherMs <= 0 || this.opts.maxReads <= 1 || !spec.columns.some((c) => c.name === spec.sliceColumn)) {
      this.stats.sent += 1;
      return this.read(spec, slices);
    }
    const key = `${tableId(spec)}(${spec.columns.map((c) => c.name).join(',')})`;
    return new Promise<Row[]>((resolve, reject) => {
      const now = Date.now();
      let batch = this.batches.get(key);
      if (!batch) {
        batch = { spec, waiting: [], deadline: now + (this.opts.maxGatherMs ?? 20 * this.opts.gatherMs) };
        this.batches.set(key, batch);
      }
      clearTimeout(batch.timer);
      batch.waiting.push({ slices, resolve, reject });
      if (batch.waiting.length >= this.opts.maxReads) void this.send(key);
      else batch.timer = setTimeout(() => void this.send(key), Math.max(0, Math.min(this.opts.gatherMs, batch.deadline - now)));
    });
  }

  private async send(key: string): Promise<void> {
    const batch = this.batches.get(key);
    if (!batch) return;
    this.batches.delete(key);
    clearTimeout(batch.timer);
    const union = [...new Set(batch.waiting.flatMap((w) => w.slices))].sort();
    this.stats.sent += 1;
    let rows: Row[];
    try {
      rows = await this.read(batch.spec, union);
    } catch (err) {
      for (const w of batch.waiting) w.reject(err);
      return;
    }
    const bySlice = new Map<string, Row[]>();
    for (const row of rows) {
      const slice = sliceOf(row[batch.spec.sliceColumn]);
      const list = bySlice.get(slice);
      if (list) list.push(row);
      else bySlice.set(slice, [row]);
    }
    // One job at a time, letting the event loop turn between them, and let go of each once
    // handed its rows: a job builds its own rows at once and then stages them (I/O), and its
    // input list can go as soon as it has. Handed all together, a batch's jobs (up to 256) all
    // held their lists — a rolling-features job's season to date, ~40,000 rows — and built their
    // rows before the first staging could go on: 100 MB live in the commit-gate process of a
    // 1,700-date cascade (heap snapshots at its cap, bench:scale).
    // The turn lets I/O in between two jobs, so the first jobs' staging goes on, and their rows
    // go, while later ones are handed theirs (with 32 microtask turns instead, no event-loop
    // turn, the gate held ~30 MB more). It also lets a table see a wave's slices sooner: at
    // 1,700 dates × 100 (MERGEs of 20 ms) phase 3's tables took 38–44 statements instead of
    // 28–31; at × 5, and at BigQuery's own pace, 28–29.
    const { waiting } = batch;
    batch.waiting = [];
    for (let w = waiting.shift(), first = true; w; w = waiting.shift(), first = false) {
      if (!first) await new Promise((turn) => setImmediate(turn));
      w.resolve([...new Set(w.slices)].sort().flatMap((s) => bySlice.get(s) ?? []));
    }
  }
}
