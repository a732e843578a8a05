/**
 * A run is a graph of slices (date × processor) across five phases, and every slice it reaches
 * ends: a failed upstream rules its downstream out at once, whichever input failed; a run the
 * primary source never ran for ends once its fallback landed; a cancelled run ends.
 */
import { expect } from 'chai';
import { writeFailedDates } from '../src/cli/progress.ts';
import { runAudit } from '../src/coverage/audit.ts';
import { backfillProgress, getBackfill, startBackfill } from '../src/queues/backfill/backfill.ts';
import { startCascadingBackfill } from '../src/queues/backfill/cascade.ts';
import { readFailedFile } from '../src/queues/backfill/dates.ts';
import { PHASES } from '../src/queues/names.ts';
import { describeNow, type SliceStatus } from '../src/queues/status-store.ts';
import type { Runtime } from '../src/runtime.ts';
import { openTestRuntime, runCli, TEST_REDIS_URL, type TestEnv, until } from './helpers.ts';

const RAW = ['nbac_player_boxscore', 'nbac_team_boxscore'];
const SCRAPERS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper'];
const DOWNSTREAM = ['player_game_summary', 'team_offense_game_summary', 'team_defense_game_summary', 'player_rolling_features', 'player_points_predictions'];

/** Scrapes the dates' raw files (phase 1 only) and returns the object keys of one processor's files on a date. */
async function scrape(rt: Runtime, dates: string[]): Promise<void> {
  const record = await startBackfill(rt, { processors: SCRAPERS.map((p) => rt.registry.get(p)), dates });
  await until(async () => (await backfillProgress(rt, record)).done, 'the scrape', 30_000);
}

async function statusesOf(rt: Runtime, processors: readonly string[], slice: string) {
  return Object.fromEntries(await Promise.all(processors.map(async (p) => [p, await rt.statuses.get(p, slice)] as const)));
}

describe('run graph: a failed upstream ends its whole downstream', function () {
  this.timeout(90_000);
  let env: TestEnv;
  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200', PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS: '100000' });
  });
  after(async () => env.cleanup());

  it('one unreadable team file: the team raw slice fails, and every processor that needs it — player_game_summary too, which also needs the player table — is upstream_failed naming it; the run ends', async () => {
    const { rt } = env;
    const date = '2022-11-14';
    await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    await scrape(rt, [date]);
    const files = await rt.store.list(`nba-com/team-boxscore/${date}/`);
    expect(files.length).to.be.greaterThan(0);
    await rt.store.put(files[0] as string, '{"resource": "boxscore", "resultSets": [');

    const record = await startCascadingBackfill(rt, { processors: RAW.map((p) => rt.registry.get(p)), dates: [date], cascade: true });
    // Before: player_game_summary and phases 4–5 stayed pending for ever (killed at 100 s).
    const progress = await until(
      async () => {
        const p = await backfillProgress(rt, record);
        return p.done && p;
      },
      'every slice of the run to be terminal',
      20_000,
    );
    const s = await statusesOf(rt, [...RAW, ...DOWNSTREAM], date);
    expect(s.nbac_player_boxscore?.status).to.equal('committed');
    expect(s.nbac_team_boxscore?.status).to.equal('failed');
    for (const p of DOWNSTREAM) {
      expect(s[p]?.status, p).to.equal('upstream_failed');
      expect(s[p]?.error, p).to.match(/^upstream (nbac_team_boxscore|player_game_summary|team_offense_game_summary|player_rolling_features) 2022-11-14 /);
    }
    expect(s.player_game_summary?.upstream).to.deep.equal({ processor: 'nbac_team_boxscore', slice: date });
    expect(s.player_game_summary?.error).to.include(files[0]);
    expect(s.player_rolling_features?.upstream).to.deep.equal({ processor: 'player_game_summary', slice: date });
    expect(progress.perProcessor.player_points_predictions).to.include({ upstream_failed: 1, pending: 0 });

    // The failed-dates file records the cascade and every slice to re-run, not only the root.
    const file = await readFailedFile((await writeFailedDates(rt, record, progress)) as string);
    expect(file.cascade).to.equal(true);
    expect(Object.keys(file.processors).sort()).to.deep.equal(['nbac_team_boxscore', ...DOWNSTREAM].sort());
  });
});

describe('run graph: an audit of dates the primary source never ran', function () {
  this.timeout(90_000);
  let env: TestEnv;
  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200', PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS: '100000' });
  });
  after(async () => env.cleanup());

  it('ends once the fallback has landed every phase it reaches — predictions included — with its log rows in the coverage log', async () => {
    const { rt } = env;
    await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    const date = '2025-03-24';
    // Before: it never returned (killed at 60 s); phase 3 waited for NBA.com's raw tables, which nothing ran.
    const report = await Promise.race([
      runAudit(rt, { start: date, end: date }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the audit did not return within 40 s')), 40_000)),
    ]);
    expect(report.fallback?.dates).to.deep.equal([date]);
    expect(report.ended).to.equal(true);
    expect(report.logsLanded).to.equal(true);
    const record = await getBackfill(rt, report.fallback?.backfillId as string);
    const progress = await backfillProgress(rt, record);
    expect(progress.done).to.equal(true);
    for (const p of ['bdl_player_boxscore', 'player_game_summary', 'player_rolling_features', 'player_points_predictions'])
      expect(progress.perProcessor[p], p).to.include({ committed: 1, pending: 0, upstream_failed: 0 });
    const w = await rt.warehouse();
    const games = report.fallback?.games ?? [];
    const predicted = await w.query(`SELECT count(DISTINCT game_id) AS n FROM nba_predictions.player_points_predictions WHERE game_date = DATE '${date}'`);
    expect(Number(predicted[0]?.n)).to.equal(games.length);
    // The log rows the report counts are in the table, not only staged.
    const logged = await w.query(`SELECT count(*) AS n FROM nba_orchestration.source_coverage_log WHERE audit_run_id = '${report.runId}'`);
    expect(Number(logged[0]?.n)).to.equal(report.logged);
  });
});

describe('run graph: cancel', function () {
  this.timeout(90_000);
  let env: TestEnv;
  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200', PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS: '100000' });
  });
  after(async () => env.cleanup());

  it('`phasegate cancel` removes the queued jobs, ends their slices and everything downstream cancelled, starts nothing more; --retry-failed runs them again', async () => {
    const { rt, config, dir } = env;
    const dates = await rt.source.gameDates('2023-11-01', '2023-11-06');
    const record = await startCascadingBackfill(rt, { processors: SCRAPERS.map((p) => rt.registry.get(p)), dates, cascade: true });
    // No worker yet: every job is queued.
    const cli = await runCli(['cancel', record.id], { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: config.prefix, PHASEGATE_DATA_DIR: dir });
    expect(cli.stderr).to.equal('');
    expect(cli.code).to.equal(0);
    expect(cli.stdout).to.include(`run ${record.id} cancelled: ${dates.length * 2} queued jobs removed`);
    const file = /failed dates written to (\S+)/.exec(cli.stdout)?.[1];
    expect(file).to.be.a('string');
    expect(await rt.queues.phase(1).getJobCounts('waiting', 'prioritized', 'delayed')).to.deep.equal({ waiting: 0, prioritized: 0, delayed: 0 });
    const progress = await backfillProgress(rt, record);
    expect(progress.done).to.equal(true);
    for (const p of [...SCRAPERS, ...RAW, ...DOWNSTREAM]) expect(progress.perProcessor[p], p).to.include({ cancelled: dates.length });
    expect((await rt.statuses.get('player_points_predictions', dates[0] as string))?.error).to.include(`run ${record.id} was cancelled`);

    // Workers now: nothing of the cancelled run starts.
    await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    await new Promise((r) => setTimeout(r, 500));
    expect((await backfillProgress(rt, record)).perProcessor.nbac_player_boxscore_scraper).to.include({ cancelled: dates.length, committed: 0 });

    // The failed-dates file the cancel wrote runs the whole graph again.
    const retry = await runCli(['backfill', '--retry-failed', file as string, '--wait'], {
      REDIS_URL: TEST_REDIS_URL,
      PHASEGATE_PREFIX: config.prefix,
      PHASEGATE_DATA_DIR: dir,
    });
    expect(retry.code, retry.stderr).to.equal(0);
    for (const p of [...RAW, ...DOWNSTREAM]) {
      const list = await rt.statuses.getMany(p, dates);
      expect(
        list.map((s) => s?.status),
        p,
      ).to.deep.equal(dates.map(() => 'committed'));
    }
  });
});

/** Adds `delta` to the first player's PLUS_MINUS in one NBA.com player file of the date (a correction upstream). */
async function correctPlayerFile(rt: Runtime, date: string, delta: number): Promise<string> {
  const key = (await rt.store.list(`nba-com/player-boxscores/${date}/`))[0] as string;
  const doc = JSON.parse(String(await rt.store.get(key))) as { resultSets: { headers: string[]; rowSet: unknown[][] }[] };
  const set = doc.resultSets[0] as { headers: string[]; rowSet: unknown[][] };
  const at = set.headers.indexOf('PLUS_MINUS');
  const row = set.rowSet.find((r) => typeof r[at] === 'number') as unknown[];
  row[at] = (row[at] as number) + delta;
  await rt.store.put(key, JSON.stringify(doc));
  return key;
}

describe('run graph: stale downstream and a failed re-run over good rows', function () {
  this.timeout(120_000);
  let env: TestEnv;
  const dates = ['2023-11-01', '2023-11-02', '2023-11-03'];
  const date = dates[1] as string;
  const cli = (args: string[]) => runCli(args, { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: env.config.prefix, PHASEGATE_DATA_DIR: env.dir });

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200', PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS: '100000' });
    await env.rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    const record = await startCascadingBackfill(env.rt, { processors: [...SCRAPERS, ...RAW].map((p) => env.rt.registry.get(p)), dates, cascade: true });
    await until(async () => (await backfillProgress(env.rt, record)).done, 'the first cascade', 60_000);
  });
  after(async () => env.cleanup());

  it('a corrected phase-2 date re-run without --cascade makes phases 3–5 of that date stale, in status and the views; --only-stale recomputes them', async () => {
    const { rt } = env;
    await correctPlayerFile(rt, date, 1);
    const rerun = await startBackfill(rt, { processors: [rt.registry.get('nbac_player_boxscore')], dates: [date] });
    await until(async () => (await backfillProgress(rt, rerun)).done, 'the re-run', 20_000);
    // Before: every status said committed, nothing said phases 3–5 were computed from the old rows.
    const s = await until(
      async () => {
        const now = await statusesOf(rt, DOWNSTREAM, date);
        return now.player_points_predictions?.stale && now;
      },
      'the downstream of the corrected date to read stale',
      10_000,
    );
    expect(s.player_game_summary?.stale?.upstream).to.deep.equal({ processor: 'nbac_player_boxscore', slice: date });
    expect(s.player_rolling_features?.stale?.upstream).to.deep.equal({ processor: 'player_game_summary', slice: date });
    // Team summaries read the team table only: not stale.
    expect(s.team_offense_game_summary?.stale).to.equal(undefined);
    expect((await rt.statuses.get('player_game_summary', dates[0] as string))?.stale).to.equal(undefined);
    const status = await cli(['status']);
    expect(status.stdout).to.match(
      /stale player_game_summary 2023-11-02: player_game_summary 2023-11-02 stale since \S+: nbac_player_boxscore 2023-11-02 recommitted with other rows/,
    );

    const fix = await cli(['backfill', '--only-stale', '--wait']);
    expect(fix.code, fix.stderr).to.equal(0);
    expect(fix.stderr).to.include('3 stale slice(s) to recompute');
    const after = await statusesOf(rt, DOWNSTREAM, date);
    for (const p of DOWNSTREAM) expect(after[p]?.stale, p).to.equal(undefined);
    const w = await rt.warehouse();
    const raw = await w.query(`SELECT sum(plus_minus) AS pm FROM nba_raw.nbac_player_boxscores WHERE game_date = DATE '${date}'`);
    const summary = await w.query(`SELECT sum(plus_minus) AS pm FROM nba_analytics.player_game_summary WHERE game_date = DATE '${date}'`);
    expect(Number(summary[0]?.pm)).to.equal(Number(raw[0]?.pm));
  });

  it('a failed re-run of a committed date keeps it committed (last re-run failed at T: reason), its rows and downstream untouched', async () => {
    const { rt } = env;
    const w = await rt.warehouse();
    const snapshot = async () => w.query(`SELECT * EXCLUDE (processed_at) FROM nba_raw.nbac_team_boxscore ORDER BY game_id, team_id`);
    const before = await snapshot();
    const file = (await rt.store.list(`nba-com/team-boxscore/${date}/`))[0] as string;
    const good = await rt.store.get(file);
    await rt.store.put(file, '{"resource": "boxscore", "resultSets": [');
    try {
      const rerun = await startCascadingBackfill(rt, { processors: [rt.registry.get('nbac_team_boxscore')], dates: [date], cascade: true });
      const progress = await until(
        async () => {
          const p = await backfillProgress(rt, rerun);
          return p.done && p;
        },
        'the failed re-run to end',
        20_000,
      );
      // The run's own outcome: failed, its downstream ruled out.
      expect(progress.perProcessor.nbac_team_boxscore).to.include({ failed: 1 });
      expect(progress.perProcessor.team_offense_game_summary).to.include({ upstream_failed: 1 });
      // The dates' state now: the good commit the warehouse keeps.
      const [now] = await rt.statuses.getManyNow('nbac_team_boxscore', [date]);
      expect(now?.status).to.equal('committed');
      expect(now?.rerunFailed?.state).to.equal('failed');
      expect(now?.rerunFailed?.reason).to.include(file);
      expect(describeNow(now as SliceStatus)).to.match(/^committed \(last re-run failed at \S+: nbac_team_boxscore 2023-11-02: /);
      const [summaryNow] = await rt.statuses.getManyNow('team_offense_game_summary', [date]);
      expect(summaryNow?.status).to.equal('committed');
      expect(await snapshot()).to.deep.equal(before);
      const status = await cli(['status', '--backfill', rerun.id]);
      expect(status.stdout, status.stdout).to.include("this run's outcome").and.include('6 kept after a failed re-run');
      expect(status.stdout).to.include(`failed nbac_team_boxscore ${date}`);
      const page = await runCli(['status', '--backfill', rerun.id, '--json'], {
        REDIS_URL: TEST_REDIS_URL,
        PHASEGATE_PREFIX: env.config.prefix,
        PHASEGATE_DATA_DIR: env.dir,
      });
      const json = JSON.parse(page.stdout) as { backfills: { now: { rerunFailed: number }; counts: Record<string, Record<string, number>> }[] };
      expect(json.backfills[0]?.counts.nbac_team_boxscore?.failed).to.equal(1);
      expect(json.backfills[0]?.now.rerunFailed).to.be.at.least(1);
    } finally {
      await rt.store.put(file, good as never);
    }
  });
});

describe('run graph: a cascading correction returns only once its whole graph has landed', function () {
  this.timeout(180_000);
  let env: TestEnv;
  before(async () => {
    // No workers in the test process: the CLI's own --workers hold the DuckDB file while they run.
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200', PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS: '100000' });
  });
  after(async () => env.cleanup());

  it('backfill --cascade --workers 2 of one corrected date exits with the later dates its window refreshed committed, nothing staged or delayed, its log rows landed', async () => {
    const { rt, config, dir } = env;
    const cliEnv = { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: config.prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_TIME_SCALE: '200' };
    const first = await runCli(
      ['backfill', '--processors', [...SCRAPERS, ...RAW].join(','), '--start', '2023-11-01', '--end', '2023-11-12', '--cascade', '--workers', '2'],
      cliEnv,
    );
    expect(first.code, first.stderr).to.equal(0);
    // The corrected date's window refreshes every later date of the season the warehouse holds.
    const dates = await rt.source.gameDates('2023-11-01', '2023-11-12');
    const before = await rt.statuses.getMany('player_points_predictions', dates);
    await correctPlayerFile(rt, '2023-11-01', 7);
    const started = new Date().toISOString();
    const fix = await runCli(
      ['backfill', '--processors', 'nbac_player_boxscore', '--start', '2023-11-01', '--end', '2023-11-01', '--cascade', '--workers', '2'],
      cliEnv,
    );
    expect(fix.code, fix.stderr).to.equal(0);
    // Before: it exited with the next date's prediction `staged` and a delayed commit in its gate.
    const after = await rt.statuses.getMany('player_points_predictions', dates);
    for (const [i, s] of after.entries()) {
      expect(s?.status, dates[i]).to.equal('committed');
      expect(s?.committedAt && s.committedAt > started, `${dates[i]} recomputed after the correction`).to.equal(true);
      expect(s?.committedAt).to.not.equal(before[i]?.committedAt);
    }
    for (const table of rt.registry.gatedTables()) {
      expect(await rt.gate.pendingCount(table), table).to.equal(0);
      expect((await rt.gate.takenBatches(table)).size, table).to.equal(0);
      expect(await rt.queues.commit(table).getJobCounts('delayed', 'waiting', 'active'), table).to.deep.equal({ delayed: 0, waiting: 0, active: 0 });
    }
    const record = await getBackfill(rt, (/backfill (bf-\S+):/.exec(fix.stdout) as RegExpExecArray)[1] as string);
    const progress = await backfillProgress(rt, record);
    expect(progress.done).to.equal(true);
    // The later dates its window refreshed belong to the run.
    expect(progress.graph.scope.slicesOf('player_rolling_features')).to.include.members(dates);
  });
});
