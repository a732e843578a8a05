/**
 * The source-coverage audit end to end on the real Redis and a real DuckDB behind the
 * BigQuery rules: two playoff dates go through all phases from NBA.com, two games are then
 * deleted from NBA.com's raw table behind phasegate's back (straight in the DuckDB file), and
 * the audit must notice both, fill the one balldontlie has through the normal gates (phase 2
 * and 3 follow), and alert — once, at a local webhook — for the one no source has. A second
 * audit of the same window, run by the scheduler's worker, adds no log row twice.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'chai';
import { runAudit } from '../src/coverage/audit.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { auditJobId, PHASES, SCHEDULER_JOBS } from '../src/queues/names.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { Receiver } from './conflict-fixtures.ts';
import { openRuntimes, openTestRuntime, type TestEnv, until } from './helpers.ts';

const DATES = ['2025-04-19', '2025-04-20'];
/** Deleted from NBA.com's raw table; balldontlie has it: filled from the fallback. */
const FILLED = '0042400141';
/** Deleted from NBA.com's raw table and missing from balldontlie too: no source has it. */
const LOST = '0042400131';
const LOG = 'nba_orchestration.source_coverage_log';

async function logSettled(rt: Runtime): Promise<void> {
  await until(
    async () => {
      const counts = await rt.queues.commit(LOG).getJobCounts('active', 'waiting', 'delayed', 'prioritized');
      return (await rt.gate.pendingCount(LOG)) === 0 && Object.values(counts).every((n) => n === 0);
    },
    'the coverage log to land',
    60_000,
  );
}

async function query(rt: Runtime, sql: string) {
  return (await rt.warehouse()).query(sql);
}

describe('source-coverage audit', function () {
  this.timeout(240_000);
  const receiver = new Receiver();
  let env: TestEnv;
  let rt: Runtime;

  const critical = () => receiver.bodies.filter((b) => /no data from any source/.test(b.text));
  const digests = () => receiver.bodies.filter((b) => /source coverage audit/.test(b.text));

  before(async () => {
    const url = await receiver.start();
    env = await openTestRuntime({ PHASEGATE_WEBHOOK_URL: url, PHASEGATE_FIXTURE_BDL_MISSING_GAMES: LOST });
    await env.rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    const record = await startCascadingBackfill(env.rt, {
      processors: ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper'].map((p) => env.rt.registry.get(p)),
      dates: DATES,
      cascade: true,
    });
    const done = await waitForCascade(env.rt, record, { pollMs: 200, timeoutMs: 120_000 });
    expect(done.done, JSON.stringify(done.perPhase)).to.equal(true);
    const [before] = await query(env.rt, `SELECT count(DISTINCT game_id) AS g FROM nba_analytics.player_game_summary WHERE data_quality_tier = 'gold'`);
    expect(Number(before?.g)).to.equal(6);

    // Behind phasegate's back: the process stops, and someone deletes two games in the file.
    openRuntimes.delete(env.rt);
    await env.rt.close();
    const db = await DuckDBInstance.create(env.config.duckdbPath);
    const conn = await db.connect();
    const deleted = await conn.run(`DELETE FROM nba_raw.nbac_player_boxscores WHERE game_id IN ('${FILLED}', '${LOST}')`);
    expect(deleted.rowsChanged).to.be.greaterThan(20);
    conn.closeSync();
    db.closeSync();

    rt = await openRuntime(env.config, { redisExplicit: true });
    openRuntimes.set(rt, 'coverage-audit.test.ts');
    await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
  });

  after(async () => {
    if (rt) {
      openRuntimes.delete(rt);
      await rt.close();
    }
    await env?.cleanup();
    await receiver.stop();
  });

  it('catches the deleted games, fills the one the fallback has through phases 2 and 3, and alerts once for the one no source has', async () => {
    const report = await runAudit(rt, { start: DATES[0] as string, end: DATES[1] as string });
    expect(report.dates).to.equal(2);
    expect(report.fallback?.games).to.have.members([FILLED, LOST]);
    expect(report.fallback?.dates).to.deep.equal(DATES);
    expect(report.critical).to.deep.equal([{ gameId: LOST, date: '2025-04-20' }]);

    // The fallback landed through the gates: balldontlie's raw table, then phase 3's pick.
    const bdl = await query(rt, `SELECT game_id, count(*) AS n FROM nba_raw.bdl_player_boxscores GROUP BY 1 ORDER BY 1`);
    expect(bdl.map((r) => r.game_id))
      .to.include(FILLED)
      .and.not.include(LOST);
    const [filled] = await query(
      rt,
      `SELECT string_agg(DISTINCT primary_source) AS src, string_agg(DISTINCT data_quality_tier) AS tier FROM nba_analytics.player_game_summary WHERE game_id = '${FILLED}'`,
    );
    expect(filled).to.include({ src: 'bdl', tier: 'silver' });

    await logSettled(rt);
    const events = await query(rt, `SELECT game_id, table_name, event_type, severity, fallback_used FROM ${LOG} WHERE game_id IN ('${FILLED}', '${LOST}')`);
    const has = (game: string, type: string, table?: string) =>
      events.some((e) => e.game_id === game && e.event_type === type && (!table || e.table_name === table));
    // NBA.com's processor says both dates committed: the gaps are silent failures.
    expect(has(FILLED, 'silent_failure', 'nba_raw.nbac_player_boxscores')).to.equal(true);
    expect(has(LOST, 'silent_failure', 'nba_raw.nbac_player_boxscores')).to.equal(true);
    expect(has(FILLED, 'fallback_requested') && has(LOST, 'fallback_requested')).to.equal(true);
    expect(events.find((e) => e.game_id === FILLED && e.event_type === 'found' && e.table_name === 'nba_raw.bdl_player_boxscores')?.fallback_used).to.equal(
      true,
    );
    expect(has(FILLED, 'tier_dropped', 'nba_analytics.player_game_summary')).to.equal(true);
    expect(events.filter((e) => e.event_type === 'no_source').map((e) => [e.game_id, e.severity])).to.deep.equal([[LOST, 'critical']]);

    const view = await query(
      rt,
      `SELECT game_id, sources_present, sources_missing, fallback_used, data_quality_tier, last_event_type FROM nba_orchestration.source_coverage_by_game ORDER BY game_id`,
    );
    expect(view).to.have.length(6);
    expect(view.find((v) => v.game_id === FILLED)).to.include({
      sources_present: 'bdl',
      sources_missing: 'nbac',
      fallback_used: true,
      data_quality_tier: 'silver',
    });
    expect(view.find((v) => v.game_id === LOST)).to.include({ sources_present: null, last_event_type: 'no_source' });
    // The fallback scraped whole dates: the other four games are in both sources now.
    expect(view.filter((v) => v.sources_present === 'bdl,nbac')).to.have.length(4);
    // …but phase 3 still reads NBA.com for them: only the filled game relies on the fallback.
    expect(view.filter((v) => v.fallback_used).map((v) => v.game_id)).to.deep.equal([FILLED]);

    // One critical alert, naming only the game no source has; everything else in one digest.
    await until(async () => critical().length > 0 && digests().length > 0, 'the critical alert and the digest', 10_000);
    expect(critical()).to.have.length(1);
    expect(critical()[0]?.text).to.include(LOST).and.not.include(FILLED);
    expect(digests()).to.have.length(1);
    expect(digests()[0]?.text).to.include(FILLED);
    // The fallback fetched whole dates; the games NBA.com still has are no news.
    expect(digests()[0]?.text).to.not.include('0042400121');
  });

  it('a second audit of the same window, run by the scheduler worker, adds no duplicate log rows and no second alert', async () => {
    await logSettled(rt);
    const count = async () => {
      const [r] = await query(rt, `SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM ${LOG}`);
      return { n: Number(r?.n), ids: Number(r?.ids) };
    };
    const first = await count();
    expect(first.n).to.equal(first.ids);
    const messages = receiver.bodies.length;

    const runId = 'audit-again';
    const queue = rt.queues.scheduler();
    await queue.add(SCHEDULER_JOBS.auditNow, { start: DATES[0], end: DATES[1], runId, fallback: true }, { jobId: `${SCHEDULER_JOBS.auditNow}.${runId}` });
    const finished = await until(
      async () => {
        const job = await queue.getJob(auditJobId('finish', runId));
        return job && (await job.getState()) === 'completed' ? job : undefined;
      },
      'the second audit to finish in the worker',
      120_000,
    );
    // It still asks the fallback for the lost game (the source may have it by now) and still
    // finds nothing; every row it computed was logged by the first run already.
    expect(finished.returnvalue.critical).to.deep.equal([{ gameId: LOST, date: '2025-04-20' }]);
    expect(finished.returnvalue.logged).to.be.greaterThan(0);
    await logSettled(rt);
    expect(await count()).to.deep.equal(first);
    expect(finished.returnvalue.announced).to.deep.equal({ critical: 0, digest: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.bodies).to.have.length(messages);
  });
});
