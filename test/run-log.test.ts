/**
 * The processing-run log through the real pipeline: one row per phase job run in
 * `nba_orchestration.processing_run_log`, landed by that table's own group commit (many rows
 * per statement, read from the rules layer's table-operation count), and a run that was
 * killed shows up as `interrupted` when its job runs again.
 */
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { startRun } from '../src/queues/logs/run-log.ts';
import { processingRunLog } from '../src/tables/processing-run-log.ts';
import type { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const PROCESSORS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
const LOG_TABLE = 'nba_orchestration.processing_run_log';

describe('processing run log: one row per phase job, written by group commit', function () {
  this.timeout(90_000);
  let env: TestEnv;
  let w: BigQueryRulesWarehouse;

  before(async () => {
    // 20×: the log table's 10 s gather window is 0.5 s, so a burst of jobs shares a statement.
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '20', PHASEGATE_COMMIT_GATHER_SECONDS: '10' });
    w = (await env.rt.warehouse()) as BigQueryRulesWarehouse;
    await env.rt.startWorkers({ phases: [1, 2], commit: true, concurrency: 4, tracker: false });
  });
  after(async () => env.cleanup());

  const runRows = () =>
    w
      .query(
        `SELECT run_id, job_id, processor, phase, CAST(slice AS VARCHAR) AS slice, status, row_count, duration_ms, error, attempt, backfill_id, CAST(run_date AS VARCHAR) AS run_date, started_at, finished_at FROM ${w.tableName(processingRunLog.table)} ORDER BY processor, slice`,
      )
      .catch(() => []);

  it('logs every run of a backfill with its rows and duration, many rows per statement', async () => {
    const dates = await env.rt.source.gameDates('2023-11-01', '2023-11-08');
    const record = await startBackfill(env.rt, { processors: PROCESSORS.map((p) => env.rt.registry.get(p)), dates });
    const outcome = await waitForBackfill(env.rt, record, { bars: false, pollMs: 100, timeoutMs: 60_000 });
    for (const p of PROCESSORS) expect(outcome.progress.perProcessor[p]?.committed, p).to.equal(dates.length);
    const expected = PROCESSORS.length * dates.length;
    const rows = await until(async () => {
      const r = await runRows();
      return r.length >= expected ? r : undefined;
    }, 'every run in the log');
    expect(rows).to.have.length(expected);
    for (const p of PROCESSORS) {
      const mine = rows.filter((r) => r.processor === p);
      expect(
        mine.map((r) => r.slice),
        p,
      ).to.deep.equal(dates);
      for (const r of mine) {
        expect(r).to.include({ status: 'succeeded', attempt: 1, backfill_id: record.id, job_id: `${p}.${r.slice}`, error: null });
        expect(Number(r.row_count), `${p} ${r.slice}`).to.be.greaterThan(0);
        expect(Number(r.duration_ms)).to.be.at.least(0);
        expect(r.run_date).to.equal(String(r.started_at).slice(0, 10));
        expect(Date.parse(String(r.finished_at))).to.be.at.least(Date.parse(String(r.started_at)));
      }
      expect(mine.every((r) => Number(r.phase) === (p.endsWith('_scraper') ? 1 : 2))).to.equal(true);
    }
    // Group commit: the log's INSERTs carry many rows each (one operation is the CREATE TABLE).
    const ops = w.record().tables[LOG_TABLE]?.tableOps ?? 0;
    expect(ops).to.be.at.least(2);
    expect(expected / (ops - 1), `${expected} rows in ${ops - 1} statements`).to.be.at.least(3);
    // Log tables stay out of the processors' way: no status, no completion events, no backfill can name them.
    expect(() => env.rt.registry.get('processing_run_log')).to.throw(/unknown processor/);
    expect(env.rt.registry.isLogTable(LOG_TABLE)).to.equal(true);
    expect(env.rt.registry.gatedTables()).to.include(LOG_TABLE);
  });

  it('a run that never finished (its worker was killed) is logged as interrupted when the job runs again', async () => {
    const queue = env.rt.queues.phase(3);
    await queue.pause();
    const job = await queue.add(
      'player_game_summary',
      { processor: 'player_game_summary', slice: '2023-11-02', targets: [], cascade: false, origin: 'backfill' },
      { jobId: 'player_game_summary.2023-11-02' },
    );
    await startRun(env.rt, job, 3); // killed: never finishes
    const second = await startRun(env.rt, job, 3);
    await second.finish('succeeded', { rows: 12 });
    const rows = await until(async () => {
      const r = (await runRows()).filter((x) => x.job_id === 'player_game_summary.2023-11-02');
      return r.length >= 2 ? r : undefined;
    }, 'both runs in the log');
    const statuses = rows.map((r) => r.status).sort();
    expect(statuses).to.deep.equal(['interrupted', 'succeeded']);
    const killed = rows.find((r) => r.status === 'interrupted');
    expect(killed).to.include({ finished_at: null, duration_ms: null, slice: '2023-11-02', phase: 3 });
    expect(killed?.error).to.match(/never finished/);
    await queue.remove('player_game_summary.2023-11-02');
  });
});
