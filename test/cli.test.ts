/** The CLI as a user runs it: a child process, real Redis, exit codes and one-line errors. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { deleteKeys, runCli, TEST_REDIS_URL } from './helpers.ts';

describe('phasegate CLI', function () {
  this.timeout(60_000);
  let dir: string;
  let prefix: string;

  const run = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_LOG_LEVEL: 'error', ...env });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-cli-'));
    prefix = `test-${randomUUID().slice(0, 8)}`;
  });
  after(async () => {
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run over the 853 game dates of the incident (2021-10-19 … 2025-06-22) prints the job count and table operations, and enqueues nothing', async () => {
    const r = await run(['backfill', '--processors', 'nbac_player_boxscore', '--start', '2021-10-19', '--end', '2025-06-22', '--dry-run']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/853 jobs over 853 dates/);
    expect(r.stdout).to.match(/nba_raw\.nbac_player_boxscores: 853 slices → ~1[4-9] DML statements \(at least 14: /);
    // The same words as status and the dashboard: DML has no daily cap, modifications do.
    expect(r.stdout).to.include('DML today 0 (no daily cap) · table modifications today 0/1,500');
    const status = await run(['status', '--json']);
    const report = JSON.parse(status.stdout) as { backfills: unknown[]; queues: Record<string, { waiting: number; prioritized: number }> };
    expect(report.backfills).to.have.length(0);
    expect(report.queues.phase2?.waiting).to.equal(0);
    expect(report.queues.phase2?.prioritized).to.equal(0);
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown processor', ['backfill', '--processors', 'nope', '--start', '2024-01-01', '--end', '2024-01-02'], /unknown processor "nope"/],
    [
      'reversed dates',
      ['backfill', '--processors', 'nbac_player_boxscore', '--start', '2024-02-01', '--end', '2024-01-01'],
      /--start 2024-02-01 is after --end 2024-01-01/,
    ],
    [
      'a malformed date',
      ['backfill', '--processors', 'nbac_player_boxscore', '--start', '2024-02-30', '--end', '2024-03-01'],
      /"2024-02-30" is not a valid date/,
    ],
    ['an unreadable dates file', ['backfill', '--processors', 'nbac_player_boxscore', '--dates-file', '/nonexistent/dates.json'], /cannot read dates file/],
    [
      'two date sources',
      ['backfill', '--processors', 'nbac_player_boxscore', '--start', '2024-01-01', '--end', '2024-01-02', '--dates-file', 'x'],
      /exactly one of/,
    ],
    ['an unknown phase', ['worker', '--phases', '9'], /"9" is not a phase/],
    ['reversed fixture dates', ['fixtures', '--start', '2024-05-01', '--end', '2024-04-01'], /--start 2024-05-01 is after --end 2024-04-01/],
  ];
  for (const [what, args, message] of bad) {
    it(`exits 2 with one line for ${what}`, async () => {
      const r = await run(args);
      expect(r.code).to.equal(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^phasegate: /);
      expect(lines[0]).to.match(message);
    });
  }

  it('fixtures: the real 2023-24 regular season is 160 game dates and 1,230 games', async () => {
    const r = await run(['fixtures', '--start', '2023-10-24', '--end', '2024-04-14', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      dates: 160,
      seasons: [{ season: '2023-24', dates: 160, games: 1230, first: '2023-10-24', last: '2024-04-14' }],
    });
    const text = await run(['fixtures', '--start', '2024-04-01', '--end', '2024-06-30']);
    expect(text.code, text.stderr).to.equal(0);
    // The real 2024 Play-In and playoffs end with the Finals' last game on 2024-06-17.
    expect(text.stdout).to.match(/^\d+ game dates between 2024-04-01 and 2024-06-30\n {2}2023-24: \d+ dates, [\d,]+ games \(2024-04-01 … 2024-06-17\)\n$/);
  });

  it('exits 2 naming the variable for a bad configuration value', async () => {
    const r = await run(['status'], { PHASEGATE_TIME_SCALE: 'fast' });
    expect(r.code).to.equal(2);
    expect(r.stderr.trim()).to.match(/^phasegate: PHASEGATE_TIME_SCALE: /);
  });

  it('reads a dates file with a malformed entry as bad input naming the file', async () => {
    const file = path.join(dir, 'dates.json');
    await writeFile(file, JSON.stringify(['2024-01-01', 'yesterday']));
    const r = await run(['backfill', '--processors', 'nbac_player_boxscore', '--dates-file', file]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(file);
    expect(r.stderr).to.include('"yesterday"');
  });

  it('backfill --workers runs to the end, prints the summary, and sql sees every team-game', async () => {
    const r = await run(
      ['backfill', '--processors', 'nbac_team_boxscore_scraper,nbac_team_boxscore', '--start', '2023-12-01', '--end', '2023-12-03', '--workers', '2'],
      {
        PHASEGATE_TIME_SCALE: '200',
      },
    );
    expect(r.code, r.stderr).to.equal(0);
    // The real schedule has no games on 2023-12-03: two game dates.
    expect(r.stdout).to.match(/over 2 dates/);
    // The summary: per processor how its dates ended, per table rows and table operations, the time taken.
    expect(r.stdout).to.match(/^ {2}phase {2}processor\s+committed {2}incomplete {2}empty {2}failed$/m);
    expect(r.stdout).to.match(/^ {2}2 {6}nbac_team_boxscore\s+2\s+0\s+0\s+0$/m);
    const rows = 2 * (await gamesOn(['2023-12-01', '2023-12-02', '2023-12-03']));
    const table = new RegExp(`^ {2}nba_raw\\.nbac_team_boxscore\\s+${rows}\\s+(\\d+)\\s+0/1,500$`, 'm').exec(r.stdout);
    expect(Number(table?.[1]), r.stdout).to.be.within(1, 2);
    expect(r.stdout).to.match(/^elapsed \d+(\.\d)?s$|^elapsed \d+m\d\ds$/m);
    const sql = await run(['sql', 'SELECT count(*) AS n FROM nba_raw.nbac_team_boxscore', '--json']);
    expect(JSON.parse(sql.stdout)).to.deep.equal([{ n: rows }]);
  });
});

async function gamesOn(dates: string[]): Promise<number> {
  const { FixtureSource } = await import('../src/sources/fixture/fixture-source.ts');
  const source = new FixtureSource({});
  let n = 0;
  for (const d of dates) n += (await source.games(d)).length;
  return n;
}
