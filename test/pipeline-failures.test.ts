/** Bad input fails its own job at once, naming the file; nothing else is lost or stopped. */
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { DefinitionError } from '../src/errors/definition-error.ts';
import { projection } from '../src/processors/analytics/rows.ts';
import { Registry } from '../src/processors/registry.ts';
import type { TableSpec, TransformDef } from '../src/processors/types.ts';
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

describe('pipeline: a processor whose definition is wrong', function () {
  this.timeout(60_000);
  const table: TableSpec = {
    dataset: 'nba_analytics',
    table: 'definition_probe',
    columns: [
      { name: 'game_date', type: 'DATE' },
      { name: 'n', type: 'INT64' },
    ],
    primaryKey: ['game_date'],
    sliceColumn: 'game_date',
  };
  // Reads a column its input table does not have: the same code fails the same way every try.
  const probe: TransformDef = {
    kind: 'transform',
    name: 'definition_probe',
    phase: 3,
    description: 'projects a column that does not exist',
    table,
    dependsOn: [],
    run: async () => {
      projection(table, ['no_such_column']);
      return [];
    },
  };
  let env: TestEnv;
  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200' }, { registry: new Registry([probe]) });
  });
  after(async () => env.cleanup());

  it('is refused when the registry is built (DefinitionError, not a plain Error)', () => {
    expect(() => new Registry([probe, probe])).to.throw(DefinitionError, 'registry: processor definition_probe is declared twice');
  });

  it('fails its job at once with the reason (1 attempt, not 5), and nothing is staged', async () => {
    const rt = env.rt;
    await rt.startWorkers({ phases: [3], commit: true, concurrency: 1 });
    const record = await startBackfill(rt, { processors: [probe], dates: ['2023-11-01'] });
    const { progress } = await waitForBackfill(rt, record, { bars: false, pollMs: 50, timeoutMs: 30_000 });
    expect(progress.perProcessor.definition_probe).to.include({ failed: 1 });
    const status = await rt.statuses.get('definition_probe', '2023-11-01');
    expect(status?.attempts).to.equal(1);
    expect(status?.error).to.include('projection of nba_analytics.definition_probe: no column no_such_column');
    const job = await rt.queues.phase(3).getJob(phaseJobId('definition_probe', '2023-11-01'));
    expect(job?.attemptsMade).to.equal(1);
    expect(await rt.gate.pendingCount('nba_analytics.definition_probe')).to.equal(0);
  });
});
