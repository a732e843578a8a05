/**
 * The source-coverage audit end to end on the real Redis and a real DuckDB behind the
 * BigQuery rules: two playoff dates go through all phases from NBA.com, then, behind
 * phasegate's back (straight in the DuckDB file and the object store), one game leaves both
 * NBA.com raw tables and phase 3 while its NBA.com files stay, one leaves only the team table,
 * and two leave both raw tables together with their NBA.com files. The audit must notice all
 * four, re-run NBA.com's raw processors from the files first (the game comes back `gold`, and
 * balldontlie is not asked for its date), fill the game balldontlie has through the normal
 * gates (phase 2 and 3 follow), and alert — once, at a local webhook — for the one no source
 * has. A second audit of the same window, run by the scheduler's worker, adds no log row twice.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'chai';
import { type AuditReport, runAudit } from '../src/coverage/audit.ts';
import { PLAYER_BOXSCORE_PREFIX, TEAM_BOXSCORE_PREFIX } from '../src/processors/nbac/boxscore-scrapers.ts';
import type { Row } from '../src/processors/types.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { auditJobId, PHASES, SCHEDULER_JOBS } from '../src/queues/names.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { Receiver } from './conflict-fixtures.ts';
import { openRuntimes, openTestRuntime, type TestEnv, until } from './helpers.ts';

const DATES = ['2025-04-19', '2025-04-20'];
/** 2025-04-20. Deleted from both NBA.com raw tables and phase 3; its NBA.com files stay: re-run from them. */
const REPAIRED = '0042400151';
/** 2025-04-20. Deleted from NBA.com's team table only; its files stay: re-run from them. */
const TEAM_GAP = '0042400101';
/** 2025-04-19. Deleted from both NBA.com raw tables with its NBA.com files; balldontlie has it: filled from the fallback. */
const FILLED = '0042400141';
/**
 * 2025-04-19. Deleted from both NBA.com raw tables and phase 3 with its NBA.com files, and
 * missing from balldontlie too: no source has it. (Its phase-3 rows go too: else the date's
 * re-run would hold fewer games than the table and not land — the gate's no-shrink rule.)
 */
const LOST = '0042400121';
const LOG = 'nba_orchestration.source_coverage_log';
const NBAC_PLAYERS = 'nba_raw.nbac_player_boxscores';
const NBAC_TEAMS = 'nba_raw.nbac_team_boxscore';

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

    // Behind phasegate's back: the process stops, and someone deletes games in the file…
    openRuntimes.delete(env.rt);
    await env.rt.close();
    const db = await DuckDBInstance.create(env.config.duckdbPath);
    const conn = await db.connect();
    const gone = async (sql: string) => (await conn.run(sql)).rowsChanged;
    expect(await gone(`DELETE FROM ${NBAC_PLAYERS} WHERE game_id IN ('${REPAIRED}', '${FILLED}', '${LOST}')`)).to.be.greaterThan(30);
    expect(await gone(`DELETE FROM ${NBAC_TEAMS} WHERE game_id IN ('${REPAIRED}', '${TEAM_GAP}', '${FILLED}', '${LOST}')`)).to.equal(8);
    for (const t of ['player_game_summary', 'team_offense_game_summary', 'team_defense_game_summary'])
      expect(await gone(`DELETE FROM nba_analytics.${t} WHERE game_id IN ('${REPAIRED}', '${LOST}')`), t).to.be.greaterThan(0);
    conn.closeSync();
    db.closeSync();
    // …and NBA.com's raw files of two of them.
    for (const game of [FILLED, LOST])
      for (const prefix of [PLAYER_BOXSCORE_PREFIX, TEAM_BOXSCORE_PREFIX]) {
        const key = `${prefix('2025-04-19')}${game}.json`;
        expect(await env.rt.store.exists(key), key).to.equal(true);
        await env.rt.store.delete(key);
      }

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

  describe('one audit of the window', () => {
    let report: AuditReport;
    let events: Row[];
    const has = (game: string, type: string, table?: string) =>
      events.some((e) => e.game_id === game && e.event_type === type && (!table || e.table_name === table));
    const holds = async (table: string, game: string) => Number((await query(rt, `SELECT count(*) AS n FROM ${table} WHERE game_id = '${game}'`))[0]?.n);
    const pick = async (game: string) =>
      (
        await query(
          rt,
          `SELECT string_agg(DISTINCT primary_source) AS src, string_agg(DISTINCT data_quality_tier) AS tier FROM nba_analytics.player_game_summary WHERE game_id = '${game}'`,
        )
      )[0];
    const view = async (game: string) =>
      (
        await query(
          rt,
          `SELECT sources_present, sources_missing, fallback_used, data_quality_tier, last_event_type FROM nba_orchestration.source_coverage_by_game WHERE game_id = '${game}'`,
        )
      )[0];

    before(async () => {
      report = await runAudit(rt, { start: DATES[0] as string, end: DATES[1] as string });
      await logSettled(rt);
      events = await query(
        rt,
        `SELECT game_id, table_name, event_type, severity, fallback_used, details FROM ${LOG} WHERE game_id IN ('${REPAIRED}', '${TEAM_GAP}', '${FILLED}', '${LOST}')`,
      );
    });

    it("a game whose NBA.com files are there comes back gold from NBA.com's raw processors, and balldontlie is not asked", async () => {
      expect(report.dates).to.equal(2);
      // The best source first: NBA.com's raw processors re-run for the date whose files are there.
      expect(report.repair?.games).to.have.members([REPAIRED, TEAM_GAP]);
      expect(report.repair?.dates).to.deep.equal(['2025-04-20']);
      expect(report.repair?.processors).to.have.members(['nbac_player_boxscore', 'nbac_team_boxscore']);
      expect(report.fallback?.games).to.not.include(REPAIRED);
      // The re-run landed through the gates: both raw tables hold the game again, phase 3 reads NBA.com.
      expect(await holds(NBAC_PLAYERS, REPAIRED)).to.be.greaterThan(20);
      expect(await holds(NBAC_TEAMS, REPAIRED)).to.equal(2);
      expect(await pick(REPAIRED)).to.include({ src: 'nbac', tier: 'gold' });
      // balldontlie was not asked for the re-run date at all.
      const [bdl20] = await query(rt, `SELECT count(*) AS n FROM nba_raw.bdl_player_boxscores WHERE game_date = DATE '2025-04-20'`);
      expect(Number(bdl20?.n)).to.equal(0);

      // NBA.com's processors said the date committed: silent failures, then the repair per table, with its backfill.
      expect(has(REPAIRED, 'silent_failure', NBAC_PLAYERS) && has(REPAIRED, 'silent_failure', NBAC_TEAMS)).to.equal(true);
      const reruns = events.filter((e) => e.event_type === 'primary_rerun_requested');
      expect(reruns.map((e) => `${e.game_id} ${e.table_name}`)).to.have.members([
        `${REPAIRED} ${NBAC_PLAYERS}`,
        `${REPAIRED} ${NBAC_TEAMS}`,
        `${TEAM_GAP} ${NBAC_TEAMS}`,
      ]);
      for (const e of reruns) expect(JSON.parse(String(e.details)).backfill_id).to.equal(report.repair?.backfillId);
      expect(has(REPAIRED, 'found', NBAC_PLAYERS) && has(REPAIRED, 'found', NBAC_TEAMS)).to.equal(true);
      expect(has(REPAIRED, 'fallback_requested')).to.equal(false);
      expect(await view(REPAIRED)).to.include({ sources_present: 'nbac', sources_missing: null, fallback_used: false, data_quality_tier: 'gold' });
    });

    it('a game NBA.com has no files of is asked of balldontlie, and the one no source has alerts once', async () => {
      // balldontlie only for the games NBA.com has neither in a table nor as files.
      expect(report.fallback?.games).to.have.members([FILLED, LOST]);
      expect(report.fallback?.dates).to.deep.equal(['2025-04-19']);
      expect(report.critical).to.deep.equal([{ gameId: LOST, date: '2025-04-19' }]);

      // The fallback landed through the gates: balldontlie's raw table, then phase 3's pick.
      const bdl = await query(rt, `SELECT game_id, count(*) AS n FROM nba_raw.bdl_player_boxscores GROUP BY 1 ORDER BY 1`);
      expect(bdl.map((r) => r.game_id))
        .to.include(FILLED)
        .and.not.include(LOST);
      expect(await pick(FILLED)).to.include({ src: 'bdl', tier: 'silver' });

      for (const game of [FILLED, LOST]) expect(has(game, 'silent_failure', NBAC_PLAYERS), game).to.equal(true);
      expect(has(FILLED, 'fallback_requested') && has(LOST, 'fallback_requested')).to.equal(true);
      expect(has(FILLED, 'primary_rerun_requested') || has(LOST, 'primary_rerun_requested')).to.equal(false);
      expect(events.find((e) => e.game_id === FILLED && e.event_type === 'found' && e.table_name === 'nba_raw.bdl_player_boxscores')?.fallback_used).to.equal(
        true,
      );
      expect(has(FILLED, 'tier_dropped', 'nba_analytics.player_game_summary')).to.equal(true);
      expect(events.filter((e) => e.event_type === 'no_source').map((e) => [e.game_id, e.severity])).to.deep.equal([[LOST, 'critical']]);

      const all = await query(rt, `SELECT game_id, sources_present, fallback_used FROM nba_orchestration.source_coverage_by_game ORDER BY game_id`);
      expect(all).to.have.length(6);
      expect(await view(FILLED)).to.include({ sources_present: 'bdl', sources_missing: 'nbac', fallback_used: true, data_quality_tier: 'silver' });
      // (Its last event: `no_source` and its fallback table's `missing` are logged at the same
      // instant, so the view's tie-break by event id picks either.)
      expect(await view(LOST)).to.include({ sources_present: null, sources_missing: 'bdl,nbac' });
      // The fallback scraped its whole date: the other game of 2025-04-19 is in both sources now…
      expect(all.filter((v) => v.sources_present === 'bdl,nbac').map((v) => v.game_id)).to.deep.equal(['0042400171']);
      // …but phase 3 still reads NBA.com for it: only the filled game relies on the fallback.
      expect(all.filter((v) => v.fallback_used).map((v) => v.game_id)).to.deep.equal([FILLED]);

      // One critical alert, naming only the game no source has; everything else in one digest.
      await until(async () => critical().length > 0 && digests().length > 0, 'the critical alert and the digest', 10_000);
      expect(critical()).to.have.length(1);
      expect(critical()[0]?.text).to.include(LOST).and.not.include(FILLED);
      expect(digests()).to.have.length(1);
      expect(digests()[0]?.text).to.include(FILLED).and.include(REPAIRED).and.include(TEAM_GAP);
      // The fallback fetched whole dates, the re-run too; the games NBA.com still has are no news.
      expect(digests()[0]?.text).to.not.include('0042400171').and.not.include('0042400131');
    });

    it("a gap in NBA.com's team table is detected per game and table, and re-run from its files", async () => {
      expect(has(TEAM_GAP, 'silent_failure', NBAC_TEAMS)).to.equal(true);
      expect(has(TEAM_GAP, 'silent_failure', NBAC_PLAYERS)).to.equal(false);
      expect(events.filter((e) => e.game_id === TEAM_GAP && e.event_type === 'primary_rerun_requested').map((e) => e.table_name)).to.deep.equal([NBAC_TEAMS]);
      expect(await holds(NBAC_TEAMS, TEAM_GAP)).to.equal(2);
      expect(has(TEAM_GAP, 'found', NBAC_TEAMS)).to.equal(true);
      expect(await pick(TEAM_GAP)).to.include({ src: 'nbac', tier: 'gold' });
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
          if (!job || (await job.getState()) !== 'completed') return undefined;
          // Read it again: the copy fetched before it completed has no return value yet.
          return queue.getJob(auditJobId('finish', runId));
        },
        'the second audit to finish in the worker',
        120_000,
      );
      // It still asks the fallback for the lost game (the source may have it by now) and still
      // finds nothing; every row it computed was logged by the first run already.
      expect(finished.returnvalue.critical).to.deep.equal([{ gameId: LOST, date: '2025-04-19' }]);
      expect(finished.returnvalue.logged).to.be.greaterThan(0);
      await logSettled(rt);
      expect(await count()).to.deep.equal(first);
      expect(finished.returnvalue.announced).to.deep.equal({ critical: 0, digest: 0 });
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.bodies).to.have.length(messages);
    });
  });
});
