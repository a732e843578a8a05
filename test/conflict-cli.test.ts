/**
 * `phasegate conflicts` and `phasegate retry` as a user runs them: child processes on the
 * real Redis and the DuckDB file a (now stopped) worker wrote the conflict log into.
 */
import { expect } from 'chai';
import { stageRows } from '../src/queues/commit/staging.ts';
import type { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { boxRows, PLAYER, PLAYER_TABLE } from './conflict-fixtures.ts';
import { openRuntimes, openTestRuntime, runCli, TEST_REDIS_URL, type TestEnv, until } from './helpers.ts';

describe('phasegate conflicts / retry (CLI)', function () {
  this.timeout(60_000);
  let env: TestEnv;

  const run = (args: string[]) =>
    runCli(args, { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: env.config.prefix, PHASEGATE_DATA_DIR: env.dir, PHASEGATE_LOG_LEVEL: 'error' });

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '600', PHASEGATE_COMMIT_GATHER_SECONDS: '60' });
  });
  after(async () => env.cleanup());

  it('refuses bad input with one line and exit 2', async () => {
    const noWhat = await run(['retry']);
    expect(noWhat.code).to.equal(2);
    expect(noWhat.stderr.trim()).to.equal('phasegate: retry: say what to retry: --deferred (failed dates: phasegate backfill --retry-failed <file>)');
    const badTable = await run(['retry', '--deferred', '--table', 'nba_raw.nope']);
    expect(badTable.code).to.equal(2);
    expect(badTable.stderr).to.match(/^phasegate: --table: "nba_raw\.nope" is not a table phasegate commits to/);
    const badSince = await run(['conflicts', '--since', 'last tuesday']);
    expect(badSince.code).to.equal(2);
    expect(badSince.stderr.trim()).to.equal('phasegate: --since: "last tuesday" is not a duration (7d, 24h, 90m) or an ISO date/time');
  });

  it('prints both monitoring queries over what a worker logged, and the tables’ state', async () => {
    const w = (await env.rt.warehouse()) as BigQueryRulesWarehouse;
    await w.ensureTable(PLAYER.table);
    await w.streamingInsert(PLAYER.table, boxRows('2024-06-01', 2, 1));
    await stageRows(env.rt, PLAYER, '2024-06-01', boxRows('2024-06-01', 3), undefined);
    await stageRows(env.rt, PLAYER, '2024-06-02', boxRows('2024-06-02', 3), undefined);
    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
    await until(
      async () => {
        const all = await env.rt.statuses.getMany(PLAYER.name, ['2024-06-01', '2024-06-02']);
        return all.every((s) => s?.status === 'committed') ? true : undefined;
      },
      'both committed',
      20_000,
    );
    await until(async () => {
      const rows = await w.query('SELECT count(*) AS n FROM nba_orchestration.streaming_conflict_log WHERE resolved').catch(() => [{ n: 0 }]);
      return Number(rows[0]?.n) === 1 ? true : undefined;
    }, 'the resolved row');
    // While a worker holds the DuckDB file, the command reads the log through the worker's read relay.
    const busy = await run(['conflicts']);
    expect(busy.code, busy.stderr).to.equal(0);
    expect(busy.stderr).to.equal('');
    expect(busy.stdout).to.match(/nba_raw\.nbac_player_boxscores\s+breaker closed · recent commits \d\/\d conflicted · conflicts met 1 · resolved 1/);
    expect(busy.stdout).to.include('daily streaming conflict summary since');
    // The worker stops (it held the DuckDB file); the CLI reads what it left.
    openRuntimes.delete(env.rt);
    await env.rt.close();

    const out = await run(['conflicts', '--json', '--since', '1h']);
    expect(out.code, out.stderr).to.equal(0);
    const report = JSON.parse(out.stdout);
    expect(report.logged).to.equal(true);
    expect(report.daily).to.have.length(1);
    expect(report.daily[0]).to.include({ processor_name: PLAYER.name, total_conflicts: 1, resolved: 1, unresolved: 0 });
    expect(report.unresolved).to.deep.equal([]);
    const table = report.tables.find((t: { table: string }) => t.table === PLAYER_TABLE);
    expect(table.conflicts).to.include({ met: 1, resolved: 1 });
    expect(table.breaker.state).to.equal('closed');

    const text = await run(['conflicts']);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.include('daily streaming conflict summary since');
    expect(text.stdout).to.include('unresolved conflicts requiring attention since');
    expect(text.stdout).to.match(/nba_raw\.nbac_player_boxscores\s+breaker closed/);

    const retry = await run(['retry', '--deferred']);
    expect(retry.code, retry.stderr).to.equal(0);
    expect(retry.stdout.trim()).to.equal('no deferred slices');

    const status = await run(['status']);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.include('streaming buffer and breakers:');
    expect(status.stdout).to.match(/nba_raw\.nbac_player_boxscores\s+breaker closed · recent commits \d\/\d conflicted · conflicts met 1 · resolved 1/);
  });
});
