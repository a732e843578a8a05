/**
 * The README's quick start, run as a user runs it: `npm run demo` (on three nights of the season
 * instead of all 160, so CI stays quick), then its report checked against the warehouse it wrote.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
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
});
