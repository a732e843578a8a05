/**
 * What the benchmark reports per mode: the table's final contents against the expected rows,
 * the rules layer's evidence, and the lower bound the table quotas put on the makespan.
 */

import { BIGQUERY_LIMITS } from '../../src/limits/bigquery.ts';
import type { TableSpec } from '../../src/processors/types.ts';
import type { BigQueryRulesWarehouse, TableRulesRecord } from '../../src/warehouse/rules/bigquery-rules-warehouse.ts';
import type { ResolvedRulesOptions } from '../../src/warehouse/rules/options.ts';
import type { LiveStream } from './live-writer.ts';
import type { Mode } from './options.ts';

export interface TableContents {
  rows: number;
  distinctKeys: number;
  /** Rows per date present in the table. */
  rowsByDate: Map<string, number>;
  /** Distinct (game_id, player_id) per date. */
  keysByDate: Map<string, number>;
}

export async function tableContents(warehouse: BigQueryRulesWarehouse, spec: TableSpec): Promise<TableContents> {
  const table = warehouse.tableName(spec);
  // Identifiers come from the processor registry (tableName quotes and validates them).
  const rows = await warehouse.query(
    `SELECT CAST(game_date AS VARCHAR) AS d, count(*) AS n, count(DISTINCT (game_id, player_id)) AS k FROM ${table} GROUP BY 1`,
  );
  const rowsByDate = new Map<string, number>();
  const keysByDate = new Map<string, number>();
  let total = 0;
  let keys = 0;
  for (const r of rows) {
    const d = String(r.d);
    rowsByDate.set(d, Number(r.n));
    keysByDate.set(d, Number(r.k));
    total += Number(r.n);
    keys += Number(r.k);
  }
  // game_date is part of neither key column, but a (game_id, player_id) lives on one date only.
  return { rows: total, distinctKeys: keys, rowsByDate, keysByDate };
}

export interface QuotaBound {
  /** The n-th table operation cannot start before floor((n − 1) / 5) × 10 s. */
  tableOpsSeconds: number;
  /** DML work (latency model) divided over the 2 running slots. */
  dmlSeconds: number;
  /** Latest flush of a streamed date the mode must still MERGE; null when the mode gives up instead of waiting. */
  streamingBufferSeconds: number | null;
}

/**
 * The least makespan, in BigQuery seconds, that the table's limits allow for the work the
 * mode did — whatever its scheduling:
 *
 * - table operations: BigQuery allows `opsPerWindow` (5) per `windowSeconds` (10 s) per
 *   table, a sliding window, so the n-th operation starts no earlier than
 *   ⌊(n − 1) / 5⌋ × 10 s. Every load, MERGE, DELETE and DDL on the table is one.
 * - DML slots: at most `maxRunningDml` (2) mutating statements run at once, and each that
 *   runs holds its slot for the rules layer's latency model, base + perThousandRows × rows /
 *   1000 (2 s + 0.5 s per thousand rows by default; its jitter averages out). So the DML work
 *   divided by 2 is a bound: (statements run × base + perThousandRows × rowsTouched / 1000) / 2.
 * - streaming buffer: a date streamed at t cannot be MERGEd before t + bufferSeconds. For a
 *   mode that waits for it (phasegate) the latest such flush among the dates it still had
 *   to write after the stream is a bound; modes that fail those dates are not held by it.
 *
 * The bound is the largest of the three; measured makespans above it are scheduling and
 * (at high time scales) the CPU time of the embedded warehouse itself.
 */
export function quotaLowerBound(
  rules: Pick<ResolvedRulesOptions, 'tableOpsPerWindow' | 'tableOpsWindowSeconds' | 'maxRunningDml' | 'dmlLatency'>,
  work: { tableOps: number; dmlStatements: number; rowsTouched: number; bufferFlushSeconds: number | null },
): QuotaBound & { seconds: number } {
  const tableOpsSeconds = work.tableOps > 0 ? Math.floor((work.tableOps - 1) / rules.tableOpsPerWindow) * rules.tableOpsWindowSeconds : 0;
  const dmlWork = work.dmlStatements * rules.dmlLatency.baseSeconds + (rules.dmlLatency.perThousandRowsSeconds * work.rowsTouched) / 1000;
  const dmlSeconds = dmlWork / rules.maxRunningDml;
  const seconds = Math.max(tableOpsSeconds, dmlSeconds, work.bufferFlushSeconds ?? 0);
  return {
    tableOpsSeconds: round(tableOpsSeconds),
    dmlSeconds: round(dmlSeconds),
    streamingBufferSeconds: work.bufferFlushSeconds === null ? null : round(work.bufferFlushSeconds),
    seconds: round(seconds),
  };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** What a mode tells the report about its own run; the rest is measured from the table. */
export interface ModeOutcome {
  /** Dates the mode reports as failed, with the reason. */
  failed: Map<string, string>;
  /** Dates the mode reports as deferred (phasegate: given up on for now, still retryable). */
  deferred: Map<string, string>;
  /** Dates whose write met a streaming-buffer conflict at least once. */
  conflictDates: Set<string>;
  /** Real ms since the mode's start at which each date was first written successfully. */
  writtenAtMs: Map<string, number>;
  /** Real ms since the mode's start at which each date was staged (phasegate) or started (naive, per-job). */
  startedAtMs: Map<string, number>;
  /** What `startedAtMs` measures from. */
  latencyFrom: 'staged' | 'started';
  /**
   * For a mode whose only answer to a conflict is its job retry (per-job): per date, the real
   * ms since the start at which the retry policy alone scheduled the attempt that landed it
   * after a conflict (failure time + backoff delay). Empty for modes with a conflict path.
   */
  retryScheduledAtMs: Map<string, number>;
  /** Statements the mode ran against the target table (phasegate: its MERGEs), for `--trace`. */
  statements?: { startMs: number; endMs: number; slices: number; ok: boolean }[];
  /** Rows the mode's mutating statements touched (for the DML bound). */
  rowsTouched: number;
  /** Whether the mode waits for the streaming buffer to flush rather than failing the date. */
  waitsForBuffer: boolean;
  makespanMs: number;
  timedOut: boolean;
  /** Mode-specific extra figures. */
  extra?: Record<string, unknown>;
}

/** Nearest-rank quantiles of a sample, `null` when it is empty. */
export interface LatencyStats {
  dates: number;
  p50: number | null;
  p95: number | null;
}

export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function latencyStats(values: readonly number[], digits = 1): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => {
    const v = quantile(sorted, p);
    return v === null ? null : round(v, digits);
  };
  return { dates: sorted.length, p50: q(0.5), p95: q(0.95) };
}

/**
 * BigQuery seconds from a date being staged (or started) to its rows being in the table, for
 * the dates the mode landed, split by whether their write met the streaming buffer.
 */
export function dateLatency(outcome: Pick<ModeOutcome, 'startedAtMs' | 'writtenAtMs' | 'conflictDates' | 'failed' | 'latencyFrom'>, timeScale: number) {
  const clean: number[] = [];
  const conflicting: number[] = [];
  for (const [date, wrote] of outcome.writtenAtMs) {
    const from = outcome.startedAtMs.get(date);
    if (from === undefined || outcome.failed.has(date)) continue;
    const seconds = (Math.max(0, wrote - from) / 1000) * timeScale;
    (outcome.conflictDates.has(date) ? conflicting : clean).push(seconds);
  }
  return { from: outcome.latencyFrom, clean: latencyStats(clean), conflicting: latencyStats(conflicting) };
}

export interface ModeReport {
  mode: Mode;
  dates: number;
  workers: number;
  failedDates: number;
  failureRate: number;
  deferredDates: number;
  datesLost: number;
  duplicateRows: number;
  rows: { expected: number; inTable: number; distinctKeys: number; datesWithWrongRowCount: number };
  tableOperations: number;
  loadJobs: number;
  /** Mutating statements that reached a running slot, rejected ones included. */
  dmlStatements: number;
  /** Of those, the ones that ran (not turned away by the streaming buffer or the rate limit). */
  dmlExecuted: number;
  peakRunningDml: number;
  peakQueuedDml: number;
  rejected: TableRulesRecord['rejected'];
  conflictsMet: number;
  conflictsResolved: number;
  live: {
    datesTargeted: number;
    streamed: number;
    /** Streams into a date the mode had already written: these duplicate in any mode. */
    streamedAfterModeWrote: number;
    /** Streamed dates the mode wrote only after the buffer flushed: no conflict was left to meet. */
    writtenAfterBufferFlushed: number;
    errors: number;
  };
  makespanSeconds: { real: number; bigquery: number };
  quotaLowerBoundSeconds: number;
  quotaLowerBound: QuotaBound;
  /** makespanSeconds.bigquery / quotaLowerBoundSeconds. */
  makespanOverBound: number | null;
  /** BigQuery seconds from staged (phasegate) or started (naive, per-job) to in the table, p50/p95, clean and conflicting dates. */
  dateLatencySeconds: ReturnType<typeof dateLatency>;
  failureReasons: Record<string, number>;
  timedOut: boolean;
  [extra: string]: unknown;
}

/** The first words of a failure, so reasons group ("UPDATE or DELETE statement over table …"). */
export function reasonKey(message: string): string {
  if (/streaming buffer/i.test(message)) return 'streaming buffer';
  if (/Too many DML statements outstanding/i.test(message)) return `DML outstanding (limit ${BIGQUERY_LIMITS.queuedMutatingDmlPerTable})`;
  if (/too many table update operations|rate limit/i.test(message)) return 'table update rate limit';
  if (/Quota exceeded/i.test(message)) return 'daily load quota';
  return message.slice(0, 80);
}

export function buildReport(args: {
  mode: Mode;
  dates: readonly string[];
  workers: number;
  expectedRows: Record<string, number>;
  expectedTotal: number;
  contents: TableContents;
  record: TableRulesRecord;
  loadJobsAllTables: number;
  rules: ResolvedRulesOptions;
  outcome: ModeOutcome;
  live: { target: number; streams: readonly LiveStream[]; errors: readonly string[] };
  timeScale: number;
}): ModeReport {
  const { outcome, contents, record, live } = args;
  const failed = outcome.failed;
  let lost = 0;
  let wrong = 0;
  for (const d of args.dates) {
    const present = contents.rowsByDate.has(d);
    if (!present && !failed.has(d) && !outcome.deferred.has(d)) lost++;
    if (present && contents.keysByDate.get(d) !== args.expectedRows[d]) wrong++;
  }
  // A conflict is resolved when its date ended in the table exactly once per key, written by the mode.
  const resolvedDates: string[] = [];
  for (const d of outcome.conflictDates) {
    const exact = contents.rowsByDate.get(d) === args.expectedRows[d] && contents.keysByDate.get(d) === args.expectedRows[d];
    if (exact && outcome.writtenAtMs.has(d) && !failed.has(d) && !outcome.deferred.has(d)) resolvedDates.push(d);
  }
  const resolved = resolvedDates.length;
  // A streamed date the mode wrote only once the buffer had let go of it met no conflict at all.
  const bufferMs = (args.rules.streamingBufferSeconds * 1000) / args.timeScale;
  // A mode whose only answer to a conflict is a job retry: did the retry policy itself wait
  // past the buffer's flush (a mechanism), or was the attempt scheduled before the flush and
  // run after it only because the queue held it back (luck of queue order)?
  let resolvedBy: { mechanism: number; queueOrderLuck: number } | undefined;
  if (args.mode === 'per-job') {
    const flushAt = new Map(live.streams.map((s) => [s.date, s.atMs + bufferMs]));
    resolvedBy = { mechanism: 0, queueOrderLuck: 0 };
    for (const d of resolvedDates) {
      const scheduled = outcome.retryScheduledAtMs.get(d);
      const flush = flushAt.get(d);
      if (scheduled !== undefined && flush !== undefined && scheduled < flush) resolvedBy.queueOrderLuck++;
      else resolvedBy.mechanism++;
    }
  }
  const writtenAfterFlush = live.streams.filter((s) => {
    const wrote = outcome.writtenAtMs.get(s.date);
    return wrote !== undefined && wrote >= s.atMs + bufferMs;
  }).length;
  const streamedAfter = live.streams.filter((s) => {
    const wrote = outcome.writtenAtMs.get(s.date);
    return wrote !== undefined && wrote <= s.atMs;
  }).length;
  // The latest flush among live dates the mode wrote after their stream (it had to wait for them).
  let flush: number | null = null;
  if (outcome.waitsForBuffer) {
    flush = 0;
    for (const s of live.streams) {
      const wrote = outcome.writtenAtMs.get(s.date);
      if (wrote === undefined || wrote > s.atMs) flush = Math.max(flush, (s.atMs / 1000) * args.timeScale + args.rules.streamingBufferSeconds);
    }
  }
  // Statements turned away at their slot (streaming buffer, either rate limit) never ran for their latency.
  const dmlExecuted = record.dmlExecuted;
  const bound = quotaLowerBound(args.rules, {
    tableOps: record.tableOps,
    dmlStatements: dmlExecuted,
    rowsTouched: outcome.rowsTouched,
    bufferFlushSeconds: flush,
  });
  const reasons: Record<string, number> = {};
  for (const message of failed.values()) reasons[reasonKey(message)] = (reasons[reasonKey(message)] ?? 0) + 1;
  const realSeconds = outcome.makespanMs / 1000;
  const { seconds, ...components } = bound;
  return {
    mode: args.mode,
    dates: args.dates.length,
    workers: args.workers,
    failedDates: failed.size,
    failureRate: round(failed.size / args.dates.length, 4),
    deferredDates: outcome.deferred.size,
    datesLost: lost,
    duplicateRows: contents.rows - contents.distinctKeys,
    rows: { expected: args.expectedTotal, inTable: contents.rows, distinctKeys: contents.distinctKeys, datesWithWrongRowCount: wrong },
    tableOperations: record.tableOps,
    loadJobs: args.loadJobsAllTables,
    dmlStatements: record.dmlStatements,
    dmlExecuted,
    peakRunningDml: record.peakRunningDml,
    peakQueuedDml: record.peakQueuedDml,
    rejected: record.rejected,
    conflictsMet: outcome.conflictDates.size,
    conflictsResolved: resolved,
    ...(resolvedBy ? { conflictsResolvedBy: resolvedBy } : {}),
    live: {
      datesTargeted: live.target,
      streamed: live.streams.length,
      streamedAfterModeWrote: streamedAfter,
      writtenAfterBufferFlushed: writtenAfterFlush,
      errors: live.errors.length,
    },
    makespanSeconds: { real: round(realSeconds), bigquery: round(realSeconds * args.timeScale) },
    quotaLowerBoundSeconds: seconds,
    quotaLowerBound: components,
    makespanOverBound: seconds > 0 ? round((realSeconds * args.timeScale) / seconds, 2) : null,
    dateLatencySeconds: dateLatency(outcome, args.timeScale),
    failureReasons: reasons,
    timedOut: outcome.timedOut,
    ...outcome.extra,
  };
}
