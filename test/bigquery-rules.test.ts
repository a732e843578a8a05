import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { BusyError } from '../src/errors/busy-error.ts';
import { BIGQUERY_TEXTS, BigQueryJobError } from '../src/errors/classify.ts';
import { ConflictError } from '../src/errors/conflict-error.ts';
import { PermanentError } from '../src/errors/permanent-error.ts';
import { addDays } from '../src/processors/precompute/lookback.ts';
import type { Row, TableSpec } from '../src/processors/types.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import type { BigQueryRulesOptions } from '../src/warehouse/rules/options.ts';
import type { StatementTime } from '../src/warehouse/rules/rules-record.ts';

const spec: TableSpec = {
  dataset: 'nba_raw',
  table: 'nbac_player_boxscores',
  columns: [
    { name: 'game_id', type: 'STRING', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'points', type: 'INT64' },
    { name: 'processed_at', type: 'TIMESTAMP' },
  ],
  primaryKey: ['game_id', 'player_id'],
  sliceColumn: 'game_date',
};

const logSpec: TableSpec = {
  dataset: 'nba_ops',
  table: 'commit_log',
  columns: [
    { name: 'event_id', type: 'STRING', nullable: false },
    { name: 'day', type: 'DATE', nullable: false },
  ],
  primaryKey: ['event_id'],
  sliceColumn: 'day',
  writeMode: 'append',
};

/** The table as BigQuery names it in error texts; the test's dataset prefix is part of it. */
const bqName = (prefix: string) => `phasegate-local:${prefix}nba_raw.nbac_player_boxscores`;

const day = (i: number) => addDays('2024-01-01', i);

function boxRow(date: string, player: number, points = 10, processedAt = '2024-06-01T00:00:00.000Z'): Row {
  return { game_id: `g-${date}`, player_id: player, game_date: date, points, processed_at: processedAt };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => expect.fail('expected a failure'),
    (e: unknown) => e as Error,
  );
}

describe('BigQueryRulesWarehouse', () => {
  let dir: string;
  let store: LocalObjectStore;
  let inner: DuckDBWarehouse;
  let prefix: string;
  let seq = 0;
  const opened: BigQueryRulesWarehouse[] = [];

  /** Wraps the DuckDB warehouse; tables are created beforehand so DDL does not use rate-window places. */
  function rules(options: BigQueryRulesOptions): BigQueryRulesWarehouse {
    const wh = new BigQueryRulesWarehouse(inner, options);
    opened.push(wh);
    return wh;
  }

  async function stage(date: string, players = 2): Promise<string> {
    const key = `staging/rules/${++seq}.ndjson`;
    await store.put(key, Array.from({ length: players }, (_, p) => JSON.stringify(boxRow(date, p))).join('\n'));
    return key;
  }

  async function mergeBatch(wh: BigQueryRulesWarehouse, date: string) {
    return wh.commit({ batchId: `b-${++seq}`, table: spec, slices: [date], objects: [await stage(date)] });
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `phasegate-rules-${randomUUID()}-`));
    store = new LocalObjectStore(path.join(dir, 'store'));
    prefix = `t${randomUUID().slice(0, 8)}_`;
    inner = await DuckDBWarehouse.open({ path: ':memory:', store, datasetPrefix: prefix });
    await inner.ensureTable(spec);
    await inner.ensureTable(logSpec);
  });

  afterEach(async () => {
    // close() is idempotent and closes the shared DuckDB warehouse once.
    for (const wh of opened.splice(0)) await wh.close();
    await inner.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("25 concurrent MERGEs: at most 2 run, 20 queue, and exactly the 3 beyond fail with BigQuery's text as BusyError", async () => {
    const wh = rules({ timeScale: 1000, tableOpsPerWindow: 1000 });
    const keys = await Promise.all(Array.from({ length: 25 }, (_, i) => stage(day(i))));
    const results = await Promise.allSettled(keys.map((key, i) => wh.commit({ batchId: `c-${i}`, table: spec, slices: [day(i)], objects: [key] })));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).to.deep.equal([22, 23, 24]);
    for (const i of failed) {
      const err = (results[i] as PromiseRejectedResult).reason as BusyError;
      expect(err).to.be.instanceOf(BusyError);
      expect(err.message).to.equal(BIGQUERY_TEXTS.dmlOutstanding(bqName(prefix)));
      expect(err.reason).to.equal('resourcesExceeded');
      expect(err.cause).to.be.instanceOf(BigQueryJobError);
      expect((err.cause as BigQueryJobError).errors).to.deep.equal([{ reason: 'resourcesExceeded', message: err.message }]);
    }
    const record = wh.record().tables['nba_raw.nbac_player_boxscores'];
    expect(record).to.include({ peakRunningDml: 2, peakQueuedDml: 20, dmlStatements: 22 });
    expect(record?.rejected.dmlOutstanding).to.equal(3);
    expect(
      await wh.presentSlices(
        spec,
        Array.from({ length: 25 }, (_, i) => day(i)),
      ),
    ).to.have.length(22);
  });

  it('a MERGE holds its running slot for the scaled latency, so a third waits for a slot', async () => {
    const wh = rules({ timeScale: 5, dmlLatency: { jitter: 0 }, tableOpsPerWindow: 100 });
    const first = await stage(day(0));
    const t0 = performance.now();
    await wh.commit({ batchId: 'l-0', table: spec, slices: [day(0)], objects: [first] });
    // 2 s + 0.5 s per 1,000 rows (2 rows) at 5× → ~400 ms.
    expect(performance.now() - t0).to.be.within(395, 600);

    const keys = await Promise.all([1, 2, 3].map((i) => stage(day(i))));
    const t1 = performance.now();
    await Promise.all(keys.map((key, i) => wh.commit({ batchId: `l-${i + 1}`, table: spec, slices: [day(i + 1)], objects: [key] })));
    // Two run together and the third starts when one finishes: two latencies (800 ms), not one (400) or three (1,200).
    expect(performance.now() - t1).to.be.within(790, 1150);
    expect(wh.record().tables['nba_raw.nbac_player_boxscores']?.peakRunningDml).to.equal(2);
    // The timeline (what bench:scale lays beside its bound): four statements of one slice each,
    // each held ~400 ms; of the last three, the one that waited for a slot started once another ended.
    const timeline = wh.record().tables['nba_raw.nbac_player_boxscores']?.timeline ?? [];
    expect(timeline.map((t) => t.slices)).to.deep.equal([1, 1, 1, 1]);
    for (const t of timeline) expect(t.endedAt - t.startedAt).to.be.within(395, 600);
    const [a, b, c] = timeline.slice(1).sort((x, y) => x.startedAt - y.startedAt) as [StatementTime, StatementTime, StatementTime];
    expect(b.startedAt - a.startedAt).to.be.below(150);
    expect(c.startedAt).to.be.at.least(Math.min(a.endedAt, b.endedAt));
  });

  it("a table's timeline keeps its newest statements: past 4,000 it drops to the newest 2,000", async () => {
    const wh = rules({
      dmlLatency: { baseSeconds: 0, perThousandRowsSeconds: 0, jitter: 0 },
      tableOpsPerWindow: 1_000_000,
      dmlStatementsPerWindow: 1_000_000,
    });
    const timeline = () => wh.record().tables['nba_raw.nbac_player_boxscores']?.timeline ?? [];
    // Each DELETE names the slice it ran over, so which statements stayed can be told by size.
    const run = (i: number) => wh.dml(spec, { kind: 'DELETE', slices: Array.from({ length: 1 + (i % 3) }, (_, d) => day(d)) });
    for (let i = 0; i < 4_000; i++) await run(i);
    expect(timeline()).to.have.length(4_000);
    await run(4_000);
    const kept = timeline();
    expect(kept).to.have.length(2_000);
    // The newest, in order: statements 2,001–4,000 (counting from 0), each over 1 + i % 3 slices.
    expect(kept.map((t) => t.slices)).to.deep.equal(Array.from({ length: 2_000 }, (_, k) => 1 + ((2_001 + k) % 3)));
    expect(kept.at(-1)?.startedAt).to.be.at.least(kept[0]?.startedAt ?? Number.POSITIVE_INFINITY);
  });

  it('the 6th table operation in a window fails with rateLimitExceeded as BusyError; after the window it passes', async () => {
    // 10 s window at 10× = 1 s; no latency so the ops land inside one window.
    const wh = rules({ timeScale: 10, dmlLatency: { baseSeconds: 0, perThousandRowsSeconds: 0 } });
    const started = performance.now();
    await mergeBatch(wh, day(0));
    const firstOpDone = performance.now();
    for (let i = 1; i < 5; i++) await mergeBatch(wh, day(i));
    const err = await rejection(mergeBatch(wh, day(5)));
    expect(performance.now() - started).to.be.below(1000);
    expect(err).to.be.instanceOf(BusyError);
    expect(err.message).to.equal(BIGQUERY_TEXTS.tableUpdateRate(bqName(prefix)));
    expect((err as BusyError).reason).to.equal('rateLimitExceeded');
    expect(await wh.presentSlices(spec, [day(5)])).to.deep.equal([]);

    // The window slides: once the first op is 1 s old, one place is free again.
    await sleep(Math.max(0, 1030 - (performance.now() - firstOpDone)));
    await mergeBatch(wh, day(5));
    expect(await wh.presentSlices(spec, [day(5)])).to.deep.equal([day(5)]);
    const record = wh.record().tables['nba_raw.nbac_player_boxscores'];
    expect(record?.tableOps).to.equal(6);
    expect(record?.rejected.rateLimited).to.equal(1);
  });

  it('the daily load-job budget: the 4th load of 3 fails as PermanentError, failed ones count, a new day resets it', async () => {
    // 86,400 s at 43,200× = a 2 s day, starting when the layer is created.
    const wh = rules({ timeScale: 43_200, dailyLoadJobs: 3 });
    const dayStarted = performance.now();
    for (let i = 0; i < 3; i++) expect((await wh.loadJob(spec, [await stage(day(i))])).rowsAffected).to.equal(2);
    const err = await rejection(wh.loadJob(spec, [await stage(day(3))]));
    expect(err).to.be.instanceOf(PermanentError);
    expect(err.message).to.equal(BIGQUERY_TEXTS.dailyLoads(bqName(prefix)));
    expect((err as PermanentError).reason).to.equal('quotaExceeded');
    await rejection(wh.loadJob(spec, [await stage(day(3))]));
    expect((await wh.tableMetadata(spec)).numRows).to.equal(6);
    expect(wh.record().tables['nba_raw.nbac_player_boxscores']).to.deep.include({ loadJobs: 5, tableOps: 3 });
    expect(wh.record().tables['nba_raw.nbac_player_boxscores']?.rejected.dailyLoads).to.equal(2);

    await sleep(Math.max(0, 2050 - (performance.now() - dayStarted)));
    await wh.loadJob(spec, [await stage(day(3))]);
    expect((await wh.tableMetadata(spec)).numRows).to.equal(8);
  });

  it("streamed rows block MERGE and DELETE on their slice with BigQuery's text (ConflictError) until the buffer flushes", async () => {
    // 1,800 s buffer at 1,000× = 1.8 s.
    const wh = rules({ timeScale: 1000, tableOpsPerWindow: 100 });
    const before = Date.now();
    await wh.streamingInsert(spec, [boxRow(day(0), 7, 30, '2024-07-01T12:00:00.000Z'), boxRow(day(0), 8, 31, '2024-07-01T12:00:00.000Z')]);
    const after = Date.now();

    // Streamed rows are ordinary rows to a query.
    const streamed = await wh.query(`SELECT player_id FROM ${wh.tableName(spec)} WHERE processed_at = $at ORDER BY player_id`, { at: '2024-07-01T12:00:00Z' });
    expect(streamed).to.deep.equal([{ player_id: 7 }, { player_id: 8 }]);
    expect(wh.bufferedSlices(spec)).to.deep.equal([day(0)]);
    const meta = await wh.tableMetadata(spec);
    expect(meta.numRows).to.equal(2);
    expect(meta.streamingBuffer?.estimatedRows).to.equal(2);
    expect(meta.streamingBuffer?.oldestEntryTime.getTime()).to.be.within(before, after);

    const err = await rejection(mergeBatch(wh, day(0)));
    expect(err).to.be.instanceOf(ConflictError);
    expect(err.message).to.equal(BIGQUERY_TEXTS.streamingBuffer(bqName(prefix)));
    expect((err.cause as BigQueryJobError).reason).to.equal('invalidQuery');
    const del = await rejection(wh.dml(spec, { kind: 'DELETE', slices: [day(0)] }));
    expect(del).to.be.instanceOf(ConflictError);
    // A multi-slice batch that includes the buffered slice fails as a whole, like BigQuery's statement.
    const multi = await rejection(wh.commit({ batchId: 'm', table: spec, slices: [day(0), day(1)], objects: [await stage(day(1))] }));
    expect(multi).to.be.instanceOf(ConflictError);

    // Another slice is not affected.
    await mergeBatch(wh, day(1));
    expect(await wh.presentSlices(spec, [day(1)])).to.deep.equal([day(1)]);
    expect(wh.record().tables['nba_raw.nbac_player_boxscores']?.rejected.streamingBuffer).to.equal(3);

    await sleep(Math.max(0, 1850 - (Date.now() - after)));
    expect(wh.bufferedSlices(spec)).to.deep.equal([]);
    expect((await wh.tableMetadata(spec)).streamingBuffer).to.equal(undefined);
    await mergeBatch(wh, day(0));
    // The MERGE owns the slice: the streamed players 7 and 8 vanished from the staged rows, so they are deleted.
    expect((await wh.readSlices(spec, [day(0)])).map((r) => r.player_id)).to.deep.equal([0, 1]);
  });

  it('append-mode commits are INSERTs: not blocked by the streaming buffer, still table operations', async () => {
    const wh = rules({ timeScale: 1000, tableOpsPerWindow: 100 });
    await wh.streamingInsert(logSpec, [{ event_id: 's1', day: day(0) }]);
    const key = `staging/log/${++seq}.ndjson`;
    await store.put(key, JSON.stringify({ event_id: 'c1', day: day(0) }));
    expect(await wh.commit({ batchId: 'a', table: logSpec, slices: [day(0)], objects: [key] })).to.deep.equal({ rowsAffected: 1, rowsStaged: 1 });
    const record = wh.record().tables['nba_ops.commit_log'];
    expect(record).to.deep.include({ streamingInserts: 1, tableOps: 1, dmlStatements: 0 });
  });

  it('dml DELETE goes through the gate and deletes the slices; resetRecord zeroes the counters', async () => {
    const wh = rules({ timeScale: 1000, tableOpsPerWindow: 100 });
    await mergeBatch(wh, day(0));
    await mergeBatch(wh, day(1));
    expect(await wh.dml(spec, { kind: 'DELETE', slices: [day(0)] })).to.deep.equal({ rowsAffected: 2 });
    expect(await wh.presentSlices(spec, [day(0), day(1)])).to.deep.equal([day(1)]);
    expect(wh.record().tables['nba_raw.nbac_player_boxscores']).to.deep.include({ dmlStatements: 3, tableOps: 3 });
    wh.resetRecord();
    expect(wh.record().tables['nba_raw.nbac_player_boxscores']).to.deep.include({ dmlStatements: 0, tableOps: 0, peakRunningDml: 0 });
  });

  it('ensureTable creating a table is a table operation; an existing table costs none', async () => {
    const wh = rules({ timeScale: 1000 });
    const fresh: TableSpec = { ...spec, table: 'fresh_table' };
    await wh.ensureTable(fresh);
    await wh.ensureTable(fresh);
    await wh.ensureTable(spec);
    expect(wh.record().tables['nba_raw.fresh_table']?.tableOps).to.equal(1);
    expect(wh.record().tables['nba_raw.nbac_player_boxscores']).to.equal(undefined);
  });

  it('close() fails queued statements and cuts latency short, leaving no timers behind', async () => {
    // 2 s latency at scale 1: without close() cutting it short, this test would time out.
    const wh = rules({ timeScale: 1, maxRunningDml: 1, dmlLatency: { jitter: 0 } });
    const keys = await Promise.all([0, 1].map((i) => stage(day(i))));
    const running = wh.commit({ batchId: 'r', table: spec, slices: [day(0)], objects: [keys[0] as string] });
    const queued = wh.commit({ batchId: 'q', table: spec, slices: [day(1)], objects: [keys[1] as string] });
    await sleep(100);
    const t0 = performance.now();
    await wh.close();
    expect((await running).rowsAffected).to.equal(2);
    const err = await rejection(queued);
    expect((err as { retryable?: boolean }).retryable).to.equal(true);
    expect(performance.now() - t0).to.be.below(1000);
  });
});
