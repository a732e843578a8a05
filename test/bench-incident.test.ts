/**
 * The incident-replay benchmark in miniature (40 dates, fast clock): the three modes run end to
 * end through the real rules layer, queues and product path, and report what the issue asks
 * for. Also the quota lower bound's arithmetic. `npm run bench:incident` is the full replay.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { ModeReport } from '../scripts/bench/measure.ts';
import { quotaLowerBound } from '../scripts/bench/measure.ts';
import { DEFAULT_BENCH_OPTIONS, parseBenchArgs } from '../scripts/bench/options.ts';
import { runBench } from '../scripts/bench/run-bench.ts';
import { DEFAULT_RULES_OPTIONS } from '../src/warehouse/rules/options.ts';
import { TEST_REDIS_URL } from './helpers.ts';

describe('bench:incident', function () {
  this.timeout(150_000);

  describe('quota lower bound', () => {
    it('holds the n-th table operation back to ⌊(n − 1) / 5⌋ × 10 s', () => {
      const bound = (tableOps: number) => quotaLowerBound(DEFAULT_RULES_OPTIONS, { tableOps, dmlStatements: 0, rowsTouched: 0, bufferFlushSeconds: null });
      expect(bound(5).tableOpsSeconds).to.equal(0);
      expect(bound(6).tableOpsSeconds).to.equal(10);
      expect(bound(853).tableOpsSeconds).to.equal(1700);
    });

    it('spreads DML latency over the 2 running slots and takes the largest bound', () => {
      // 100 statements × 2 s + 0.5 s × 20,000 rows / 1000 = 210 s of DML work over 2 slots.
      const b = quotaLowerBound(DEFAULT_RULES_OPTIONS, { tableOps: 100, dmlStatements: 100, rowsTouched: 20_000, bufferFlushSeconds: 1900 });
      expect(b.dmlSeconds).to.equal(105);
      expect(b.tableOpsSeconds).to.equal(190);
      expect(b.streamingBufferSeconds).to.equal(1900);
      expect(b.seconds).to.equal(1900);
    });
  });

  it('every parameter is a flag', () => {
    const o = parseBenchArgs(
      [
        '--dates',
        '10',
        '--workers',
        '3',
        '--live-rate',
        '5',
        '--live-dates',
        '2',
        '--live-lead',
        '4',
        '--buffer-seconds',
        '60',
        '--time-scale',
        '100',
        '--scrape-seconds',
        '5',
        '--seed',
        '9',
        '--modes',
        'naive,phasegate',
      ],
      {},
    );
    expect(o).to.include({ dates: 10, workers: 3, liveRate: 5, liveDates: 2, liveLead: 4, bufferSeconds: 60, timeScale: 100, seed: 9, scrapeSeconds: 5 });
    expect(o.modes).to.deep.equal(['naive', 'phasegate']);
    expect(parseBenchArgs([], {}).dates).to.equal(DEFAULT_BENCH_OPTIONS.dates);
    expect(() => parseBenchArgs(['--modes', 'fast'], {})).to.throw(/not one of/);
  });

  describe('a small replay of all three modes', () => {
    let workDir: string;
    let reports: ModeReport[];
    const by = (mode: string) => reports.find((r) => r.mode === mode) as ModeReport;

    before(async () => {
      workDir = await mkdtemp(path.join(tmpdir(), 'phasegate-bench-'));
      ({ reports } = await runBench({
        ...DEFAULT_BENCH_OPTIONS,
        dates: 40,
        start: '2023-10-24',
        workers: 4,
        liveDates: 4,
        // Well past the 4 dates in flight, so each stream lands before the mode writes that date.
        liveLead: 12,
        liveRate: 60,
        timeScale: 300,
        timeoutSeconds: 100,
        workDir,
        redisUrl: TEST_REDIS_URL,
        verbose: false,
      }));
    });
    after(async () => rm(workDir, { recursive: true, force: true }));

    it('reports every figure the issue asks for, per mode', () => {
      expect(reports.map((r) => r.mode)).to.deep.equal(['naive', 'per-job', 'phasegate']);
      for (const r of reports) {
        expect(r, r.mode).to.include.keys(
          'dates',
          'workers',
          'failedDates',
          'failureRate',
          'datesLost',
          'duplicateRows',
          'tableOperations',
          'loadJobs',
          'peakRunningDml',
          'peakQueuedDml',
          'conflictsMet',
          'conflictsResolved',
          'makespanSeconds',
          'quotaLowerBoundSeconds',
        );
        expect(r.dates).to.equal(40);
        expect(r.live.streamed, `${r.mode} live dates`).to.equal(4);
        // The live writer stays ahead of the mode: it never appends to a date the mode already wrote.
        expect(r.live.streamedAfterModeWrote, r.mode).to.equal(0);
        expect(r.makespanSeconds.bigquery, r.mode).to.be.at.least(r.quotaLowerBound.tableOpsSeconds);
      }
    });

    it('naive: one uncapped processor run per raw file, each with its own DELETE, fails dates and retries nothing but rate limits', () => {
      const naive = by('naive');
      const runs = naive.processorRuns as { started: number; failed: number; failureReasons: Record<string, number> };
      // Every raw file written started one run (one per game), and runs fail on BigQuery's own limits.
      expect(runs.started).to.be.above(naive.dates);
      expect(runs.failed).to.be.above(0);
      const known = ['streaming buffer', 'DML outstanding (limit 20)', 'table update rate limit'];
      for (const reason of [...Object.keys(runs.failureReasons), ...Object.keys(naive.failureReasons)]) expect(known, reason).to.include(reason);
      // A date fails when any of its runs does; the live writer's dates are among them.
      expect(naive.failedDates).to.be.at.least(4);
      expect(Object.values(naive.failureReasons).reduce((a, b) => a + b, 0)).to.equal(naive.failedDates);
      expect(naive.conflictsMet).to.be.at.least(4);
      expect(naive.conflictsResolved).to.equal(0);
      expect(naive.datesLost).to.equal(0);
      expect(naive.dateLatencySeconds.from).to.equal('started');
    });

    it('per-job meets the same conflicts with no path for them and spends one table operation per date', () => {
      const perJob = by('per-job');
      expect(perJob.conflictsMet).to.equal(4);
      // Its retries give up within seconds of BigQuery time, long before a 30-min buffer
      // flushes, unless the queue's backlog happened to hold a retry back that long.
      expect(perJob.failedDates + perJob.conflictsResolved).to.equal(perJob.conflictsMet);
      expect(perJob.failureReasons).to.deep.equal(perJob.failedDates > 0 ? { 'streaming buffer': perJob.failedDates } : {});
      expect(perJob.datesLost).to.equal(0);
      expect(perJob.duplicateRows).to.equal(0);
      expect(perJob.tableOperations).to.be.at.least(36);
      expect(perJob.peakRunningDml).to.be.at.most(2);
      // Whatever it resolved, it says whether its retry policy or the queue's order did it.
      const resolvedBy = perJob.conflictsResolvedBy as { mechanism: number; queueOrderLuck: number };
      expect(resolvedBy.mechanism + resolvedBy.queueOrderLuck).to.equal(perJob.conflictsResolved);
    });

    it('phasegate lands every date exactly once within the caps and resolves every conflict', () => {
      const pg = by('phasegate');
      expect(pg.timedOut).to.equal(false);
      expect(pg.failedDates).to.equal(0);
      expect(pg.deferredDates).to.equal(0);
      expect(pg.datesLost).to.equal(0);
      expect(pg.duplicateRows).to.equal(0);
      expect(pg.rows.inTable).to.equal(pg.rows.expected);
      expect(pg.rows.datesWithWrongRowCount).to.equal(0);
      expect(pg.peakRunningDml).to.be.at.most(2);
      expect(pg.peakQueuedDml).to.be.below(20);
      expect(pg.conflictsMet).to.be.at.least(4);
      expect(pg.conflictsResolved).to.equal(pg.conflictsMet);
      expect(pg.tableOperations).to.be.below(by('per-job').tableOperations);
      // It had to wait for the buffer to flush: the makespan is at least that bound.
      expect(pg.makespanSeconds.bigquery).to.be.at.least(pg.quotaLowerBound.streamingBufferSeconds ?? 0);
      // Staged → in the table, for the clean and the conflicting dates apart.
      expect(pg.dateLatencySeconds.from).to.equal('staged');
      expect(pg.dateLatencySeconds.clean.dates + pg.dateLatencySeconds.conflicting.dates).to.equal(pg.dates);
      expect(pg.dateLatencySeconds.conflicting.p50 ?? 0).to.be.above(pg.dateLatencySeconds.clean.p95 ?? 0);
    });
  });
});
