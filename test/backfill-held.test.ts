/**
 * `backfill --workers N` while another process holds the embedded DuckDB file: a worker with
 * the table gates in this test process holds it, and the backfill (a child process, same data
 * dir and prefix) enqueues, runs the phase work itself (phases 3–5 reading through the holder's
 * read relay) and lets the holder commit — one line naming the holder, never DuckDB's lock
 * error. A holder that serves no reads leaves nothing to commit: one line, exit 1.
 */
import path from 'node:path';
import { expect } from 'chai';
import { cascadeProcessors } from '../src/queues/backfill/cascade.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { openTestRuntime, runCli, TEST_REDIS_URL, type TestEnv } from './helpers.ts';

const DATES = ['2023-11-01', '2023-11-02'];
const SCRAPERS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper'];

describe('backfill --workers while another process holds the DuckDB file', function () {
  this.timeout(240_000);
  let env: TestEnv;

  const childEnv = (more: Record<string, string> = {}) => ({
    REDIS_URL: TEST_REDIS_URL,
    PHASEGATE_PREFIX: env.config.prefix,
    PHASEGATE_DATA_DIR: env.dir,
    PHASEGATE_TIME_SCALE: '200',
    PHASEGATE_LOG_LEVEL: 'error',
    ...more,
  });

  before(async () => {
    env = await openTestRuntime();
  });
  after(() => env?.cleanup());

  it('a worker holding it commits: the backfill runs the phase work, names the holder, exits 0', async () => {
    // The holder: table gates (and with them the read relay) in this process, no phase workers.
    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 2 });
    const r = await runCli(
      ['backfill', '--processors', SCRAPERS.join(','), '--start', DATES[0] as string, '--end', DATES[1] as string, '--cascade', '--workers', '2'],
      childEnv(),
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include(`PID ${process.pid} holds the DuckDB file ${env.config.duckdbPath} and commits there`);
    expect(r.stderr).to.not.match(/IO Error|Could not set lock/);

    // Every slice of every phase the cascade reaches is committed, and in the holder's file.
    const reached = cascadeProcessors(env.rt, { processors: SCRAPERS, cascade: true });
    expect(reached.map((p) => p.phase)).to.include.members([1, 2, 3, 4, 5]);
    for (const def of reached) {
      const statuses = await env.rt.statuses.getMany(def.name, DATES);
      expect(
        statuses.map((s) => s?.status),
        def.name,
      ).to.deep.equal(['committed', 'committed']);
    }
    const warehouse = await env.rt.warehouse();
    for (const table of ['nba_raw.nbac_player_boxscores', 'nba_raw.nbac_team_boxscore', 'nba_predictions.player_points_predictions']) {
      const rows = await warehouse.query(`SELECT DISTINCT CAST(game_date AS VARCHAR) AS d FROM ${table} ORDER BY 1`);
      expect(
        rows.map((row) => row.d),
        table,
      ).to.deep.equal(DATES);
    }
  });

  it('a holder that serves no reads: one line naming it, exit 1, no DuckDB error text', async () => {
    // This process holds another file read-write and serves no reads of it.
    const other = path.join(env.dir, 'held.duckdb');
    const holder = await DuckDBWarehouse.open({ path: other, store: new LocalObjectStore(env.dir) });
    try {
      const r = await runCli(
        ['backfill', '--processors', 'nbac_player_boxscore_scraper', '--start', '2023-11-03', '--end', '2023-11-03', '--workers', '1'],
        childEnv({ PHASEGATE_DUCKDB_PATH: other }),
      );
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/^backfill \S+: 1 job enqueued/);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.include(`PID ${process.pid} holds the DuckDB file ${other} and serves no reads`);
      expect(r.stderr).to.not.match(/IO Error|Could not set lock/);

      // Any other command that meets the held file says it in the same words, not DuckDB's.
      const worker = await runCli(['worker', '--phases', 'commit'], childEnv({ PHASEGATE_DUCKDB_PATH: other }));
      expect(worker.code).to.equal(1);
      expect(worker.stderr.trimEnd()).to.equal(
        `phasegate: the DuckDB file ${other} is held by another process (PID ${process.pid}, ${process.execPath}): with the embedded warehouse one process commits ` +
          '(`phasegate worker --phases commit`, or one with `all`); run phase work beside it (`phasegate worker --phases 1,2,3,4,5`, `backfill --workers N`), or stop that process',
      );
    } finally {
      await holder.close();
    }
  });
});
