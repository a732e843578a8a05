/** The seam between the benchmark's harness and its three modes. */
import type { Config } from '../../src/config/load-config.ts';
import type { TableSpec } from '../../src/processors/types.ts';
import type { TableGateStore } from '../../src/queues/commit/table-gate.ts';
import { BigQueryRulesWarehouse, type RulesOptions } from '../../src/warehouse/rules/bigquery-rules-warehouse.ts';
import type { Warehouse } from '../../src/warehouse/types.ts';
import type { Frontier } from './live-writer.ts';
import type { ModeOutcome } from './measure.ts';
import type { BenchOptions } from './options.ts';
import type { RawFiles } from './raw-files.ts';

export interface ModeEnv {
  opts: BenchOptions;
  raw: RawFiles;
  /** This mode's own configuration: its data dir (DuckDB file), Redis prefix, the shared raw store. */
  config: Config;
  /** Rules-layer options every mode gets (time scale, buffer window, seed). */
  rules: Partial<RulesOptions>;
  spec: TableSpec;
  log: (line: string) => void;
}

export interface RunContext {
  /** Real ms timestamp the mode (and the live writer) started at. */
  startedAt: number;
  /** Real ms timestamp after which the mode stops and reports a time-out. */
  deadline: number;
  /** The mode marks each date it begins, so the live writer can stay just ahead of it. */
  frontier: Frontier;
}

export interface OpenedMode {
  /** The mode's own rules layer over its own DuckDB file; the live writer streams into it too. */
  warehouse: BigQueryRulesWarehouse;
  run(ctx: RunContext): Promise<ModeOutcome>;
  /** Load jobs on every table (per-job loads into per-job staging tables). */
  loadJobs(): number;
  close(): Promise<void>;
}

export type ModeOpener = (env: ModeEnv) => Promise<OpenedMode>;

export function emptyOutcome(): Omit<ModeOutcome, 'makespanMs' | 'timedOut' | 'waitsForBuffer' | 'latencyFrom'> {
  return {
    failed: new Map(),
    deferred: new Map(),
    conflictDates: new Set(),
    writtenAtMs: new Map(),
    startedAtMs: new Map(),
    retryScheduledAtMs: new Map(),
    rowsTouched: 0,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits (up to `timeoutMs`) until a table's gate holds nothing pending or taken: a log table's
 * last rows land through its own gate a moment after the slices they describe are final.
 */
export async function gateDrained(gate: Pick<TableGateStore, 'pendingCount' | 'takenBatches'>, table: string, timeoutMs = 15_000): Promise<boolean> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; ) {
    if ((await gate.pendingCount(table)) === 0 && (await gate.takenBatches(table)).size === 0) return true;
    await sleep(100);
  }
  return false;
}

/** Every mode is measured through the rules layer; a plain DuckDB or BigQuery warehouse is a setup error. */
export function asRulesWarehouse(warehouse: Warehouse, mode: string): BigQueryRulesWarehouse {
  // By shape as well as by class: a runtime that loads the warehouse module lazily (import())
  // under a CommonJS test runner gets its own copy of the class.
  const shaped = (w: Warehouse): w is BigQueryRulesWarehouse =>
    w instanceof BigQueryRulesWarehouse ||
    ['record', 'streamingInsert', 'dml', 'loadJob'].every((m) => typeof (w as unknown as Record<string, unknown>)[m] === 'function');
  if (!shaped(warehouse)) throw new Error(`${mode} mode needs the BigQuery rules layer (PHASEGATE_BQ_RULES=true)`);
  return warehouse;
}
