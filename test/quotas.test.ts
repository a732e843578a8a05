/**
 * BigQuery's quotas as BigQuery counts them (src/limits/bigquery.ts): DML does not
 * spend a table's daily modifications, so the daily budget never stops group commits; what
 * does apply to DML — its rate per table per 10 s and the partitions one statement may
 * modify — is enforced by the rules layer with BigQuery's own texts and bounded by config.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { BusyError } from '../src/errors/busy-error.ts';
import { BIGQUERY_TEXTS, busyCause } from '../src/errors/classify.ts';
import { ConfigError } from '../src/errors/config-error.ts';
import { PermanentError } from '../src/errors/permanent-error.ts';
import { BIGQUERY_LIMITS, formatLimit } from '../src/limits/bigquery.ts';
import { addDays } from '../src/processors/precompute/lookback.ts';
import type { TableSpec } from '../src/processors/types.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { quotaLine, tableQuota } from '../src/queues/commit/table-quota.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { openTestRuntime } from './helpers.ts';

const TEAM_TABLE = 'nba_raw.nbac_team_boxscore';

describe('quotas: the daily budget counts table modifications, not DML', function () {
  this.timeout(120_000);

  it('a table commits more group commits in a UTC day than its daily budget (DML spends none of it)', async () => {
    // A budget of 1 and one date per commit: the original code failed the 2nd commit of the day for good.
    const env = await openTestRuntime({ PHASEGATE_TABLE_DAILY_BUDGET: '1', PHASEGATE_COMMIT_MAX_SLICES: '1', PHASEGATE_COMMIT_GATHER_SECONDS: '0' });
    try {
      await env.rt.startWorkers({ phases: [1, 2], commit: true, concurrency: 2 });
      const dates = (await env.rt.source.gameDates('2023-11-01', '2023-11-30')).slice(0, 3);
      const record = await startBackfill(env.rt, {
        processors: ['nbac_team_boxscore_scraper', 'nbac_team_boxscore'].map((p) => env.rt.registry.get(p)),
        dates,
      });
      const outcome = await waitForBackfill(env.rt, record, { bars: false, pollMs: 100, timeoutMs: 90_000 });
      expect(outcome.progress.perProcessor.nbac_team_boxscore?.committed).to.equal(dates.length);
      expect(outcome.progress.perProcessor.nbac_team_boxscore?.failed).to.equal(0);
      const quota = await tableQuota(env.rt, TEAM_TABLE);
      expect(quota.dmlToday).to.be.at.least(dates.length);
      expect(quota.modificationsToday).to.equal(0);
      expect(quotaLine(quota)).to.equal(`DML today ${quota.dmlToday} (no daily cap) · table modifications today 0/1`);
    } finally {
      await env.cleanup();
    }
  });

  it('a load (a table modification) spends the budget; a DML statement only counts for display', async () => {
    const env = await openTestRuntime();
    try {
      // What counts as a modification is the warehouse's to say (the rules layer: BigQuery's rules).
      const counts = (await env.rt.warehouse()).capabilities.countsAsDailyModification;
      await env.rt.gate.countTableOp(TEAM_TABLE, counts('dml'));
      await env.rt.gate.countTableOp(TEAM_TABLE, counts('load'));
      await env.rt.gate.countTableOp(TEAM_TABLE, counts('load'));
      expect(await env.rt.gate.tableOpsToday(TEAM_TABLE)).to.equal(1);
      expect(await env.rt.gate.tableModificationsToday(TEAM_TABLE)).to.equal(2);
      expect((await tableQuota(env.rt, TEAM_TABLE)).dailyBudget).to.equal(BIGQUERY_LIMITS.tableModificationsPerDay);
    } finally {
      await env.cleanup();
    }
  });
});

describe('quotas: config refuses what BigQuery would refuse', () => {
  const base = { PHASEGATE_DATA_DIR: tmpdir() };
  const limit = BIGQUERY_LIMITS.partitionsModifiedPerJob;

  it(`PHASEGATE_COMMIT_MAX_SLICES above ${formatLimit(limit)} partitions per job is refused; exactly that many is accepted`, () => {
    expect(loadConfig({ ...base, PHASEGATE_COMMIT_MAX_SLICES: String(limit) }).table.commitMaxSlices).to.equal(limit);
    expect(() => loadConfig({ ...base, PHASEGATE_COMMIT_MAX_SLICES: String(limit + 1) }))
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(new RegExp(`^PHASEGATE_COMMIT_MAX_SLICES: at most ${formatLimit(limit)}: BigQuery lets one job modify at most that many partitions`));
  });

  it('a per-table commitMaxSlices above it is refused too', () => {
    const over = JSON.stringify({ [TEAM_TABLE]: { commitMaxSlices: limit + 1 } });
    expect(() => loadConfig({ ...base, PHASEGATE_TABLE_LIMITS: over })).to.throw(ConfigError, /PHASEGATE_TABLE_LIMITS/);
  });

  it("the gate's rate window cannot be shorter than BigQuery's", () => {
    expect(() => loadConfig({ ...base, PHASEGATE_TABLE_OPS_WINDOW_SECONDS: '5' })).to.throw(ConfigError, /PHASEGATE_TABLE_OPS_WINDOW_SECONDS/);
  });
});

describe('quotas: the rules layer enforces what applies to DML, with BigQuery’s texts', () => {
  const spec: TableSpec = {
    dataset: 'nba_raw',
    table: 'quota_t',
    columns: [
      { name: 'k', type: 'STRING', nullable: false },
      { name: 'd', type: 'DATE', nullable: false },
    ],
    primaryKey: ['k'],
    sliceColumn: 'd',
  };
  let dir: string;
  let store: LocalObjectStore;
  let inner: DuckDBWarehouse;
  let seq = 0;
  const day = (i: number) => addDays('2024-01-01', i);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `phasegate-quota-${randomUUID()}-`));
    store = new LocalObjectStore(dir);
    inner = await DuckDBWarehouse.open({ path: ':memory:', store });
    await inner.ensureTable(spec);
  });
  afterEach(async () => {
    await inner.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function commit(wh: BigQueryRulesWarehouse, slices: string[]) {
    const key = `staging/q/${++seq}.ndjson`;
    await store.put(key, slices.map((d) => JSON.stringify({ k: `k-${d}`, d })).join('\n'));
    return wh.commit({ batchId: `q-${seq}`, table: spec, slices, objects: [key] });
  }

  it(`the ${BIGQUERY_LIMITS.dmlStatementsPerTableWindow.statements + 1}th DML statement in a window fails as BusyError (rate limit) with BigQuery's text`, async () => {
    // 10 s at 10× = 1 s; no latency; table updates unbounded so only the DML rate can refuse.
    const wh = new BigQueryRulesWarehouse(inner, {
      timeScale: 10,
      tableOpsPerWindow: 1000,
      dmlLatency: { baseSeconds: 0, perThousandRowsSeconds: 0, jitter: 0 },
    });
    const n = BIGQUERY_LIMITS.dmlStatementsPerTableWindow.statements;
    for (let i = 0; i < n; i++) await commit(wh, [day(i)]);
    const err = await commit(wh, [day(n)]).then(
      () => undefined,
      (e: unknown) => e as BusyError,
    );
    expect(err).to.be.instanceOf(BusyError);
    expect(err?.message).to.equal(BIGQUERY_TEXTS.dmlRate(`phasegate-local:nba_raw.quota_t`));
    expect(err?.reason).to.equal('rateLimitExceeded');
    expect(busyCause(err as BusyError)).to.equal('rateLimit');
    expect(wh.record().tables['nba_raw.quota_t']?.rejected.dmlRate).to.equal(1);
  });

  it('a statement modifying more partitions than one job may fails as PermanentError, before it runs', async () => {
    const wh = new BigQueryRulesWarehouse(inner, { timeScale: 1000, maxPartitionsPerJob: 3, tableOpsPerWindow: 1000 });
    const err = await commit(wh, [day(0), day(1), day(2), day(3)]).then(
      () => undefined,
      (e: unknown) => e as PermanentError,
    );
    expect(err).to.be.instanceOf(PermanentError);
    expect(err?.message).to.equal(BIGQUERY_TEXTS.tooManyPartitions(4));
    expect(await wh.presentSlices(spec, [day(0)])).to.deep.equal([]);
    // Three partitions, or two slices plus the slice a move takes rows out of, are fine.
    await commit(wh, [day(0), day(1), day(2)]);
    const key = `staging/q/${++seq}.ndjson`;
    await store.put(key, JSON.stringify({ k: 'moved', d: day(4) }));
    await wh.commit({ batchId: 'm', table: spec, slices: [day(4), day(5)], objects: [key], moveFrom: [day(0)], moveUnits: [] });
    expect(wh.record().tables['nba_raw.quota_t']?.rejected.partitions).to.equal(1);
  });
});
