/**
 * A user's shell cannot redirect the tests or the benchmarks: with PHASEGATE_DUCKDB_PATH,
 * PHASEGATE_STORE_DIR, PHASEGATE_DATA_DIR and PHASEGATE_PREFIX exported, a CLI test and a tiny
 * bench still write only to the folders and prefixes they own.
 */
import { randomUUID } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DEFAULT_BENCH_OPTIONS } from '../scripts/bench/options.ts';
import { runBench } from '../scripts/bench/run-bench.ts';
import { FixtureSource } from '../src/sources/fixture/fixture-source.ts';
import { deleteKeys, runCli, TEST_REDIS_URL } from './helpers.ts';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('hermetic tests and benchmarks', function () {
  this.timeout(120_000);
  let elsewhere: string;
  let own: string;
  const exported: Record<string, string> = {};
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const userPrefix = `user-${randomUUID().slice(0, 8)}`;

  before(async () => {
    elsewhere = await mkdtemp(path.join(tmpdir(), 'phasegate-user-shell-'));
    own = await mkdtemp(path.join(tmpdir(), 'phasegate-own-'));
    Object.assign(exported, {
      PHASEGATE_DUCKDB_PATH: path.join(elsewhere, 'shared.duckdb'),
      PHASEGATE_STORE_DIR: path.join(elsewhere, 'store'),
      PHASEGATE_DATA_DIR: path.join(elsewhere, 'data'),
      PHASEGATE_PREFIX: userPrefix,
    });
    Object.assign(process.env, exported);
  });
  after(async () => {
    for (const key of Object.keys(exported)) delete process.env[key];
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
    await deleteKeys(TEST_REDIS_URL, `${userPrefix}:*`);
    await rm(elsewhere, { recursive: true, force: true });
    await rm(own, { recursive: true, force: true });
  });

  it('a CLI test with PHASEGATE_* exported writes to its own folder only', async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: own, PHASEGATE_LOG_LEVEL: 'error', PHASEGATE_TIME_SCALE: '200' };
    const r = await runCli(
      ['backfill', '--processors', 'nbac_team_boxscore_scraper,nbac_team_boxscore', '--start', '2023-12-01', '--end', '2023-12-01', '--workers', '1'],
      env,
    );
    expect(r.code, r.stderr).to.equal(0);
    const sql = await runCli(['sql', 'SELECT count(*) AS n FROM nba_raw.nbac_team_boxscore', '--json'], env);
    const games = await new FixtureSource({}).games('2023-12-01');
    expect(games.length).to.be.above(0);
    expect(JSON.parse(sql.stdout)).to.deep.equal([{ n: 2 * games.length }]);
    expect(await exists(path.join(own, 'warehouse.duckdb'))).to.equal(true);
    expect(await exists(exported.PHASEGATE_DUCKDB_PATH as string)).to.equal(false);
    expect(await exists(exported.PHASEGATE_STORE_DIR as string)).to.equal(false);
    expect(await exists(exported.PHASEGATE_DATA_DIR as string)).to.equal(false);
  });

  it('a tiny bench with PHASEGATE_* exported keeps its modes apart and counts no duplicates', async () => {
    const { reports } = await runBench({
      ...DEFAULT_BENCH_OPTIONS,
      modes: ['naive', 'phasegate'],
      dates: 4,
      start: '2023-10-24',
      workers: 2,
      liveDates: 0,
      timeScale: 300,
      timeoutSeconds: 60,
      workDir: path.join(own, 'bench'),
      redisUrl: TEST_REDIS_URL,
      verbose: false,
    });
    // Two modes in one DuckDB file would count each other's rows as duplicates.
    for (const r of reports) expect(r.duplicateRows, r.mode).to.equal(0);
    const pg = reports.find((r) => r.mode === 'phasegate');
    expect(pg?.rows.inTable).to.equal(pg?.rows.expected);
    expect(await exists(exported.PHASEGATE_DUCKDB_PATH as string)).to.equal(false);
  });
});
