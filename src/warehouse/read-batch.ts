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
 *
 * Given a reader of several tables at once (`Warehouse.readTables`: on BigQuery one query job),
 * the reads of every table asked within the window share one batch and one query: a phase-3
 * job reads its slice of each source table together (NBA.com's team and player lines and the
 * fallback's), and a batch of them was one query job per table.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Row, type TableSpec, tableId } from '../processors/types.ts';
import type { SliceRead } from './types.ts';

export interface ReadBatchOptions {
  /**
   * How long a batch waits for one more read (ms): each read that joins restarts the wait, so
   * jobs started one after another in a burst (a group commit's slices) share a batch, and a
   * lone read waits only this long. 0 reads at once, alone.
   */
  gatherMs: number;
  /** Most reads of one table one batch serves; the one that fills it sends the batch. */
  maxReads: number;
  /** Longest a batch gathers from its first read, however reads keep coming (ms). @defaultValue 20 × gatherMs */
  maxGatherMs?: number;
}

export type SliceReader = (spec: TableSpec, slices: readonly string[]) => Promise<Row[]>;
/** Reads several tables' slices in one query: each read's rows, in the order of `reads`. */
export type TablesReader = (reads: readonly SliceRead[]) => Promise<Row[][]>;

interface Waiting {
  slices: readonly string[];
  resolve(rows: Row[]): void;
  reject(err: unknown): void;
}

/** The reads of one table (with the same columns) in a batch. */
interface Part {
  spec: TableSpec;
  waiting: Waiting[];
}

interface Batch {
  /** By table and columns; one part unless the batcher reads several tables at once. */
  parts: Map<string, Part>;
  /** When the batch is sent at the latest (ms since the epoch). */
  deadline: number;
  /** A part is full: the batch goes at the next turn of the event loop, taking only reads that fit. */
  closing?: boolean;
  timer?: NodeJS.Timeout;
}

/** What a batcher did: reads asked of it, and queries it sent to the warehouse. */
export interface ReadBatchStats {
  asked: number;
  sent: number;
}

/** Every table's reads share the batch of this key when the batcher reads tables together. */
const ALL_TABLES = '*';

/** A slice column's value as the slice it names (`YYYY-MM-DD` for a DATE). */
function sliceOf(value: unknown): string {
  return value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
}

/**
 * A read's rows, its slices in order. One `concat` of the slices' lists: a rolling-features
 * job's season to date is ~100 lists, ~20,000 rows, and `flatMap` took three times as long.
 */
function rowsOfSlices(bySlice: ReadonlyMap<string, Row[]>, slices: readonly string[]): Row[] {
  const lists: Row[][] = [];
  for (const s of [...new Set(slices)].sort()) {
    const list = bySlice.get(s);
    if (list) lists.push(list);
  }
  // Spread into arguments only as far as a call takes them.
  return lists.length <= 4096 ? ([] as Row[]).concat(...lists) : lists.flat();
}

export class ReadBatcher {
  private readonly batches = new Map<string, Batch>();
  readonly stats: ReadBatchStats = { asked: 0, sent: 0 };

  constructor(
    private readonly read: SliceReader,
    private readonly opts: ReadBatchOptions,
    private readonly readMany?: TablesReader,
  ) {}

  readSlices(spec: TableSpec, slices: readonly string[]): Promise<Row[]> {
    this.stats.asked += 1;
    if (slices.length === 0) return Promise.resolve([]);
    // Rows are handed back by their slice column; a projection without it is read alone.
    if (this.opts.gatherMs <= 0 || this.opts.maxReads <= 1 || !spec.columns.some((c) => c.name === spec.sliceColumn)) {
      this.stats.sent += 1;
      return this.read(spec, slices);
    }
    const partKey = `${tableId(spec)}(${spec.columns.map((c) => c.name).join(',')})`;
    const key = this.readMany ? ALL_TABLES : partKey;
    return new Promise<Row[]>((resolve, reject) => {
      const now = Date.now();
      let batch = this.batches.get(key);
      // A batch about to go whose part of this table is full goes now; this read starts the next.
      if (batch?.closing && (batch.parts.get(partKey)?.waiting.length ?? 0) >= this.opts.maxReads) {
        void this.send(key, batch);
        batch = undefined;
      }
      if (!batch) {
        batch = { parts: new Map(), deadline: now + (this.opts.maxGatherMs ?? 20 * this.opts.gatherMs) };
        this.batches.set(key, batch);
      }
      let part = batch.parts.get(partKey);
      if (!part) {
        part = { spec, waiting: [] };
        batch.parts.set(partKey, part);
      }
      part.waiting.push({ slices, resolve, reject });
      if (batch.closing) return;
      clearTimeout(batch.timer);
      const full = batch;
      if (part.waiting.length >= this.opts.maxReads) {
        // Full: it goes once the reads asked in this same turn have joined — a job asks for its
        // slice of several tables at once, and those reads belong together.
        batch.closing = true;
        setImmediate(() => void this.send(key, full));
      } else batch.timer = setTimeout(() => void this.send(key, full), Math.max(0, Math.min(this.opts.gatherMs, batch.deadline - now)));
    });
  }

  private async send(key: string, batch: Batch): Promise<void> {
    // Sent already (a full part sent it before its turn came).
    if (this.batches.get(key) !== batch) return;
    this.batches.delete(key);
    clearTimeout(batch.timer);
    const parts = [...batch.parts.values()];
    const reads = parts.map((p) => ({ spec: p.spec, slices: [...new Set(p.waiting.flatMap((w) => w.slices))].sort() }));
    let rows: Row[][];
    try {
      if (this.readMany && reads.length > 1) {
        this.stats.sent += 1;
        rows = await this.readMany(reads);
      } else {
        this.stats.sent += reads.length;
        rows = await Promise.all(reads.map((r) => this.read(r.spec, r.slices)));
      }
    } catch (err) {
      for (const p of parts) for (const w of p.waiting) w.reject(err);
      return;
    }
    const handOuts = parts.map((part, i) => {
      const bySlice = new Map<string, Row[]>();
      for (const row of rows[i] ?? []) {
        const slice = sliceOf(row[part.spec.sliceColumn]);
        const list = bySlice.get(slice);
        if (list) list.push(row);
        else bySlice.set(slice, [row]);
      }
      const { waiting } = part;
      part.waiting = [];
      return { bySlice, waiting };
    });
    rows = [];
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
    // A job reading several tables of one batch waits for them all (readBestSources): each turn
    // hands the next read of every table, so the first jobs have all theirs first.
    for (let step = 0; handOuts.some((h) => h.waiting.length > 0); step++) {
      if (step > 0) await nextTurn();
      for (const { bySlice, waiting } of handOuts) {
        const w = waiting.shift();
        if (w) w.resolve(rowsOfSlices(bySlice, w.slices));
      }
    }
  }
}
