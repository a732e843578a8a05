/**
 * The real 2023-24 season through the pipeline: every player line lands, every team's players
 * sum to its real totals, and phases 3–4 compute from the real lines what a person computes by
 * hand from the CSV.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { PHASES } from '../src/queues/names.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

const SEASON = { start: '2023-10-24', end: '2024-04-14' };
const RAW = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
const COUNTS = ['pts', 'fgm', 'fga', 'fg3m', 'fg3a', 'ftm', 'fta', 'oreb', 'dreb', 'reb', 'ast', 'stl', 'blk', 'tov', 'pf'] as const;

/** The real team rows (leaguegamefinder), by `game_id:team_id`. */
function realTeamTotals(): Map<string, Record<string, number>> {
  const doc = JSON.parse(readFileSync(new URL('../fixtures/nba/leaguegamefinder_team_2023-24_regular_season.json', import.meta.url), 'utf8')) as {
    resultSets: { headers: string[]; rowSet: (string | number)[][] }[];
  };
  const set = doc.resultSets[0];
  if (!set) throw new Error('no result set');
  const at = (h: string) => set.headers.indexOf(h);
  return new Map(
    set.rowSet.map((r) => [`${r[at('GAME_ID')]}:${r[at('TEAM_ID')]}`, Object.fromEntries(COUNTS.map((c) => [c, Number(r[at(c.toUpperCase())])]))]),
  );
}

describe('the real 2023-24 season through the pipeline', function () {
  this.timeout(240_000);
  let env: TestEnv;

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_GATHER_SECONDS: '30' });
    await env.rt.startWorkers({ phases: PHASES, commit: true, concurrency: 4 });
    const dates = await env.rt.source.gameDates(SEASON.start, SEASON.end);
    expect(dates).to.have.length(160);
    const record = await startBackfill(env.rt, { processors: RAW.map((p) => env.rt.registry.get(p)), dates });
    const outcome = await waitForBackfill(env.rt, record, { bars: false, pollMs: 100, timeoutMs: 180_000 });
    for (const p of RAW) expect(outcome.progress.perProcessor[p]?.committed, p).to.equal(160);
  });
  after(async () => env.cleanup());

  it("lands every real player line, and every team's players sum to its real totals on all 15 counting stats", async () => {
    const w = await env.rt.warehouse();
    const [top] = await w.query("SELECT player_name, pts FROM nba_raw.nbac_player_boxscores WHERE game_id = '0022300061' ORDER BY pts DESC LIMIT 1");
    expect(top).to.deep.equal({ player_name: 'Nikola Jokić', pts: 29 });
    const [count] = await w.query('SELECT count(*) AS n, count(seconds_played) AS played FROM nba_raw.nbac_player_boxscores');
    expect([Number(count?.n), Number(count?.played)]).to.deep.equal([32_385, 26_401]);
    const sums = await w.query(
      `SELECT game_id, team_id, ${COUNTS.map((c) => `sum(${c}) AS ${c}`).join(', ')} FROM nba_raw.nbac_player_boxscores GROUP BY game_id, team_id`,
    );
    const real = realTeamTotals();
    expect(sums).to.have.length(2_460);
    for (const s of sums) {
      const key = `${s.game_id}:${s.team_id}`;
      expect(Object.fromEntries(COUNTS.map((c) => [c, Number(s[c])])), key).to.deep.equal(real.get(key));
    }
  });

  it("computes Nikola Jokić's summaries and rolling features from his real lines (values worked out by hand from the CSV)", async () => {
    // His first eight games: 10-24 29 pts in 36:15, 10-27 22 in 34:58, 10-29 28 in 29:52,
    // 10-30 27 in 35:14, 11-01 25 in 29:58, 11-03 33 in 35:35, 11-04 28 in 33:21.
    const dates = await env.rt.source.gameDates('2023-10-24', '2023-11-04');
    const record = await startCascadingBackfill(env.rt, { processors: [env.rt.registry.get('player_game_summary')], dates, cascade: true });
    const progress = await waitForCascade(env.rt, record, { pollMs: 100, timeoutMs: 120_000 });
    expect(progress.perProcessor.player_rolling_features?.committed).to.equal(dates.length);
    const w = await env.rt.warehouse();
    const summaries = await w.query(
      'SELECT game_date, pts, seconds_played, minutes, ts_pct, efg_pct, team_pts, opponent_pts, team_won FROM nba_analytics.player_game_summary WHERE player_id = 203999 ORDER BY game_date',
    );
    expect(summaries.map((r) => [String(r.game_date).slice(0, 10), Number(r.pts), Number(r.seconds_played)])).to.deep.equal([
      ['2023-10-24', 29, 2175],
      ['2023-10-27', 22, 2098],
      ['2023-10-29', 28, 1792],
      ['2023-10-30', 27, 2114],
      ['2023-11-01', 25, 1798],
      ['2023-11-03', 33, 2135],
      ['2023-11-04', 28, 2001],
    ]);
    // 10-24: 12/22 FG, 3/5 3P, 2/4 FT; DEN 119, LAL 107. TS = 29 / (2 (22 + 0.44·4)) = 0.6103; eFG = (12 + 1.5) / 22 = 0.6136.
    expect(summaries[0]).to.deep.include({ minutes: 36.25, ts_pct: 0.6103, efg_pct: 0.6136, team_pts: 119, opponent_pts: 107, team_won: true });

    const features = await w.query(
      'SELECT game_date, games_played_season, pts_avg_last5, pts_avg_last10, pts_avg_season, minutes_avg_last5, previous_game_date, days_rest, back_to_back FROM nba_precompute.player_rolling_features WHERE player_id = 203999 ORDER BY game_date',
    );
    const byDate = new Map(features.map((r) => [String(r.game_date).slice(0, 10), r]));
    expect(byDate.get('2023-10-24')).to.deep.include({ games_played_season: 0, pts_avg_last5: null, days_rest: null, back_to_back: false });
    // 10-30, the second night of a back-to-back: (29 + 22 + 28) / 3 = 26.3333.
    expect(byDate.get('2023-10-30')).to.deep.include({ games_played_season: 3, pts_avg_last5: 26.3333, days_rest: 0, back_to_back: true });
    // 11-03: five games behind him, (29 + 22 + 28 + 27 + 25) / 5 = 26.2 points;
    // (2175 + 2098 + 1792 + 2114 + 1798) s / 60 / 5 = 33.2567 minutes; 11-02 off.
    const nov3 = byDate.get('2023-11-03');
    expect(nov3).to.deep.include({
      games_played_season: 5,
      pts_avg_last5: 26.2,
      pts_avg_last10: 26.2,
      minutes_avg_last5: 33.2567,
      days_rest: 1,
      back_to_back: false,
    });
    expect(String(nov3?.previous_game_date).slice(0, 10)).to.equal('2023-11-01');
    // 11-04: last five (22 + 28 + 27 + 25 + 33) / 5 = 27; all six 164 / 6 = 27.3333.
    expect(byDate.get('2023-11-04')).to.deep.include({
      games_played_season: 6,
      pts_avg_last5: 27,
      pts_avg_last10: 27.3333,
      pts_avg_season: 27.3333,
      back_to_back: true,
    });
  });
});
