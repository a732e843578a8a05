/**
 * `npm run bench:commit`: what one group commit costs the embedded warehouse (DuckDBWarehouse,
 * no rules layer, no Redis) — the statement every table's commits wait for, since DuckDB has
 * one writer connection.
 *
 * 1. A 64-slice merge (one row per slice into a one-column table, as bench:overhead's trivial
 *    processor stages): on an idle event loop, and on one kept busy by 1-ms tasks back to back,
 *    the way a process running phase jobs keeps it — there each call into DuckDB waits its turn.
 * 2. A log table's append (a 34-row batch of the run log, `nba_orchestration.processing_run_log`)
 *    on logs of growing size, filled in date order beforehand as a long-lived run log is.
 *
 * Prints one JSON line per part on stdout and a summary on stderr.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import type { TableSpec } from '../../src/processors/types.ts';
import { ndjson } from '../../src/queues/commit/staging.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import { processingRunLog } from '../../src/tables/processing-run-log.ts';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.ts';
import { quantile, round } from './measure.ts';
import { parseFlags, progressLog, wholeFlag } from './options.ts';

const USAGE = `usage: npm run bench:commit -- [flags]
  --commits N      commits measured per case (default 200)
  --log-rows LIST  run-log sizes the append is measured on (default 10000,1000000)
  --quiet          no progress lines`;

interface Options {
  commits: number;
  logRows: number[];
  verbose: boolean;
}

function parse(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { commits: { type: 'string' }, 'log-rows': { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) throw new Error(USAGE);
  const whole = wholeFlag(USAGE);
  return {
    commits: whole('commits', values.commits, 200),
    logRows: (values['log-rows'] ?? '10000,1000000').split(',').map((v) => whole('log-rows', v.trim(), 0)),
    verbose: !values.quiet,
  };
}

const MERGE_SPEC: TableSpec = { dataset: 'bench', table: 'commit_cost', columns: [{ name: 'd', type: 'DATE' }], primaryKey: ['d'], sliceColumn: 'd' };
const LOG_SPEC = processingRunLog.table;
const MERGE_SLICES = 64;
const LOG_BATCH_ROWS = 34;
/** The run log's dates: a year of runs, oldest first. */
const LOG_DAYS = 365;

/** Keeps the event loop busy with back-to-back 1-ms tasks until stopped. */
function busyLoop(): () => void {
  let on = true;
  const spin = () => {
    if (!on) return;
    const t = performance.now();
    while (performance.now() - t < 1) {
      // the work of a job's callback
    }
    setImmediate(spin);
  };
  setImmediate(spin);
  return () => {
    on = false;
  };
}

/** Nearest-rank median and p90 (measure.ts `quantile`), ms to two decimals. */
function stats(ms: number[]): { median: number; p90: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p: number) => round(quantile(sorted, p) ?? 0, 2);
  return { median: q(0.5), p90: q(0.9) };
}

async function mergeCommits(dir: string, commits: number, busy: boolean): Promise<number[]> {
  const store = new LocalObjectStore(path.join(dir, 'store'));
  const wh = await DuckDBWarehouse.open({ path: path.join(dir, `merge-${busy ? 'busy' : 'idle'}.duckdb`), store, datasetPrefix: '' });
  try {
    await wh.ensureTable(MERGE_SPEC);
    const ms: number[] = [];
    // Unmeasured first commits: DuckDB's and V8's first-time costs.
    const warm = 20;
    let stop: (() => void) | undefined;
    for (let k = 0; k < warm + commits; k++) {
      if (k === warm && busy) stop = busyLoop();
      const slices = Array.from({ length: MERGE_SLICES }, (_, i) =>
        new Date(Date.UTC(2000, 0, 1 + ((k * MERGE_SLICES + i) % 5000))).toISOString().slice(0, 10),
      );
      const key = `staging/bench/${k}.ndjson`;
      await store.put(key, ndjson(slices.map((d) => ({ d }))));
      const t0 = performance.now();
      await wh.commit({ batchId: `merge-${k}`, table: MERGE_SPEC, slices, objects: [key] });
      if (k >= warm) ms.push(performance.now() - t0);
    }
    stop?.();
    return ms;
  } finally {
    await wh.close();
  }
}

async function logAppends(dir: string, commits: number, logRows: number): Promise<number[]> {
  const file = path.join(dir, `log-${logRows}.duckdb`);
  const store = new LocalObjectStore(path.join(dir, 'store'));
  let wh = await DuckDBWarehouse.open({ path: file, store, datasetPrefix: '' });
  const table = wh.tableName(LOG_SPEC);
  await wh.ensureTable(LOG_SPEC);
  await wh.close();
  // The log as a year of runs left it, written straight into the file (oldest first).
  const instance = await DuckDBInstance.create(file);
  const conn = await instance.connect();
  await conn.run(
    `INSERT INTO ${table} (run_id, job_id, processor, phase, slice, status, row_count, duration_ms, started_at, finished_at, attempt, backfill_id, run_date)
     SELECT uuid()::VARCHAR, 'job' || i, 'proc', 2, DATE '2020-01-01' + (i % 1000)::INTEGER, 'succeeded', 10, 5, TIMESTAMP '2025-12-06 00:00:00',
       TIMESTAMP '2025-12-06 00:00:01', 1, 'bf', DATE '2025-12-06' + (i * ${LOG_DAYS} // ${logRows})::INTEGER
     FROM range(${logRows}) r(i) ORDER BY i`,
  );
  await conn.run('CHECKPOINT');
  conn.closeSync();
  instance.closeSync();
  wh = await DuckDBWarehouse.open({ path: file, store, datasetPrefix: '' });
  try {
    const ms: number[] = [];
    const today = new Date(Date.UTC(2025, 11, 6 + LOG_DAYS)).toISOString().slice(0, 10);
    for (let k = 0; k < commits; k++) {
      const at = new Date().toISOString();
      const rows = Array.from({ length: LOG_BATCH_ROWS }, (_, i) => ({
        run_id: randomUUID(),
        job_id: `job.${k}.${i}`,
        processor: 'proc',
        phase: 2,
        slice: '2024-01-01',
        status: 'succeeded',
        row_count: 1,
        duration_ms: 1,
        started_at: at,
        finished_at: at,
        attempt: 1,
        run_date: today,
      }));
      const key = `staging/bench/log-${logRows}-${k}.ndjson`;
      await store.put(key, ndjson(rows));
      const t0 = performance.now();
      const result = await wh.commit({ batchId: `log-${k}`, table: LOG_SPEC, slices: [today], objects: [key] });
      ms.push(performance.now() - t0);
      if (result.rowsAffected !== LOG_BATCH_ROWS) throw new Error(`append ${k}: ${result.rowsAffected} rows landed, not ${LOG_BATCH_ROWS}`);
    }
    return ms;
  } finally {
    await wh.close();
  }
}

async function main(): Promise<number> {
  const flags = parseFlags(parse);
  if ('exitCode' in flags) return flags.exitCode;
  const opts = flags.opts;
  const log = progressLog('commit', opts.verbose);
  const started = Date.now();
  const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-commit-cost-'));
  try {
    log(`${opts.commits} merges of ${MERGE_SLICES} slices, idle event loop`);
    const idle = stats(await mergeCommits(dir, opts.commits, false));
    log(`${opts.commits} merges of ${MERGE_SLICES} slices, busy event loop`);
    const busy = stats(await mergeCommits(dir, opts.commits, true));
    process.stdout.write(`${JSON.stringify({ part: 'merge', slices: MERGE_SLICES, commits: opts.commits, idleMs: idle, busyMs: busy })}\n`);
    const appends: { logRows: number; ms: { median: number; p90: number } }[] = [];
    for (const rows of opts.logRows) {
      log(`${opts.commits} appends of ${LOG_BATCH_ROWS} rows to a run log of ${rows} rows`);
      appends.push({ logRows: rows, ms: stats(await logAppends(dir, opts.commits, rows)) });
    }
    process.stdout.write(`${JSON.stringify({ part: 'append', rows: LOG_BATCH_ROWS, commits: opts.commits, appends })}\n`);
    const w = (line: string) => process.stderr.write(`${line}\n`);
    w(`INFO    a ${MERGE_SLICES}-slice merge: median ${idle.median} ms (p90 ${idle.p90}) idle, ${busy.median} ms (p90 ${busy.p90}) with the event loop busy`);
    for (const a of appends)
      w(`INFO    a ${LOG_BATCH_ROWS}-row run-log append on a log of ${a.logRows.toLocaleString('en-US')} rows: median ${a.ms.median} ms (p90 ${a.ms.p90})`);
    w(`total ${Math.round((Date.now() - started) / 1000)} s`);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:commit: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
