/**
 * The cascade's quota bound (scripts/bench/cascade-bound.ts) on graphs small enough to work
 * out by hand: group commits, running slots, the rate window, inputs, the streaming buffer.
 */
import { expect } from 'chai';
import { type CascadeTable, cascadeQuotaBound, formatCriticalPath, groupSlices, idleLaneSeconds, type TableCaps } from '../scripts/bench/cascade-bound.ts';
import { quotaLowerBound } from '../scripts/bench/measure.ts';
import type { ScaleRunResult, TableFigures } from '../scripts/bench/scale/run.ts';
import { scaleTargets } from '../scripts/bench/scale/targets.ts';
import { DEFAULT_RULES_OPTIONS } from '../src/warehouse/rules/options.ts';

// The rules layer's default latency model: 2 s + 0.5 s per thousand rows.
const LATENCY = DEFAULT_RULES_OPTIONS.dmlLatency;
const BQ: TableCaps = { maxSlices: 64, maxRows: 1_000_000, running: 2, opsPerWindow: 5, windowSeconds: 10 };

const rows = (n: number, each: number) => new Map(Array.from({ length: n }, (_, i) => [`2024-01-0${i + 1}`, each] as const));

describe('bench:scale cascade quota bound', () => {
  it('cuts slices in order at maxSlices and maxRows', () => {
    const groups = groupSlices(
      new Map([
        ['2024-01-03', 10],
        ['2024-01-01', 10],
        ['2024-01-02', 90],
        ['2024-01-04', 10],
      ]),
      { maxSlices: 3, maxRows: 100 },
    );
    // 01 + 02 = 100 rows; 03 would make 110: a new statement, which 04 joins.
    expect(groups).to.deep.equal([
      { slices: ['2024-01-01', '2024-01-02'], rows: 100 },
      { slices: ['2024-01-03', '2024-01-04'], rows: 20 },
    ]);
  });

  it('counts the lane-seconds a table left unused between its first statement and its last', () => {
    // Two lanes: 0–4 one running (4 free), 4–6 two (0), 6–8 one (2), 8–9 none (2), 9–10 one (1).
    const statements = [
      [0, 6, 64],
      [4, 8, 64],
      [9, 10, 3],
    ];
    expect(idleLaneSeconds(statements, 2)).to.equal(9);
    expect(idleLaneSeconds(statements, 1)).to.equal(1);
    expect(idleLaneSeconds([], 2)).to.equal(0);
  });

  it('carries each slice down the graph: A → B → C', () => {
    const tables: CascadeTable[] = [
      // Listed downstream first: the bound orders them by their inputs.
      { id: 'c', inputs: ['b'], rowsBySlice: rows(4, 200), caps: { ...BQ, maxSlices: 2, running: 1 } },
      { id: 'b', inputs: ['a'], rowsBySlice: rows(4, 500), caps: { ...BQ, maxSlices: 4 } },
      { id: 'a', inputs: [], rowsBySlice: rows(4, 1000), caps: { ...BQ, maxSlices: 2 } },
    ];
    const bound = cascadeQuotaBound(tables, LATENCY);
    // a: two statements of 2 slices × 1000 rows = 2 + 0.5 × 2 = 3 s, both at 0 (2 slots): 0–3.
    // b: one statement of 4 slices × 500 rows, 3 s, once a has landed them all: 3–6.
    // c: 2 statements of 2 × 200 rows = 2.2 s each, one slot: 6–8.2, then 8.2–10.4.
    expect(bound.seconds).to.equal(10.4);
    expect(bound.tables.map((t) => [t.id, t.statements, t.firstStartSeconds, t.endSeconds])).to.deep.equal([
      ['a', 2, 0, 3],
      ['b', 1, 3, 6],
      ['c', 2, 6, 10.4],
    ]);
    expect(formatCriticalPath(bound.criticalPath)).to.equal('a ×1 → b ×1 → c ×2');
  });

  it('holds the sixth operation of a table to the rate window, and never undercuts the incident bound', () => {
    const t: CascadeTable = { id: 'r', inputs: [], rowsBySlice: rows(6, 0), caps: { ...BQ, maxSlices: 1 } };
    const bound = cascadeQuotaBound([t], LATENCY);
    // DDL at 0; statements of 2 s: two at 0, two at 2 (slots); the next needs the window
    // to pass the DDL's 0 + 10 s, so two at 10 → 12.
    expect(bound.seconds).to.equal(12);
    const incident = quotaLowerBound(DEFAULT_RULES_OPTIONS, { tableOps: 7, dmlStatements: 6, rowsTouched: 0, bufferFlushSeconds: null });
    expect(incident.seconds).to.equal(10);
    expect(bound.seconds).to.be.at.least(incident.seconds);
  });

  it('waits for a streamed slice to flush, and for nothing an input does not hold', () => {
    const tables: CascadeTable[] = [
      { id: 'a', inputs: [], rowsBySlice: rows(2, 0), caps: { ...BQ, maxSlices: 1 }, flushAt: new Map([['2024-01-02', 50]]) },
      // b lands 2024-01-03, which a does not hold: it starts at 0.
      { id: 'b', inputs: ['a'], rowsBySlice: new Map([['2024-01-03', 0]]), caps: BQ },
    ];
    const bound = cascadeQuotaBound(tables, LATENCY);
    expect(bound.tables.map((t) => [t.id, t.firstStartSeconds, t.endSeconds])).to.deep.equal([
      ['a', 0, 52],
      ['b', 0, 2],
    ]);
    expect(bound.seconds).to.equal(52);
    // The flush, not a's first statement, held the last one.
    expect(bound.criticalPath).to.deep.equal([{ id: 'a', statements: 1 }]);
  });
});

describe('bench:scale targets: where a cascade fell behind', () => {
  /** A cascade run of two tables: the second ran 30 s past its bound. */
  function run(): ScaleRunResult {
    const figures = (table: string, phase: number, statements: TableFigures['statements']): TableFigures => ({
      table,
      tableOperations: 3,
      commits: 2,
      rows: 10,
      log: false,
      phase,
      readJobs: 0,
      tableReads: 0,
      checkJobs: 2,
      statements,
    });
    return {
      dates: 100,
      timeScale: 1,
      cascade: true,
      phaseProcesses: 0,
      timedOut: false,
      failed: 0,
      makespanSeconds: { real: 50, bigquery: 50 },
      realMsPerDate: 500,
      bound: {
        seconds: 20,
        atGateCapsSeconds: 30,
        criticalPath: 'a.raw ×2 → b.derived ×1',
        tables: [
          { id: 'a.raw', statements: 2, rows: 10, firstStartSeconds: 0, endSeconds: 12, running: 2 },
          { id: 'b.derived', statements: 2, rows: 10, firstStartSeconds: 6, endSeconds: 20, running: 2 },
        ],
      },
      makespanOverBound: 2.5,
      tables: [
        figures('a.raw', 2, [
          [0.5, 9, 64],
          [9.5, 14, 36],
        ]),
        figures('b.derived', 3, []),
      ],
      queryJobs: { reads: 0, checks: 4 },
      gateRssMb: 100,
      phaseWorkerRssMb: [],
      phaseWorkerMemoryMb: [],
      gateMemoryMb: { heapUsedPeak: 1, rssAtStart: 1, duckdbPeak: 1, duckdbLimit: '1 MiB', duckdbAtPeak: {} },
      redis: { usedMemoryMb: 1, peakMemoryMb: 1 },
      cpu: { gateSeconds: 48.5, gateMainThreadBusy: 0.962, phaseWorkerSeconds: [] },
      warehouseFileMb: 0,
      retries: [],
    };
  }

  it('says what the processes spent on the CPU beside the makespan: a main thread busy near 100 % bounds the run', () => {
    const inGate = scaleTargets({ maxSlices: 64, sizes: [run()], procs: [], rawTables: [], relay: false, tunedHeap: false });
    expect(inGate).to.include(
      'INFO    100 dates × every processor at × 1, phase workers in the gate process: commit-gate process 48.5 CPU s in 50 real s, its main thread busy 96 %',
    );
    const split: ScaleRunResult = { ...run(), phaseProcesses: 2, cpu: { gateSeconds: 30, gateMainThreadBusy: 0.71, phaseWorkerSeconds: [12.5, 11] } };
    const lines = scaleTargets({ maxSlices: 64, sizes: [], procs: [split], rawTables: [], relay: false, tunedHeap: false });
    expect(lines.find((l) => l.includes('CPU s'))).to.match(
      /: commit-gate process 30 CPU s in 50 real s, its main thread busy 71 %; phase-worker processes 12\.5, 11 CPU s$/,
    );
  });

  it("prints each table's statements, inputs first, beside the bound's schedule, after the makespan line", () => {
    const lines = scaleTargets({ maxSlices: 64, sizes: [run()], procs: [], rawTables: [], relay: false, tunedHeap: false });
    const at = lines.findIndex((l) => l.includes('makespan 50 s ≤ 1.3 × quota bound 20 s'));
    expect(at).to.be.at.least(0);
    expect(lines[at + 1]).to.equal(
      // raw: 0.5–14 on two lanes is 27 lane-seconds, of which its statements used 8.5 + 4.5.
      "INFO    100 dates × every processor at × 1, phase workers in the gate process: statements per table, first start – last end, run (bound), BigQuery s, and idle lane-seconds (fewer running than the bound's caps allow): raw 0.5–14 (0–12) idle 14, derived — (6–20)",
    );
    // No job failed an attempt or stalled: no line says so.
    expect(lines.some((l) => l.includes('tried again or stalled'))).to.equal(false);
  });

  it('says which queues had jobs tried again or stalled, after the schedule line: what a gap between statements may hide', () => {
    const r: ScaleRunResult = {
      ...run(),
      retries: [
        { queue: 'commit-nba_raw.nbac_team_boxscore', failedAttempts: 2, stalled: 0, reasons: ['Out of Memory Error: could not allocate block'] },
        { queue: 'phase-2', failedAttempts: 0, stalled: 3, reasons: [] },
      ],
    };
    const lines = scaleTargets({ maxSlices: 64, sizes: [r], procs: [], rawTables: [], relay: false, tunedHeap: false });
    const at = lines.findIndex((l) => l.startsWith('INFO    100 dates × every processor at × 1, phase workers in the gate process: statements per table'));
    expect(lines[at + 1]).to.equal(
      'INFO    100 dates × every processor, phase workers in the gate process: jobs tried again or stalled: commit-nba_raw.nbac_team_boxscore 2 failed attempts (Out of Memory Error: could not allocate block), phase-2 3 stalled',
    );
  });
});
