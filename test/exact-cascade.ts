/**
 * What a cascade of the NBA.com box scores through all five phases must leave: every slice
 * committed, the raw tables holding exactly the fixture's rows (computed in memory), and each
 * downstream table one row per player who played, none twice.
 */
import { expect } from 'chai';
import { checkTables, expectedRows } from '../scripts/chaos/expected.ts';
import type { CascadeProgress } from '../src/queues/backfill/cascade.ts';
import { fetchLoopState } from '../src/queues/fetch-loop-watch.ts';
import type { Runtime } from '../src/runtime.ts';
import { duckdbOf } from '../src/warehouse/duckdb/backend.ts';

/** The cascade's roots: both scrapers and both raw processors. */
export const CASCADE_ROOTS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
export const CASCADE_DOWNSTREAM = [
  'player_game_summary',
  'team_offense_game_summary',
  'team_defense_game_summary',
  'player_rolling_features',
  'player_points_predictions',
];

/** Each worker's name, whether it runs, and what its fetch loop is doing (to tell a stuck worker apart when a run hangs). */
function fetchLoop(w: Runtime['workers'][number]): Record<string, unknown> {
  return { name: w.name, running: w.isRunning(), ...fetchLoopState(w) };
}

/**
 * Where a run that did not end stopped: its phases' counts, each phase queue's jobs by state,
 * the trackers' counts and every slice not committed with its error — what a hang needs to be
 * told apart (a tracker that stopped reading, a worker that stopped taking jobs, a job that
 * failed its way back to pending).
 */
async function whereItStopped(rt: Runtime, dates: readonly string[], progress: CascadeProgress): Promise<string> {
  const lines = [`the run did not end: ${JSON.stringify(progress.perPhase)}`];
  const now = Date.now();
  for (const phase of [1, 2, 3, 4, 5] as const) {
    const queue = rt.queues.phase(phase);
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
    lines.push(`phase ${phase} queue: ${JSON.stringify(counts)}`);
    // A delayed job is due when its worker's fetch loop reads the queue's marker: when each is
    // due, and what the marker holds.
    const delayed = await queue.getJobs(['delayed']);
    if (delayed.length > 0) {
      const due = delayed.map((j) => `${j.id} due ${j.timestamp + j.delay - now} ms from now (attempts ${j.attemptsMade})`);
      lines.push(`  delayed: ${due.join('; ')}; marker: ${JSON.stringify(await rt.redis.zrange(queue.keys.marker ?? '', '0', '-1', 'WITHSCORES'))}`);
    }
  }
  lines.push(`trackers: ${JSON.stringify(rt.trackers.map((t) => t.stats()))}`);
  lines.push(`workers: ${JSON.stringify(rt.workers.map(fetchLoop))}`);
  for (const p of [...CASCADE_ROOTS, ...CASCADE_DOWNSTREAM]) {
    const statuses = await rt.statuses.getMany(p, dates);
    for (const [i, s] of statuses.entries()) if (s?.status !== 'committed') lines.push(`${p} ${dates[i]}: ${JSON.stringify(s ?? null)}`);
  }
  return lines.join('\n');
}

/** Every slice of the run committed, and the tables hold exactly the fixture's rows. */
export async function expectExactCascade(rt: Runtime, dates: readonly string[], progress: CascadeProgress): Promise<void> {
  if (!progress.done) expect.fail(await whereItStopped(rt, dates, progress));
  for (const p of [...CASCADE_ROOTS.slice(2), ...CASCADE_DOWNSTREAM]) {
    const statuses = await rt.statuses.getMany(p, dates);
    expect(
      statuses.map((s) => s?.status),
      p,
    ).to.deep.equal(dates.map(() => 'committed'));
  }
  const duck = duckdbOf(await rt.warehouse());
  if (!duck) throw new Error('expected the embedded DuckDB');
  const expected = await expectedRows(rt.registry, rt.source, CASCADE_ROOTS, dates);
  for (const check of await checkTables(duck, expected)) expect(check.ok, JSON.stringify(check)).to.equal(true);
  const [played] = await duck.query('SELECT count(*) AS n FROM nba_raw.nbac_player_boxscores WHERE seconds_played > 0');
  expect(Number(played?.n)).to.be.above(0);
  for (const table of ['nba_analytics.player_game_summary', 'nba_predictions.player_points_predictions']) {
    const [row] = await duck.query(`SELECT count(*) AS n, count(DISTINCT (game_date, player_id)) AS k FROM ${table}`);
    expect([Number(row?.n), Number(row?.k)], table).to.deep.equal([Number(played?.n), Number(played?.n)]);
  }
}
