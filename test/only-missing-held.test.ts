/**
 * Issue 22, point 3: `backfill --only-missing` — the README's way to resume a stopped
 * backfill — while a commit worker holds the embedded DuckDB file. It reads what the tables
 * hold through the holder's read relay instead of dying on DuckDB's lock, and queues only the
 * dates the tables lack. (On the old code it opened the file itself: exit 1 with the lock error.)
 */
import { expect } from 'chai';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { PHASES } from '../src/queues/names.ts';
import { openTestRuntime, runCli, TEST_REDIS_URL, type TestEnv } from './helpers.ts';

const LANDED = ['2023-11-01', '2023-11-02'];
const MISSING = ['2023-11-03', '2023-11-04'];
const ROOTS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
const RAW = ['nba_raw.nbac_player_boxscores', 'nba_raw.nbac_team_boxscore'];

describe('backfill --only-missing while a worker holds the DuckDB file (issue 22, point 3)', function () {
  this.timeout(240_000);
  let env: TestEnv;

  before(async () => {
    env = await openTestRuntime();
  });
  after(() => env?.cleanup());

  it('reads the tables through the holder, queues only the missing dates, exit 0', async () => {
    const { rt, config, dir } = env;
    // The holder: every phase and the table gates in this process.
    await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 4, tracker: false });
    const first = await startCascadingBackfill(rt, { processors: ROOTS.map((p) => rt.registry.get(p)), dates: LANDED });
    expect((await waitForCascade(rt, first, { pollMs: 100, timeoutMs: 120_000 })).done).to.equal(true);
    const warehouse = await rt.warehouse();

    const r = await runCli(
      ['backfill', '--processors', ROOTS.join(','), '--start', LANDED[0] as string, '--end', MISSING[1] as string, '--only-missing', '--wait'],
      { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: config.prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_TIME_SCALE: '200', PHASEGATE_LOG_LEVEL: 'error' },
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.not.match(/IO Error|Could not set lock|holds the DuckDB file/);
    // The scrapers' jobs are queued; the raw processors run when their files land.
    expect(r.stdout).to.match(new RegExp(`^backfill \\S+: ${2 * MISSING.length} jobs enqueued`));

    // The run covered the missing dates only; every table now holds all four, once each.
    const ids = (await rt.redis.zrange(rt.keys.backfills(), '0', '-1')).filter((id) => id !== first.id);
    expect(ids).to.have.length(1);
    const record = JSON.parse((await rt.redis.hget(rt.keys.backfill(ids[0] as string), 'definition')) ?? '{}') as { dates?: string[] };
    expect(record.dates).to.deep.equal(MISSING);
    for (const table of RAW) {
      const rows = await warehouse.query(`SELECT DISTINCT CAST(game_date AS VARCHAR) AS d FROM ${table} ORDER BY 1`);
      expect(
        rows.map((row) => row.d),
        table,
      ).to.deep.equal([...LANDED, ...MISSING]);
    }
  });
});
