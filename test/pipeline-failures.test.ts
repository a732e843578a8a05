/** Bad input fails its own job at once, naming the file; nothing else is lost or stopped. */
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { phaseJobId } from '../src/queues/names.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

describe('pipeline: a malformed scraped file', function () {
  this.timeout(120_000);
  let env: TestEnv;

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200' });
  });
  after(async () => env.cleanup());

  it('fails that date at once with the file and reason, and commits the other dates', async () => {
    const rt = env.rt;
    const dates = await rt.source.gameDates('2023-11-01', '2023-11-03');
    const scraper = rt.registry.get('nbac_player_boxscore_scraper');
    // Scrape first (phase 1 only), then corrupt one file of the middle date.
    const scrape = await startBackfill(rt, { processors: [scraper], dates });
    await rt.startWorkers({ phases: [1], commit: false, concurrency: 2 });
    await waitForBackfill(rt, scrape, { bars: false, pollMs: 50, timeoutMs: 60_000 });
    const bad = `nba-com/player-boxscores/${dates[1]}/0000000000.json`;
    await rt.store.put(bad, '{"resource": "boxscore", "resultSets": [');

    await rt.startWorkers({ phases: [2], commit: true, concurrency: 2 });
    const record = await startBackfill(rt, { processors: [rt.registry.get('nbac_player_boxscore')], dates });
    const { progress, failedFile } = await waitForBackfill(rt, record, { bars: false, pollMs: 50, timeoutMs: 60_000 });

    expect(progress.perProcessor.nbac_player_boxscore).to.include({ committed: 2, failed: 1 });
    const failed = await rt.statuses.get('nbac_player_boxscore', dates[1] as string);
    expect(failed?.status).to.equal('failed');
    expect(failed?.error).to.include(bad);
    expect(failed?.attempts).to.equal(1);
    const job = await rt.queues.phase(2).getJob(phaseJobId('nbac_player_boxscore', dates[1] as string));
    expect(job?.attemptsMade).to.equal(1);
    expect(job?.failedReason).to.include(bad);
    expect(failedFile).to.be.a('string');

    const w = await rt.warehouse();
    const rows = await w.query('SELECT DISTINCT CAST(game_date AS VARCHAR) AS d FROM nba_raw.nbac_player_boxscores ORDER BY 1');
    expect(rows.map((r) => r.d)).to.deep.equal([dates[0], dates[2]]);
  });

  it('--retry-failed re-runs a failed transform date even when its requested upstream did not fail', async () => {
    const rt = env.rt;
    const dates = await rt.source.gameDates('2023-11-01', '2023-11-03');
    const middle = dates[1] as string;
    await rt.store.delete(`nba-com/player-boxscores/${middle}/0000000000.json`);
    // The failed-dates file names only the transform's date; the scraper is requested too.
    const processors = [rt.registry.get('nbac_player_boxscore_scraper'), rt.registry.get('nbac_player_boxscore')];
    const record = await startBackfill(rt, { processors, dates: [middle], only: { nbac_player_boxscore: [middle] } });
    expect(record.added).to.equal(1);
    const { progress } = await waitForBackfill(rt, { ...record, processors: ['nbac_player_boxscore'] }, { bars: false, pollMs: 50, timeoutMs: 60_000 });
    expect(progress.perProcessor.nbac_player_boxscore).to.include({ committed: 1, failed: 0 });
    const w = await rt.warehouse();
    const rows = await w.query('SELECT count(DISTINCT game_date) AS d FROM nba_raw.nbac_player_boxscores');
    expect(rows[0]?.d).to.equal(3);
  });
});
