/**
 * The README's quick start, run as a user runs it: `npm run demo` (on three nights of the season
 * instead of all 160, so CI stays quick), then its report checked against the warehouse it wrote.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { DemoReport } from '../src/cli/demo-run.ts';
import { FixtureSource } from '../src/sources/fixture/fixture-source.ts';
import { childEnv, deleteKeys, runCli, TEST_REDIS_URL } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('quick start: npm run demo', function () {
  this.timeout(180_000);
  let dir: string;
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  let env: Record<string, string>;
  let report: DemoReport;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-demo-'));
    env = { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_LOG_LEVEL: 'error', PHASEGATE_TIME_SCALE: '100' };
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        'npm',
        ['run', '--silent', 'demo', '--', '--start', '2023-11-01', '--end', '2023-11-03', '--json'],
        { cwd: ROOT, env: childEnv(env), maxBuffer: 64 << 20 },
        (err, out, stderr) => (err ? reject(new Error(`npm run demo failed: ${stderr}`)) : resolve(out)),
      ),
    );
    report = JSON.parse(stdout) as DemoReport;
  });
  after(async () => {
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  it('commits every processor of all five phases for every date, with nothing failed', async () => {
    const dates = await new FixtureSource({}).gameDates('2023-11-01', '2023-11-03');
    expect(report.dates).to.equal(dates.length);
    expect(report.failed).to.equal(0);
    expect(Object.keys(report.datesCommitted)).to.have.length(9);
    for (const [processor, n] of Object.entries(report.datesCommitted)) expect(n, processor).to.equal(dates.length);
  });

  it('reports the rows, dates and games the warehouse holds', async () => {
    const source = new FixtureSource({});
    let games = 0;
    for (const d of await source.gameDates('2023-11-01', '2023-11-03')) games += (await source.games(d)).length;
    const raw = report.tables.find((t) => t.table === 'nba_raw.nbac_team_boxscore');
    expect(raw?.games).to.equal(games);
    for (const t of report.tables) {
      const sql = await runCli(['sql', `SELECT count(*) AS n, count(DISTINCT game_date) AS dates FROM ${t.table}`, '--json'], env);
      expect(sql.code, sql.stderr).to.equal(0);
      expect(JSON.parse(sql.stdout), t.table).to.deep.equal([{ n: t.rows, dates: t.dates }]);
      expect(t.peakRunningDml, t.table).to.be.at.most(2);
    }
    expect(report.samplePredictions.length).to.be.above(0);
  });

  it('counts the DML statements of each table as `status` does (the dashboard reads the same counter)', async () => {
    const status = await runCli(['status', '--json'], env);
    expect(status.code, status.stderr).to.equal(0);
    const gates = (JSON.parse(status.stdout) as { tables: { table: string; dmlToday: number }[] }).tables;
    for (const t of report.tables) {
      expect(t.tableOperations, t.table).to.be.above(0);
      expect(t.tableOperations, t.table).to.equal(gates.find((g) => g.table === t.table)?.dmlToday);
    }
    expect(report.failedDatesFiles).to.deep.equal([]);
  });
});

describe('quick start: npm run demo, a game NBA.com does not have', function () {
  this.timeout(240_000);
  const DATE = '2023-11-01';
  // Two runs, each on its own prefix and data folder: one for the JSON report, one as a person reads it.
  const runs = [0, 1].map(() => ({ prefix: `test-${randomUUID().slice(0, 8)}`, dir: '' }));
  let env: Record<string, string>;
  let report: DemoReport;
  let stdout: string;

  before(async () => {
    const missing = (await new FixtureSource({}).games(DATE))[0]?.gameId ?? '';
    const run = async (i: number, json: boolean) => {
      const r = runs[i] as (typeof runs)[number];
      r.dir = await mkdtemp(path.join(tmpdir(), 'phasegate-demo-'));
      const own = {
        REDIS_URL: TEST_REDIS_URL,
        PHASEGATE_PREFIX: r.prefix,
        PHASEGATE_DATA_DIR: r.dir,
        PHASEGATE_LOG_LEVEL: 'error',
        PHASEGATE_TIME_SCALE: '100',
        PHASEGATE_FIXTURE_MISSING_GAMES: missing,
      };
      if (json) env = own;
      return new Promise<string>((resolve, reject) =>
        execFile(
          'npm',
          ['run', '--silent', 'demo', '--', '--start', DATE, '--end', DATE, ...(json ? ['--json'] : [])],
          { cwd: ROOT, env: childEnv(own), maxBuffer: 64 << 20 },
          // An incomplete slice makes the demo exit 1: its report is still the output.
          (err, out, stderr) => (err && !out ? reject(new Error(`npm run demo failed: ${stderr}`)) : resolve(out)),
        ),
      );
    };
    const [json, text] = await Promise.all([run(0, true), run(1, false)]);
    report = JSON.parse(json) as DemoReport;
    stdout = text;
  });
  after(async () => {
    for (const r of runs) {
      await deleteKeys(TEST_REDIS_URL, `${r.prefix}:*`);
      if (r.dir) await rm(r.dir, { recursive: true, force: true });
    }
  });

  it("includes the fallback's processors and its table in the summary", () => {
    for (const p of ['bdl_player_boxscore_scraper', 'bdl_player_boxscore', 'player_crosswalk']) expect(report.datesCommitted[p], p).to.equal(1);
    const bdl = report.tables.find((t) => t.table === 'nba_raw.bdl_player_boxscores');
    expect(bdl?.rows).to.be.above(0);
    expect(bdl?.tableOperations).to.be.above(0);
    expect(report.datesIncomplete.nbac_player_boxscore).to.equal(1);
    expect(report.failed).to.equal(0);
  });

  it('writes a failed-dates file for what NBA.com left incomplete, and prints its path', async () => {
    expect(report.failedDatesFiles).to.have.length(1);
    const file = report.failedDatesFiles[0] as string;
    await access(file);
    expect(file.startsWith(env.PHASEGATE_DATA_DIR ?? '-')).to.equal(true);
    expect(stdout).to.include('nba_raw.bdl_player_boxscores');
    expect(stdout).to.match(/failed-dates file \(slices that failed or are incomplete\):\s+\S+failed_dates_bf-/);
    expect(stdout.replace(/\n +/g, ' ')).to.include('phasegate backfill --retry-failed ');
    expect(stdout).to.include('(warnings: rows kept with a data-quality note');
  });
});

describe('quick start: npm run demo twice on a night only the fallback has', function () {
  this.timeout(240_000);
  // 2025-04-15, a Play-In night: NBA.com's fixture has neither game, balldontlie has both.
  const NIGHT = '2025-04-15';
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  let dir = '';
  after(async () => {
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the second run ends like the first: the fallback that landed last time is read, not waited for', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-demo-'));
    const own = { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_LOG_LEVEL: 'error', PHASEGATE_TIME_SCALE: '100' };
    const demo = () =>
      new Promise<DemoReport>((resolve, reject) =>
        execFile(
          'npm',
          ['run', '--silent', 'demo', '--', '--start', NIGHT, '--end', NIGHT, '--json'],
          { cwd: ROOT, env: childEnv(own), maxBuffer: 64 << 20, timeout: 90_000 },
          (err, out, stderr) =>
            err && !out ? reject(new Error(`npm run demo failed or hung: ${stderr.slice(-500)}`)) : resolve(JSON.parse(out) as DemoReport),
        ),
      );
    // Before: the second run's phase-3 slice waited for ever — NBA.com's input landed nothing,
    // and the fallback it reads instead had landed in the first run, so no commit of this run
    // ever queued it.
    for (const run of [await demo(), await demo()]) {
      expect(run.failed).to.equal(0);
      for (const p of ['player_game_summary', 'player_rolling_features', 'player_points_predictions']) expect(run.datesCommitted[p], p).to.equal(1);
    }
  });
});
