/**
 * The conflict path end to end, on real Redis, real queues and DuckDB behind the BigQuery
 * rules: another writer streams rows into 2 of 5 dates; one commit lands the other 3 at
 * once and holds the 2 back (`waiting` with their next try); they commit once the buffer
 * flushes; the conflict log says so. Then: a slice deferred after the maximum wait, announced
 * once, and brought back by `retry --deferred`.
 */
import { expect } from 'chai';
import { stageRows } from '../src/queues/commit/staging.ts';
import { readBreaker } from '../src/queues/conflicts/breaker.ts';
import { retryDeferred } from '../src/queues/conflicts/hold.ts';
import { readConflictSummaries, readConflictTotals } from '../src/queues/conflicts/log.ts';
import { conflictReport } from '../src/queues/conflicts/queries.ts';
import { conflictStatus } from '../src/queues/conflicts/status.ts';
import type { SliceStatus } from '../src/queues/status-store.ts';
import { streamingConflictLog } from '../src/tables/streaming-conflict-log.ts';
import { boxRows, DATES, PLAYER, PLAYER_TABLE, Receiver, rulesWarehouse } from './conflict-fixtures.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

// 600× faster: BigQuery's 30-min buffer lasts 3 s, the 5/10/20-min waits 0.5/1/2 s.
const SCALE = 600;

async function statuses(env: TestEnv, dates: readonly string[]): Promise<(SliceStatus | undefined)[]> {
  return env.rt.statuses.getMany(PLAYER.name, dates);
}

async function rowsByDate(env: TestEnv): Promise<Record<string, { n: number; pts: number }>> {
  const w = await rulesWarehouse(env);
  const rows = await w.query(`SELECT CAST(game_date AS VARCHAR) AS d, count(*) AS n, sum(pts) AS pts FROM ${w.tableName(PLAYER.table)} GROUP BY 1 ORDER BY 1`);
  return Object.fromEntries(rows.map((r) => [String(r.d), { n: Number(r.n), pts: Number(r.pts) }]));
}

async function conflictLog(env: TestEnv) {
  const w = await rulesWarehouse(env);
  return w
    .query(
      `SELECT conflict_id, CAST(game_date AS VARCHAR) AS game_date, processor_name, conflict_type, retry_attempt, max_retries, delay_seconds, resolved, resolution_method, rows_affected, error_message, CAST(details AS VARCHAR) AS details FROM ${w.tableName(streamingConflictLog.table)} ORDER BY game_date, retry_attempt, resolved`,
    )
    .catch(() => []);
}

describe('conflict path: streaming-buffer conflicts split the batch, wait, and land', function () {
  this.timeout(60_000);
  let env: TestEnv;

  before(async () => {
    // The breaker judges a day of commits here, so the test can read both of its commits back.
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: String(SCALE), PHASEGATE_COMMIT_GATHER_SECONDS: '60', PHASEGATE_BREAKER_WINDOW_SECONDS: '86400' });
  });
  after(async () => env.cleanup());

  it('commits 3 of 5 dates at once, holds the 2 in the buffer, commits them after it flushes, and logs it', async () => {
    const w = await rulesWarehouse(env);
    await w.ensureTable(PLAYER.table);
    // The other writer (the incident's auto-processor) streams into 2 of the 5 dates.
    const streamed = [DATES[1] as string, DATES[3] as string];
    for (const d of streamed) await w.streamingInsert(PLAYER.table, boxRows(d, 3, 1));
    expect(w.bufferedSlices(PLAYER.table)).to.deep.equal(streamed);

    for (const d of DATES) await stageRows(env.rt, PLAYER, d, boxRows(d, 5, 20), 'bf-test');
    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });

    // One commit: 3 land now, 2 wait with their next try.
    const firstRound = await until(async () => {
      const s = await statuses(env, DATES);
      return s.every((x) => x?.status === 'committed' || x?.status === 'waiting') ? s : undefined;
    }, 'the first commit');
    const committedNow = DATES.filter((_, i) => firstRound[i]?.status === 'committed');
    expect(committedNow).to.deep.equal([DATES[0], DATES[2], DATES[4]]);
    for (const d of streamed) {
      const s = firstRound[DATES.indexOf(d)];
      expect(s?.status, d).to.equal('waiting');
      expect(s?.error, d).to.match(/^waiting: streaming buffer, next try at \d{4}-\d{2}-\d{2}T/);
      expect(Date.parse(s?.nextTryAt ?? '')).to.be.greaterThan(Date.now() - 1000);
    }
    const mid = await rowsByDate(env);
    for (const d of committedNow) expect(mid[d], d).to.deep.equal({ n: 5, pts: 100 });
    // The held dates still hold only the streamed rows: nothing of ours touched them.
    for (const d of streamed) expect(mid[d], d).to.deep.equal({ n: 3, pts: 3 });

    // While they wait, the conflict log's "unresolved" query lists them.
    const waitingReport = await until(async () => {
      const r = await conflictReport(w);
      return r.unresolved.length === 2 ? r : undefined;
    }, 'the unresolved conflicts in the log');
    expect(waitingReport.unresolved.map((r) => r.game_date).sort()).to.deep.equal(streamed);

    // After the buffer flushes (30 min scaled), the held dates commit with our rows only.
    await until(async () => ((await statuses(env, DATES)).every((x) => x?.status === 'committed') ? true : undefined), 'the held dates to commit', 30_000);
    const after = await rowsByDate(env);
    for (const d of DATES) expect(after[d], d).to.deep.equal({ n: 5, pts: 100 });
    for (const s of await statuses(env, DATES)) {
      expect(s?.error).to.equal(undefined);
      expect(s?.nextTryAt).to.equal(undefined);
    }

    // The conflict log: per held date, tries that met the buffer (unresolved, with their wait),
    // then one resolved row by auto_retry — landed through the log table's group commit.
    const log = await until(async () => {
      const rows = await conflictLog(env);
      return rows.filter((r) => r.resolved === true).length === 2 ? rows : undefined;
    }, 'the resolved rows in the conflict log');
    for (const d of streamed) {
      const mine = log.filter((r) => r.game_date === d);
      const ids = new Set(mine.map((r) => r.conflict_id));
      expect(ids.size, `${d}: one conflict`).to.equal(1);
      const resolved = mine.filter((r) => r.resolved === true);
      expect(resolved, d).to.have.length(1);
      expect(resolved[0]?.resolution_method).to.equal('auto_retry');
      const tries = mine.filter((r) => r.resolved === false);
      expect(tries.length, `${d} tries`).to.be.at.least(2);
      expect(tries.map((r) => Number(r.retry_attempt))).to.deep.equal(tries.map((_, i) => i + 1));
      expect(resolved[0]?.retry_attempt).to.equal(tries.length);
      // 5 min then 10 min, ±20 % jitter (BigQuery seconds).
      expect(Number(tries[0]?.delay_seconds)).to.be.within(240, 360);
      expect(Number(tries[1]?.delay_seconds)).to.be.within(480, 720);
      for (const t of tries) {
        expect(t.processor_name).to.equal(PLAYER.name);
        expect(t.conflict_type).to.equal('streaming_buffer');
        expect(t.rows_affected).to.equal(5);
        expect(t.max_retries).to.equal(7);
      }
      // The table has a processed_at column, so every commit asks the buffer first (a read) and
      // holds the buffered dates without sending a MERGE BigQuery would refuse.
      expect(tries[0]?.error_message).to.match(/streaming buffer/);
      for (const t of tries) expect(JSON.parse(String(t.details)).detected).to.equal('check');
    }

    // BigQuery refused no MERGE: the check before it found the 2 conflicting dates.
    const rec = w.record();
    expect(rec.tables[PLAYER_TABLE]?.rejected.streamingBuffer ?? 0).to.equal(0);
    // The log rows landed through the log table's own gate (batching is shown in run-log.test.ts:
    // here the tries are seconds apart, longer than the log's gather window at this scale).
    const logOps = rec.tables[`${streamingConflictLog.table.dataset}.${streamingConflictLog.table.table}`]?.tableOps ?? 0;
    expect(logOps).to.be.within(1, log.length + 1);

    // Redis's account agrees (for the dashboard and the benchmark).
    expect(await readConflictTotals(env.rt, PLAYER_TABLE)).to.deep.equal({ table: PLAYER_TABLE, met: 2, resolved: 2, deferred: 0, open: 0 });
    const [summary] = await readConflictSummaries(env.rt, 0);
    expect(summary).to.include({ table: PLAYER_TABLE, total: 2, resolved: 2 });
    expect(summary?.byResolution).to.deep.equal({ auto_retry: 2 });
    // One commit had 2 of its 5 dates held back — under the share that makes a commit
    // conflicting, since its split landed the other 3 — and the held dates' commits (one or two,
    // as their rows flush) met nothing: the breaker stays closed.
    const breaker = await readBreaker(env.rt, PLAYER_TABLE);
    expect(breaker).to.include({ state: 'closed', recentConflicts: 0, recentSlices: 5, recentHeld: 2 });
    // Only the first commit is judged: the held dates' later commits are retries.
    expect(breaker.recentCommits).to.equal(1);

    // Seed 002's daily summary, in DuckDB's dialect.
    const report = await conflictReport(w);
    expect(report.logged).to.equal(true);
    expect(report.unresolved).to.deep.equal([]);
    expect(report.daily).to.have.length(1);
    expect(report.daily[0]).to.include({ processor_name: PLAYER.name, total_conflicts: 2, resolved: 2, unresolved: 0 });
    expect(JSON.parse(String(report.daily[0]?.sample_games))).to.deep.equal(streamed);
  });
});

describe('conflict path: deferred after the maximum wait, announced once, retried with one command', function () {
  this.timeout(60_000);
  let env: TestEnv;
  const receiver = new Receiver();

  before(async () => {
    const url = await receiver.start();
    env = await openTestRuntime({
      PHASEGATE_TIME_SCALE: String(SCALE),
      PHASEGATE_COMMIT_GATHER_SECONDS: '60',
      // 10 min: the first wait (5 min) fits, the second (10 more) does not.
      PHASEGATE_CONFLICT_MAX_WAIT_SECONDS: '600',
      PHASEGATE_WEBHOOK_URL: url,
    });
  });
  after(async () => {
    await env.cleanup();
    await receiver.stop();
  });

  it('keeps the deferred slice, shows it, announces it once, and `retry --deferred` commits it', async () => {
    const w = await rulesWarehouse(env);
    await w.ensureTable(PLAYER.table);
    const [a, b] = [DATES[0] as string, DATES[1] as string];
    await w.streamingInsert(PLAYER.table, [...boxRows(a, 2, 1), ...boxRows(b, 2, 1)]);
    await stageRows(env.rt, PLAYER, a, boxRows(a, 4, 7), undefined);
    await stageRows(env.rt, PLAYER, b, boxRows(b, 4, 7), undefined);
    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });

    const deferred = await until(
      async () => {
        const s = await statuses(env, [a, b]);
        return s.every((x) => x?.status === 'deferred') ? s : undefined;
      },
      'both slices deferred',
      20_000,
    );
    for (const s of deferred) {
      expect(s?.error).to.match(
        /^deferred: rows still in the streaming buffer after \d+ min and 2 tries; kept, retry with: phasegate retry --deferred --table nba_raw\.nbac_player_boxscores$/,
      );
      expect(s?.nextTryAt).to.equal(undefined);
    }
    // Kept, not dropped: still pending in the gate, shown by status.
    const [safety] = await conflictStatus(env.rt);
    expect(safety?.deferred.sort()).to.deep.equal([a, b]);
    expect(await env.rt.gate.pendingCount(PLAYER_TABLE)).to.equal(2);

    // Announced once: one webhook message for the table (the second deferral folded or shared it).
    await until(async () => (receiver.bodies.length > 0 ? true : undefined), 'the deferral notice');
    await new Promise((r) => setTimeout(r, 300));
    const notices = receiver.bodies.filter((m) => /deferred/.test(m.text));
    expect(notices).to.have.length(1);
    expect(notices[0]?.text).to.include('phasegate retry --deferred --table nba_raw.nbac_player_boxscores');
    expect(notices[0]?.blocks?.length).to.be.at.least(2);

    // Nothing happens to a deferred slice by itself, even after the buffer flushed.
    await until(async () => (w.bufferedSlices(PLAYER.table).length === 0 ? true : undefined), 'the buffer to flush', 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect((await statuses(env, [a, b])).map((s) => s?.status)).to.deep.equal(['deferred', 'deferred']);

    // One command brings them back; the kept staged rows land.
    const result = await retryDeferred(env.rt, { table: PLAYER_TABLE });
    expect(result).to.deep.equal([{ table: PLAYER_TABLE, slices: [a, b] }]);
    await until(async () => ((await statuses(env, [a, b])).every((x) => x?.status === 'committed') ? true : undefined), 'the retried slices to commit');
    expect(await rowsByDate(env)).to.deep.equal({ [a]: { n: 4, pts: 28 }, [b]: { n: 4, pts: 28 } });

    const log = await until(async () => {
      const rows = await conflictLog(env);
      return rows.filter((r) => r.resolved === true).length === 2 ? rows : undefined;
    }, 'the resolved rows');
    for (const d of [a, b]) {
      const mine = log.filter((r) => r.game_date === d);
      expect(mine.map((r) => [r.retry_attempt, r.resolved, r.resolution_method])).to.deep.equal([
        [1, false, null],
        [2, false, 'timeout'],
        [2, true, 'manual'],
      ]);
    }
    expect(await readConflictTotals(env.rt, PLAYER_TABLE)).to.include({ met: 2, resolved: 2, deferred: 0 });
    expect(await retryDeferred(env.rt, { table: PLAYER_TABLE })).to.deep.equal([]);
  });
});
