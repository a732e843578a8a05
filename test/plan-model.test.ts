/**
 * The dry run's model follows the table gate's rate window as the commit worker keeps it: a
 * statement starts once fewer than `opsMax` started in the window before it, sliding, whatever
 * BullMQ's fixed window let the jobs start.
 */
import { expect } from 'chai';
import { addDays, datesIn } from '../src/processors/precompute/lookback.ts';
import { type PlanModelInput, simulatePlan } from '../src/queues/backfill/plan-model.ts';
import { placeWindowMs } from '../src/queues/commit/ops-window.ts';

const DATES = datesIn({ start: '2024-01-01', end: addDays('2024-01-01', 39) });
const TIME_SCALE = 10;
const OPS_MAX = 3;

function input(onStatement: (table: string, atMs: number) => void, onCommit: (table: string, atMs: number) => void): PlanModelInput {
  return {
    processors: [{ name: 'box', phase: 2, kind: 'transform', table: 'nba_raw.box', dependsOn: [], jobMs: 1, jobMsPerWindowDate: 0, rowsPerGame: 10 }],
    roots: [{ name: 'box', dates: DATES.map((_, i) => i) }],
    dates: DATES,
    games: DATES.map(() => 1),
    concurrency: 12,
    timeScale: TIME_SCALE,
    // One slice per statement, no gather: statements as fast as the caps allow.
    tables: { 'nba_raw.box': { commitMaxSlices: 1, gatherSeconds: 0, opsMax: OPS_MAX, opsWindowSeconds: 10, concurrency: 2 } },
    dml: { baseSeconds: 0.5, perThousandRowsSeconds: 0 },
    onStatement,
    onCommit,
  };
}

describe('backfill --dry-run model: the table’s rate window', () => {
  it('starts no more than opsMax statements in any window, and every slice in one', () => {
    const statements: number[] = [];
    const jobs: number[] = [];
    const result = simulatePlan(
      input(
        (_, at) => statements.push(at),
        (_, at) => jobs.push(at),
      ),
    );
    expect(result.tables).to.deep.equal([{ table: 'nba_raw.box', slices: DATES.length, statements: DATES.length }]);
    expect(statements).to.have.length(DATES.length);
    const window = placeWindowMs((10 * 1000) / TIME_SCALE);
    for (let i = 0; i + OPS_MAX < statements.length; i++) {
      expect((statements[i + OPS_MAX] as number) - (statements[i] as number), `statements ${i} and ${i + OPS_MAX}`).to.be.at.least(window - 1e-6);
    }
    // A statement never starts before its job.
    for (let i = 0; i < jobs.length; i++) expect(statements[i]).to.be.at.least(jobs[i] as number);
    // The run lasts as long as the window makes it: 40 statements, 3 per window.
    expect(result.durationMs).to.be.at.least(Math.floor((DATES.length - 1) / OPS_MAX) * window);
  });
});
