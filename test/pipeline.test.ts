/**
 * End to end through real queues, a real Redis and a real DuckDB behind the BigQuery rules:
 * scrape → stage → group commit for three weeks of the real 2023-24 season.
 */
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { PHASES } from '../src/queues/names.ts';
import type { FixtureSource } from '../src/sources/fixture/fixture-source.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

const START = '2023-11-01';
const END = '2023-11-21';
const PROCESSORS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];

interface V2 {
  resultSets: { name: string; rowSet: unknown[] }[];
}

async function expectedCounts(source: FixtureSource, dates: string[]) {
  let players = 0;
  let teams = 0;
  let games = 0;
  for (const date of dates) {
    for (const game of await source.games(date)) {
      const doc = (await source.playerBoxscore(game)) as V2;
      players += doc.resultSets.find((r) => r.name === 'PlayerStats')?.rowSet.length ?? 0;
      teams += doc.resultSets.find((r) => r.name === 'TeamStats')?.rowSet.length ?? 0;
      games += 1;
    }
  }
  return { players, teams, games };
}

async function runBackfill(env: TestEnv, dates: string[]) {
  const record = await startBackfill(env.rt, { processors: PROCESSORS.map((p) => env.rt.registry.get(p)), dates });
  const outcome = await waitForBackfill(env.rt, record, { bars: false, pollMs: 100, timeoutMs: 120_000 });
  return { record, outcome };
}

async function tableCounts(env: TestEnv) {
  const w = await env.rt.warehouse();
  const [p] = await w.query(
    'SELECT count(*) AS n, count(DISTINCT (game_id, player_id)) AS k, count(DISTINCT game_id) AS g, count(DISTINCT game_date) AS d FROM nba_raw.nbac_player_boxscores',
  );
  const [t] = await w.query('SELECT count(*) AS n, count(DISTINCT (game_id, team_id)) AS k FROM nba_raw.nbac_team_boxscore');
  return { players: Number(p?.n), playerKeys: Number(p?.k), games: Number(p?.g), dates: Number(p?.d), teams: Number(t?.n), teamKeys: Number(t?.k) };
}

describe('pipeline: backfill through real queues into DuckDB with BigQuery rules', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let dates: string[];
  let expected: { players: number; teams: number; games: number };

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_GATHER_SECONDS: '30' });
    dates = await env.rt.source.gameDates(START, END);
    expected = await expectedCounts(env.rt.source as FixtureSource, dates);
    await env.rt.startWorkers({ phases: PHASES, commit: true, concurrency: 4 });
  });
  after(async () => env.cleanup());

  it('commits every date with exact row counts, no duplicates, within the table caps', async () => {
    const { outcome } = await runBackfill(env, dates);
    for (const p of PROCESSORS) expect(outcome.progress.perProcessor[p]?.committed, p).to.equal(dates.length);
    expect(outcome.failedFile).to.equal(undefined);

    const counts = await tableCounts(env);
    expect(counts.players).to.equal(expected.players);
    expect(counts.playerKeys).to.equal(counts.players);
    expect(counts.teams).to.equal(expected.teams);
    expect(counts.teamKeys).to.equal(counts.teams);
    expect(counts.games).to.equal(expected.games);
    expect(counts.dates).to.equal(dates.length);

    const w = await env.rt.warehouse();
    expect(w).to.be.instanceOf(BigQueryRulesWarehouse);
    const rec = (w as BigQueryRulesWarehouse).record();
    for (const table of ['nba_raw.nbac_player_boxscores', 'nba_raw.nbac_team_boxscore']) {
      const r = rec.tables[table];
      expect(r, table).to.not.equal(undefined);
      expect(r?.peakRunningDml, `${table} running DML`).to.be.at.most(2);
      expect(r?.peakQueuedDml, `${table} queued DML`).to.be.below(20);
      expect(r?.rejected.dmlOutstanding, `${table} DML rejected`).to.equal(0);
      expect(r?.rejected.rateLimited, `${table} rate-limited`).to.equal(0);
      // Group commit: many dates per statement.
      expect(r?.tableOps, `${table} table operations`).to.be.below(dates.length / 2);
    }
  });

  it('re-running the same backfill leaves identical rows (idempotent)', async () => {
    const before = await tableCounts(env);
    const w = await env.rt.warehouse();
    const [sumBefore] = await w.query('SELECT sum(pts) AS pts, sum(seconds_played) AS secs FROM nba_raw.nbac_player_boxscores');
    const { outcome } = await runBackfill(env, dates);
    for (const p of PROCESSORS) expect(outcome.progress.perProcessor[p]?.committed, p).to.equal(dates.length);
    expect(await tableCounts(env)).to.deep.equal(before);
    const [sumAfter] = await w.query('SELECT sum(pts) AS pts, sum(seconds_played) AS secs FROM nba_raw.nbac_player_boxscores');
    expect(sumAfter).to.deep.equal(sumBefore);
  });
});
