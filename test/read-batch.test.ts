/**
 * Issue 24, point 2: group reads. Phase 3–5 jobs running at once read their inputs together —
 * one warehouse read per table for the batch, each job handed exactly what a read of its own
 * returns — and a cascade's phases 3–5 issue a read per batch of slices, not per slice.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Row, TableSpec } from '../src/processors/types.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { PHASES } from '../src/queues/names.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { ReadBatcher } from '../src/warehouse/read-batch.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import type { SliceRead } from '../src/warehouse/types.ts';
import { CASCADE_DOWNSTREAM, CASCADE_ROOTS, expectExactCascade } from './exact-cascade.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

const spec: TableSpec = {
  dataset: 'nba_raw',
  table: 'read_batch_probe',
  columns: [
    { name: 'game_id', type: 'STRING', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'pts', type: 'INT64' },
  ],
  primaryKey: ['game_id', 'player_id'],
  sliceColumn: 'game_date',
};

// A second table with other columns (a team line): read together with the first through `readTables`.
const teams: TableSpec = {
  dataset: 'nba_raw',
  table: 'read_batch_teams',
  columns: [
    { name: 'game_id', type: 'STRING', nullable: false },
    { name: 'team', type: 'STRING', nullable: false },
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'pts', type: 'FLOAT64' },
  ],
  primaryKey: ['game_id', 'team'],
  sliceColumn: 'game_date',
};

const DATES = Array.from({ length: 12 }, (_, i) => `2024-01-${String(i + 1).padStart(2, '0')}`);

describe('group reads (issue 24, point 2)', () => {
  describe('the batcher, on a real DuckDB', () => {
    let dir: string;
    let wh: DuckDBWarehouse;
    let reads: (readonly string[])[];
    const reader = (s: TableSpec, slices: readonly string[]) => {
      reads.push(slices);
      return wh.readSlices(s, slices);
    };

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), `phasegate-read-batch-${randomUUID().slice(0, 8)}-`));
      const store = new LocalObjectStore(path.join(dir, 'store'));
      wh = await DuckDBWarehouse.open({ path: path.join(dir, 'warehouse.duckdb'), store, datasetPrefix: '' });
      await wh.ensureTable(spec);
      // Three players a date, two games on even dates; inserted out of key order.
      const rows: Row[] = DATES.flatMap((d, i) =>
        [3, 1, 2].flatMap((p) => [
          { game_id: `g${i}a`, player_id: p, game_date: d, pts: i * 10 + p },
          ...(i % 2 === 0 ? [{ game_id: `g${i}b`, player_id: p, game_date: d, pts: i * 10 + p + 100 }] : []),
        ]),
      );
      await store.put('staging/probe.ndjson', `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
      await wh.commit({ batchId: 'seed', table: spec, slices: DATES, objects: ['staging/probe.ndjson'] });
      await wh.ensureTable(teams);
      const teamRows: Row[] = DATES.flatMap((d, i) => ['HOME', 'AWAY'].map((team) => ({ game_id: `g${i}a`, team, game_date: d, pts: 100 + i })));
      await store.put('staging/teams.ndjson', `${teamRows.map((r) => JSON.stringify(r)).join('\n')}\n`);
      await wh.commit({ batchId: 'seed-teams', table: teams, slices: DATES, objects: ['staging/teams.ndjson'] });
    });
    after(async () => {
      await wh.close();
      await rm(dir, { recursive: true, force: true });
    });
    beforeEach(() => {
      reads = [];
    });

    it('reads asked together are one read of the union; each gets exactly what a read of its own returns', async () => {
      const asks = [[DATES[3]], [DATES[0], DATES[1]], [DATES[7]], [DATES[1]], [DATES[11], DATES[2]], []].map((a) => a.filter((d): d is string => !!d));
      const alone = await Promise.all(asks.map((a) => wh.readSlices(spec, a)));
      const batcher = new ReadBatcher(reader, { gatherMs: 200, maxReads: 64 });
      const together = await Promise.all(asks.map((a) => batcher.readSlices(spec, a)));
      expect(together).to.deep.equal(alone);
      expect(reads).to.deep.equal([[DATES[0], DATES[1], DATES[2], DATES[3], DATES[7], DATES[11]]]);
      expect(batcher.stats).to.deep.equal({ asked: 6, sent: 1 });
    });

    it('look-back windows that overlap read each earlier date once per batch', async () => {
      const windows = [4, 5, 6, 7].map((n) => DATES.slice(0, n));
      const alone = await Promise.all(windows.map((w) => wh.readSlices(spec, w)));
      const batcher = new ReadBatcher(reader, { gatherMs: 200, maxReads: 64 });
      expect(await Promise.all(windows.map((w) => batcher.readSlices(spec, w)))).to.deep.equal(alone);
      expect(reads).to.deep.equal([DATES.slice(0, 7)]);
    });

    it('a full batch is read at once, without waiting out its window; the next read starts a new batch', async () => {
      const batcher = new ReadBatcher(reader, { gatherMs: 60_000, maxReads: 3 });
      const started = Date.now();
      const rows = await Promise.all(DATES.slice(0, 3).map((d) => batcher.readSlices(spec, [d])));
      expect(Date.now() - started).to.be.below(5_000);
      expect(rows.map((r) => r.length)).to.deep.equal([6, 3, 6]);
      expect(reads).to.have.length(1);
    });

    it('reads arriving one after another share a batch while each comes within the window; the batch goes at its longest wait', async () => {
      const batcher = new ReadBatcher(reader, { gatherMs: 150, maxReads: 64, maxGatherMs: 800 });
      const pending: Promise<Row[]>[] = [];
      // Every 100 ms, inside the 150 ms window: one batch until the 800 ms cap, then another.
      for (const d of DATES) {
        pending.push(batcher.readSlices(spec, [d]));
        await new Promise((r) => setTimeout(r, 100));
      }
      const rows = await Promise.all(pending);
      expect(rows.map((r) => r.length)).to.deep.equal(DATES.map((_, i) => (i % 2 === 0 ? 6 : 3)));
      expect(reads.length, JSON.stringify(reads)).to.be.within(2, 3);
      expect(reads.flat().sort()).to.deep.equal(DATES);
    });

    it('another table, or other columns of it, is another read; a window of 0 reads each alone', async () => {
      const narrow: TableSpec = { ...spec, columns: spec.columns.filter((c) => c.name !== 'pts') };
      const batcher = new ReadBatcher(reader, { gatherMs: 100, maxReads: 64 });
      const [wide, slim] = await Promise.all([batcher.readSlices(spec, [DATES[0] ?? '']), batcher.readSlices(narrow, [DATES[0] ?? ''])]);
      expect(Object.keys(wide?.[0] ?? {})).to.include('pts');
      expect(Object.keys(slim?.[0] ?? {})).to.not.include('pts');
      expect(reads).to.have.length(2);
      reads = [];
      const alone = new ReadBatcher(reader, { gatherMs: 0, maxReads: 64 });
      await Promise.all(DATES.slice(0, 4).map((d) => alone.readSlices(spec, [d])));
      expect(reads).to.have.length(4);
    });

    it("hands a batch's jobs their rows one at a time: each job's own work runs before the next is handed its rows", async () => {
      const batcher = new ReadBatcher(reader, { gatherMs: 50, maxReads: 64 });
      const asked = DATES.slice(0, 4).map((d) => batcher.readSlices(spec, [d]));
      const handed = asked.map(() => false);
      asked.forEach((p, i) => void p.then(() => (handed[i] = true)));
      // What each job saw of the others when its own work (a few awaits deep, like a processor's) ran.
      const seen = await Promise.all(
        asked.map(async (p) => {
          const rows = await p;
          await undefined;
          return { rows: rows.length, handed: [...handed] };
        }),
      );
      expect(seen.map((s) => s.rows)).to.deep.equal([6, 3, 6, 3]);
      expect(seen.map((s) => s.handed)).to.deep.equal([
        [true, false, false, false],
        [true, true, false, false],
        [true, true, true, false],
        [true, true, true, true],
      ]);
    });

    describe('with a reader of several tables at once (BigQuery: one query job)', () => {
      let many: SliceRead[][];
      const readMany = (rs: readonly SliceRead[]) => {
        many.push([...rs]);
        return Promise.all(rs.map((r) => wh.readSlices(r.spec, r.slices)));
      };
      beforeEach(() => {
        many = [];
      });

      it('reads of several tables asked together are one query; each job gets exactly what a read of its own returns', async () => {
        const batcher = new ReadBatcher(reader, { gatherMs: 100, maxReads: 64 }, readMany);
        // Four jobs, each reading its slice of both tables at once (as readBestSources does).
        const jobs = DATES.slice(0, 4).map((d) => Promise.all([batcher.readSlices(spec, [d]), batcher.readSlices(teams, [d])]));
        const alone = await Promise.all(DATES.slice(0, 4).map((d) => Promise.all([wh.readSlices(spec, [d]), wh.readSlices(teams, [d])])));
        expect(await Promise.all(jobs)).to.deep.equal(alone);
        expect(many).to.have.length(1);
        expect(many[0]?.map((r) => [r.spec.table, r.slices])).to.deep.equal([
          ['read_batch_probe', DATES.slice(0, 4)],
          ['read_batch_teams', DATES.slice(0, 4)],
        ]);
        expect(reads).to.deep.equal([]);
        expect(batcher.stats).to.deep.equal({ asked: 8, sent: 1 });
      });

      it('a window holding one table only is a read of that table, not a query of several', async () => {
        const batcher = new ReadBatcher(reader, { gatherMs: 50, maxReads: 64 }, readMany);
        expect((await Promise.all(DATES.slice(0, 2).map((d) => batcher.readSlices(teams, [d])))).map((r) => r.length)).to.deep.equal([2, 2]);
        expect(many).to.deep.equal([]);
        expect(reads).to.deep.equal([DATES.slice(0, 2)]);
      });

      it('a full table sends the whole batch, with the reads of its turn that fit; each job is handed its rows of every table before the next job is', async () => {
        const batcher = new ReadBatcher(reader, { gatherMs: 300, maxReads: 3 }, readMany);
        const order: string[] = [];
        const jobs = DATES.slice(0, 3).map((d, i) =>
          Promise.all([
            batcher.readSlices(spec, [d]).then((r) => order.push(`job ${i} players`) && r.length),
            batcher.readSlices(teams, [d]).then((r) => order.push(`job ${i} teams`) && r.length),
          ]),
        );
        // A fourth read in the same turn does not fit: it starts the next batch (alone in it: one table).
        const fourth = batcher.readSlices(spec, [DATES[3] ?? '']);
        expect(await Promise.all(jobs)).to.deep.equal([
          [6, 2],
          [3, 2],
          [6, 2],
        ]);
        expect(await fourth).to.have.length(3);
        expect(many.map((rs) => rs.map((r) => r.slices))).to.deep.equal([[DATES.slice(0, 3), DATES.slice(0, 3)]]);
        expect(reads).to.deep.equal([[DATES[3]]]);
        expect(order).to.deep.equal(['job 0 players', 'job 0 teams', 'job 1 players', 'job 1 teams', 'job 2 players', 'job 2 teams']);
      });

      it('a query that fails fails every job of every table in it; the next batch reads again', async () => {
        let fail = true;
        const flaky = (rs: readonly SliceRead[]) => (fail ? Promise.reject(new Error('backend went away')) : readMany(rs));
        const batcher = new ReadBatcher(reader, { gatherMs: 50, maxReads: 64 }, flaky);
        const outcomes = await Promise.allSettled([batcher.readSlices(spec, [DATES[0] ?? '']), batcher.readSlices(teams, [DATES[0] ?? ''])]);
        expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).to.deep.equal(Array(2).fill('Error: backend went away'));
        fail = false;
        const again = await Promise.all([batcher.readSlices(spec, [DATES[0] ?? '']), batcher.readSlices(teams, [DATES[0] ?? ''])]);
        expect(again.map((r) => r.length)).to.deep.equal([6, 2]);
        expect(many).to.have.length(1);
      });
    });

    it('a read that fails fails every job of its batch with its error; the next batch reads again', async () => {
      let fail = true;
      const flaky = (s: TableSpec, slices: readonly string[]) => (fail ? Promise.reject(new Error('backend went away')) : reader(s, slices));
      const batcher = new ReadBatcher(flaky, { gatherMs: 50, maxReads: 64 });
      const outcomes = await Promise.allSettled(DATES.slice(0, 3).map((d) => batcher.readSlices(spec, [d])));
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).to.deep.equal(Array(3).fill('Error: backend went away'));
      fail = false;
      expect(await batcher.readSlices(spec, [DATES[0] ?? ''])).to.have.length(6);
    });
  });

  describe('a cascade through the rules layer', function () {
    this.timeout(180_000);
    let env: TestEnv;
    after(async () => env?.cleanup());

    it('phases 3–5 read each input table in batches of slices, not once per slice, and land exact rows', async () => {
      env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200' });
      const { rt } = env;
      await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 4 });
      const dates = await rt.source.gameDates('2023-11-01', '2023-11-14');
      const record = await startCascadingBackfill(rt, { processors: CASCADE_ROOTS.map((p) => rt.registry.get(p)), dates, cascade: true });
      await expectExactCascade(rt, dates, await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 150_000 }));
      const w = await rt.warehouse();
      expect(w).to.be.instanceOf(BigQueryRulesWarehouse);
      const tables = (w as BigQueryRulesWarehouse).record().tables;
      // Reads of the raw player lines: phase 3's player summary and the crosswalk's candidates.
      const reads = tables['nba_raw.nbac_player_boxscores']?.tableReads ?? 0;
      // Each slice read on its own would be one read per date per reader; gathered, a batch of
      // slices shares one. Commits deliver slices a few at a time here, so the bound is loose.
      const downstreamSlices = dates.length * CASCADE_DOWNSTREAM.length;
      console.log(`      ${dates.length} dates: ${reads} reads of nba_raw.nbac_player_boxscores; ${downstreamSlices} downstream slices`);
      expect(reads).to.be.above(0);
      expect(reads).to.be.below(dates.length);
      // Phase 3 reads its source tables together: one query job serves the reads of several.
      const all = Object.values(tables);
      const jobs = all.reduce((n, t) => n + t.readJobs, 0);
      const tableReads = all.reduce((n, t) => n + t.tableReads, 0);
      console.log(`      ${jobs} query jobs read ${tableReads} tables' slices`);
      expect(jobs).to.be.above(0);
      expect(jobs).to.be.below(tableReads);
    });
  });
});
