/**
 * The embedded warehouse made to behave like BigQuery's per-table limits (values in
 * ../bigquery/limits.ts): the DML gate (running and queued mutating DML), table update
 * operations per window, DML statements per window, partitions per statement, load jobs per
 * day and the streaming buffer. It wraps any `EmulatedWarehouse` (the embedded DuckDB one).
 * Failures are BigQuery's own payloads (`BigQueryJobError` with BigQuery's
 * texts) passed through the same classifier as production, so callers get the same
 * ConflictError / BusyError / PermanentError with the BigQuery-shaped error as `cause`.
 *
 * Reads (query, readSlices, presentSlices, tableMetadata, …) pass straight through.
 */
import { BIGQUERY_TEXTS, BigQueryJobError, classifyWarehouseError } from '../../errors/classify.ts';
import { TransientError } from '../../errors/transient-error.ts';
import type { WarehouseError } from '../../errors/warehouse-error.ts';
import type { Holding } from '../../integrity/holdings.ts';
import { countsAsDailyModification } from '../../limits/bigquery.ts';
import { mulberry32 } from '../../prng.ts';
import type { Column, Row, TableSpec } from '../../processors/types.ts';
import { tableId } from '../../processors/types.ts';
import type { WarehouseAdmin } from '../admin.ts';
import { streamingBufferOf } from '../buffered-slices.ts';
import { missingColumns } from '../schema-diff.ts';
import type {
  CommitBatch,
  CommitResult,
  EmulatedWarehouse,
  QueryParams,
  SliceRead,
  TableDescription,
  TableMetadata,
  Warehouse,
  WarehouseCapabilities,
  WarehouseReports,
} from '../types.ts';
import { DmlGate } from './dml-gate.ts';
import { dmlLatencyMs } from './dml-latency.ts';
import { type BigQueryRulesOptions, DAY_SECONDS, type ResolvedRulesOptions, resolveRulesOptions } from './options.ts';
import { DailyCounter, SlidingWindow } from './rate-window.ts';
import { copyRecord, emptyRecord, type RulesRecord, type TableRulesRecord } from './rules-record.ts';
import { StreamingBuffer } from './streaming-buffer.ts';
import { Timers } from './timers.ts';

export type { BigQueryRulesOptions as RulesOptions } from './options.ts';
export type { RulesRecord, TableRulesRecord } from './rules-record.ts';

/** Statements a table's timeline keeps at least (the newest): a 1,700-date cascade takes ~30 per table, and `record()` copies them (the dashboard reads it on every refresh). */
const TIMELINE_KEEP = 2_000;

/** A mutating statement other than a commit: the naive pipeline's per-date DELETE. */
export interface DmlStatement {
  kind: 'DELETE';
  slices: readonly string[];
  /**
   * Narrows the DELETE inside its slices (`AND game_id IN (…)`: one game's rows). BigQuery's
   * limits are judged as for any DELETE over those slices (partitions), the streaming buffer too.
   */
  where?: { column: string; values: readonly string[] } | undefined;
}

interface TableState {
  gate: DmlGate;
  ops: SlidingWindow;
  dml: SlidingWindow;
  loads: DailyCounter;
  buffer: StreamingBuffer;
  record: TableRulesRecord;
}

export class BigQueryRulesWarehouse implements Warehouse, WarehouseAdmin {
  /** BigQuery's rules, as this layer enforces them on DuckDB (its streaming buffer included). */
  readonly capabilities: WarehouseCapabilities = { countsAsDailyModification, streamingBuffer: streamingBufferOf(this) };
  readonly options: ResolvedRulesOptions;
  private readonly inner: EmulatedWarehouse;
  /**
   * Reads pass through to DuckDB (BigQuery's per-table limits are on writes); the view is DDL
   * on the view itself, which holds no rows and is no gated table, so it only needs the layer open.
   */
  readonly reports: WarehouseReports = {
    gameHoldings: (spec, slices) => this.inner.reports.gameHoldings(spec, slices),
    ensureCoverageView: (log, view) => {
      this.assertOpen();
      return this.inner.reports.ensureCoverageView(log, view);
    },
    tableSummary: (spec, range) => this.inner.reports.tableSummary(spec, range),
    samplePredictions: (request) => this.inner.reports.samplePredictions(request),
    conflictSummary: (spec, since) => this.inner.reports.conflictSummary(spec, since),
    unresolvedConflicts: (spec, since) => this.inner.reports.unresolvedConflicts(spec, since),
  };
  private readonly tables = new Map<string, TableState>();
  private readonly random: () => number;
  private readonly timers = new Timers();
  private readonly epoch = Date.now();
  private closed = false;

  constructor(inner: EmulatedWarehouse, options: BigQueryRulesOptions = {}) {
    this.inner = inner;
    this.options = resolveRulesOptions(options);
    this.random = mulberry32(this.options.seed);
  }

  /** BigQuery seconds → real milliseconds at this layer's time scale. */
  private scaledMs(seconds: number): number {
    return (seconds * 1000) / this.options.timeScale;
  }

  private state(spec: TableSpec): TableState {
    const id = tableId(spec);
    let state = this.tables.get(id);
    if (!state) {
      const o = this.options;
      state = {
        gate: new DmlGate(o.maxRunningDml, o.maxQueuedDml),
        ops: new SlidingWindow(o.tableOpsPerWindow, this.scaledMs(o.tableOpsWindowSeconds)),
        dml: new SlidingWindow(o.dmlStatementsPerWindow, this.scaledMs(o.dmlWindowSeconds)),
        loads: new DailyCounter(this.epoch, this.scaledMs(DAY_SECONDS)),
        buffer: new StreamingBuffer(this.scaledMs(o.streamingBufferSeconds)),
        record: emptyRecord(),
      };
      this.tables.set(id, state);
    }
    return state;
  }

  /** `project:dataset.table`, as BigQuery names a table in its error texts. */
  bigQueryName(spec: TableSpec): string {
    return `${this.options.projectId}:${this.inner.datasetOf(spec)}.${spec.table}`;
  }

  /** BigQuery's failure, classified exactly as the production adapter classifies it. */
  private fail(spec: TableSpec, reason: string, text: string): WarehouseError {
    return classifyWarehouseError(new BigQueryJobError(reason, text), tableId(spec));
  }

  private assertOpen(): void {
    if (this.closed) throw new TransientError('BigQuery rules warehouse is closed', { reason: 'stopped' });
  }

  // BigQuery caps table metadata updates (loads, query jobs writing the table, DDL) per 10 s per
  // table (limits.ts, tableMetadataUpdatesPerWindow).
  private takeTableOp(state: TableState, spec: TableSpec): void {
    if (!state.ops.tryTake(Date.now())) {
      state.record.rejected.rateLimited++;
      throw this.fail(spec, 'rateLimitExceeded', BIGQUERY_TEXTS.tableUpdateRate(this.bigQueryName(spec)));
    }
    state.record.tableOps++;
  }

  /**
   * A DML statement (INSERT or mutating) against the table's DML rate: BigQuery allows a fixed
   * number per table per 10 s (limits.ts, dmlStatementsPerTableWindow), both kinds together.
   */
  private takeDmlSlot(state: TableState, spec: TableSpec): void {
    if (!state.dml.tryTake(Date.now())) {
      state.record.rejected.dmlRate++;
      throw this.fail(spec, 'rateLimitExceeded', BIGQUERY_TEXTS.dmlRate(this.bigQueryName(spec)));
    }
  }

  /** One job may modify at most `maxPartitionsPerJob` partitions: one per slice it writes or moves rows out of. */
  private checkPartitions(state: TableState, spec: TableSpec, partitions: number): void {
    if (partitions > this.options.maxPartitionsPerJob) {
      state.record.rejected.partitions++;
      throw this.fail(spec, 'invalid', BIGQUERY_TEXTS.tooManyPartitions(partitions));
    }
  }

  private notePeaks(state: TableState): void {
    const r = state.record;
    r.peakRunningDml = Math.max(r.peakRunningDml, state.gate.running);
    r.peakQueuedDml = Math.max(r.peakQueuedDml, state.gate.queued);
  }

  /**
   * Runs a statement, then holds on until the latency model says a BigQuery job would have
   * finished; then it goes on the table's timeline.
   */
  private async timed<T>(state: TableState, slices: number, exec: () => Promise<T>, rowsOf: (result: T) => number): Promise<T> {
    const started = Date.now();
    const result = await exec();
    const latency = dmlLatencyMs(this.options.dmlLatency, rowsOf(result), this.options.timeScale, this.random);
    await this.timers.sleep(latency - (Date.now() - started));
    const timeline = state.record.timeline;
    timeline.push({ startedAt: started, endedAt: Date.now(), slices });
    // A long-lived process (a demo left running) keeps the newest statements only.
    if (timeline.length > 2 * TIMELINE_KEEP) timeline.splice(0, timeline.length - TIMELINE_KEEP);
    return result;
  }

  /**
   * A mutating DML statement through BigQuery's gate. Admission is decided synchronously, in
   * call order; the streaming-buffer and rate checks happen once the statement runs.
   */
  private async runDml<T>(
    spec: TableSpec,
    slices: readonly string[],
    exec: () => Promise<T>,
    rowsOf: (result: T) => number,
    partitions = slices.length,
  ): Promise<T> {
    this.assertOpen();
    const state = this.state(spec);
    this.checkPartitions(state, spec, partitions);
    const entered = state.gate.tryEnter();
    if (!entered) {
      // BigQuery queues a bounded number of mutating DML per table (limits.ts); the next one fails at once.
      state.record.rejected.dmlOutstanding++;
      throw this.fail(spec, 'resourcesExceeded', BIGQUERY_TEXTS.dmlOutstanding(this.bigQueryName(spec)));
    }
    this.notePeaks(state);
    const release = await entered;
    this.notePeaks(state);
    try {
      state.record.dmlStatements++;
      // BigQuery refuses UPDATE/DELETE/MERGE over any partition holding streamed rows.
      if (state.buffer.conflicts(slices, Date.now()).length > 0) {
        state.record.rejected.streamingBuffer++;
        throw this.fail(spec, 'invalidQuery', BIGQUERY_TEXTS.streamingBuffer(this.bigQueryName(spec)));
      }
      this.takeDmlSlot(state, spec);
      this.takeTableOp(state, spec);
      state.record.dmlExecuted++;
      return await this.timed(state, slices.length, exec, rowsOf);
    } finally {
      release();
    }
  }

  /**
   * Creating a table, or adding the columns it misses, is DDL, a table operation; a table that
   * already has every column costs nothing.
   */
  async ensureTable(spec: TableSpec): Promise<void> {
    this.assertOpen();
    const described = await this.inner.describeTable(spec);
    if (described && missingColumns(spec, described).length === 0) return;
    this.takeTableOp(this.state(spec), spec);
    await this.inner.ensureTable(spec);
  }

  /**
   * Merge mode: a MERGE, so it passes the DML gate and the streaming-buffer check over the
   * batch slices. Append mode: an INSERT, which BigQuery neither queues with MERGEs nor
   * blocks on the streaming buffer; both are table operations.
   */
  async commit(batch: CommitBatch): Promise<CommitResult> {
    const spec = batch.table;
    if (spec.writeMode === 'append') {
      this.assertOpen();
      const state = this.state(spec);
      this.checkPartitions(state, spec, batch.slices.length);
      // An INSERT is DML: it counts toward the table's DML rate like a MERGE does.
      this.takeDmlSlot(state, spec);
      this.takeTableOp(state, spec);
      return this.timed(
        state,
        batch.slices.length,
        () => this.inner.commit(batch),
        (r) => r.rowsStaged,
      );
    }
    // The partitions rows are moved out of are modified too.
    const partitions = new Set([...batch.slices, ...(batch.moveFrom ?? [])]).size;
    return this.runDml(
      spec,
      batch.slices,
      () => this.inner.commit(batch),
      (r) => r.rowsStaged,
      partitions,
    );
  }

  /** A mutating statement outside the group commit, e.g. the naive pattern's per-date DELETE. */
  async dml(spec: TableSpec, statement: DmlStatement): Promise<{ rowsAffected: number }> {
    const rowsAffected = await this.runDml(
      spec,
      statement.slices,
      () => this.inner.deleteSlices(spec, statement.slices, statement.where),
      (n) => n,
    );
    return { rowsAffected };
  }

  /**
   * A load job appending staged NDJSON (WRITE_APPEND). Counts against the table's daily
   * load-job quota whether or not it succeeds, as BigQuery's does, and is a table operation.
   */
  async loadJob(spec: TableSpec, objects: readonly string[]): Promise<CommitResult> {
    this.assertOpen();
    const state = this.state(spec);
    state.record.loadJobs++;
    // BigQuery caps a table's modifications (loads among them) per day, failed ones included;
    // DML does not count (limits.ts, tableModificationsPerDay).
    if (state.loads.take(Date.now()) > this.options.dailyLoadJobs) {
      state.record.rejected.dailyLoads++;
      throw this.fail(spec, 'quotaExceeded', BIGQUERY_TEXTS.dailyLoads(this.bigQueryName(spec)));
    }
    this.takeTableOp(state, spec);
    return this.inner.load(spec, objects);
  }

  /**
   * The legacy streaming path (the tabledata insert-all API): rows are visible at once and stay in the
   * streaming buffer for `streamingBufferSeconds` (scaled). Not a table operation. phasegate
   * itself never streams; this exists to reproduce other writers' conflicts.
   */
  async streamingInsert(spec: TableSpec, rows: readonly Row[]): Promise<number> {
    this.assertOpen();
    const state = this.state(spec);
    const inserted = await this.inner.insertRows(spec, rows);
    state.record.streamingInserts++;
    const bySlice = new Map<string, number>();
    for (const row of rows) {
      const slice = String(row[spec.sliceColumn]);
      bySlice.set(slice, (bySlice.get(slice) ?? 0) + 1);
    }
    state.buffer.add(bySlice, Date.now());
    return inserted;
  }

  /** Slices that still have rows in the streaming buffer, sorted. */
  bufferedSlices(spec: TableSpec): string[] {
    return this.tables.get(tableId(spec))?.buffer.slices(Date.now()) ?? [];
  }

  query(sql: string, params?: QueryParams): Promise<Row[]> {
    return this.inner.query(sql, params);
  }

  /** A read of the table: one query job on BigQuery, counted (no limit applies to reads). */
  private countQueryJob(spec: TableSpec, kind: 'readJobs' | 'checkJobs'): void {
    this.state(spec).record[kind] += 1;
  }

  readSlices(spec: TableSpec, slices: readonly string[]): Promise<Row[]> {
    this.countQueryJob(spec, 'readJobs');
    this.state(spec).record.tableReads += 1;
    return this.inner.readSlices(spec, slices);
  }

  /** One query job reading every table of `reads` (BigQuery's `readTables`), counted on the first. */
  readTables(reads: readonly SliceRead[]): Promise<Row[][]> {
    const [first] = reads;
    if (!first) return Promise.resolve([]);
    this.countQueryJob(first.spec, 'readJobs');
    for (const r of reads) this.state(r.spec).record.tableReads += 1;
    const { inner } = this;
    return inner.readTables ? inner.readTables(reads) : Promise.all(reads.map((r) => inner.readSlices(r.spec, r.slices)));
  }

  presentSlices(spec: TableSpec, slices: readonly string[]): Promise<string[]> {
    this.countQueryJob(spec, 'checkJobs');
    return this.inner.presentSlices(spec, slices);
  }

  slicesWithRowsSince(spec: TableSpec, slices: readonly string[], since: Date, column: string): Promise<string[]> {
    this.countQueryJob(spec, 'checkJobs');
    return this.inner.slicesWithRowsSince(spec, slices, since, column);
  }

  unitHoldings(spec: TableSpec, slices: readonly string[], units: readonly string[]): Promise<Holding[]> {
    this.countQueryJob(spec, 'checkJobs');
    return this.inner.unitHoldings(spec, slices, units);
  }

  datasetOf(spec: Pick<TableSpec, 'dataset'>): string {
    return this.inner.datasetOf(spec);
  }

  describeTable(spec: TableSpec): Promise<TableDescription | null> {
    return this.inner.describeTable(spec);
  }

  /** Adding columns is DDL: a table operation, like BigQuery's `tables.patch`. */
  async addColumns(spec: TableSpec, columns: readonly Column[]): Promise<void> {
    this.assertOpen();
    if (columns.length === 0) return;
    this.takeTableOp(this.state(spec), spec);
    await this.inner.addColumns(spec, columns);
  }

  async tableMetadata(spec: TableSpec): Promise<TableMetadata> {
    const meta = await this.inner.tableMetadata(spec);
    const buffer = this.tables.get(tableId(spec))?.buffer.info(Date.now());
    return buffer ? { ...meta, streamingBuffer: buffer } : meta;
  }

  /** The qualified DuckDB name of a spec's table, for hand-written queries. */
  tableName(spec: TableSpec): string {
    return this.inner.tableName(spec);
  }

  /** Per table (`dataset.table`), what the rules saw since the start or the last reset. A copy. */
  record(): RulesRecord {
    return { tables: Object.fromEntries([...this.tables].map(([id, s]) => [id, copyRecord(s.record)])) };
  }

  /** Zeroes the counters; peaks restart from what is running and queued now. */
  resetRecord(): void {
    for (const state of this.tables.values()) {
      state.record = emptyRecord();
      this.notePeaks(state);
    }
  }

  /** Fails queued statements, cuts latency sleeps short, then closes DuckDB. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new TransientError('BigQuery rules warehouse closed while the statement was queued', { reason: 'stopped' });
    for (const state of this.tables.values()) state.gate.rejectWaiting(closing);
    this.timers.clear();
    await this.inner.close();
  }
}
