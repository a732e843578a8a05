/**
 * The source-coverage SQL against BigQuery's REST API as recorded by nock: the per-game read
 * (one parameterized query, pruned to the slices) and the game-level view, created with
 * `tables.insert` only when missing and patched only when its query changed.
 */
import { expect } from 'chai';
import nock from 'nock';
import { COVERAGE_VIEW } from '../src/coverage/audit.ts';
import type { TableSpec } from '../src/processors/types.ts';
import { sourceCoverageLog } from '../src/tables/source-coverage-log.ts';
import type { BigQueryWarehouse } from '../src/warehouse/bigquery/bigquery-warehouse.ts';
import { BIGQUERY_DIALECT } from '../src/warehouse/bigquery/dialect.ts';
import { coverageViewSql } from '../src/warehouse/reports/report-sql.ts';
import { API, BASE, type Body, PROJECT, testWarehouse, useNock } from './bigquery-nock.ts';

const VIEW_PATH = `${BASE}/datasets/nba_orchestration/tables/${COVERAGE_VIEW}`;

const analytics: TableSpec = {
  dataset: 'nba_analytics',
  table: 'player_game_summary',
  columns: [
    { name: 'game_id', type: 'STRING', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'primary_source', type: 'STRING', nullable: false },
    { name: 'data_quality_tier', type: 'STRING', nullable: false },
  ],
  primaryKey: ['game_id', 'player_id'],
  sliceColumn: 'game_date',
  unitColumn: 'game_id',
};

const notFound = { error: { code: 404, message: 'Not found: Table', errors: [{ reason: 'notFound', message: 'Not found: Table' }] } };

describe('source-coverage SQL on BigQuery (nock)', () => {
  const creds = useNock();
  let warehouse: BigQueryWarehouse;

  beforeEach(() => {
    warehouse = testWarehouse(creds);
  });

  it('gameHoldings: one query per table, rows, tiers and sources per game, pruned to @slices', async () => {
    const jobs: Body[] = [];
    nock(API)
      .post(`${BASE}/jobs`, (b: Body) => jobs.push(b) > 0)
      .query(true)
      .reply(200, () => {
        const b = jobs.at(-1) as Body;
        return { jobReference: { ...b.jobReference, location: 'US' }, configuration: b.configuration, status: { state: 'DONE' }, statistics: { query: {} } };
      })
      .get((path) => path.startsWith(`${BASE}/queries/`))
      .query(true)
      .reply(200, {
        jobComplete: true,
        schema: {
          fields: ['slice', 'unit', 'n', 'tiers', 'sources'].map((name) => ({ name, type: name === 'n' ? 'INTEGER' : 'STRING' })),
        },
        rows: [
          { f: [{ v: '2025-04-15' }, { v: '0052400101' }, { v: '24' }, { v: 'silver' }, { v: 'bdl' }] },
          { f: [{ v: '2025-04-15' }, { v: '0052400121' }, { v: '22' }, { v: 'gold,silver' }, { v: 'nbac' }] },
        ],
      });

    const got = await warehouse.reports.gameHoldings(analytics, ['2025-04-15']);

    expect(got).to.deep.equal([
      { slice: '2025-04-15', unit: '0052400101', rows: 24, tiers: ['silver'], sources: ['bdl'] },
      { slice: '2025-04-15', unit: '0052400121', rows: 22, tiers: ['gold', 'silver'], sources: ['nbac'] },
    ]);
    const q = (jobs[0] as Body).configuration.query;
    expect(q.query).to.include("STRING_AGG(DISTINCT `data_quality_tier`, ',' ORDER BY `data_quality_tier`)");
    expect(q.query).to.include('FROM `phasegate-test.nba_analytics.player_game_summary` WHERE `game_date` IN UNNEST(@slices)');
    expect(q.queryParameters).to.deep.equal([
      { name: 'slices', parameterType: { type: 'ARRAY', arrayType: { type: 'DATE' } }, parameterValue: { arrayValues: [{ value: '2025-04-15' }] } },
    ]);
    expect(await warehouse.reports.gameHoldings(analytics, [])).to.deep.equal([]);
  });

  it('ensureCoverageView creates the view with tables.insert when it is missing', async () => {
    const inserted: Body[] = [];
    nock(API)
      .get(VIEW_PATH)
      .query(true)
      .reply(404, notFound)
      .post(`${BASE}/datasets/nba_orchestration/tables`, (b: Body) => inserted.push(b) > 0)
      .query(true)
      .reply(200, () => ({ ...inserted.at(-1), type: 'VIEW' }));

    await warehouse.reports.ensureCoverageView(sourceCoverageLog.table, COVERAGE_VIEW);

    const body = inserted[0] as Body;
    expect(body.tableReference).to.deep.equal({ projectId: PROJECT, datasetId: 'nba_orchestration', tableId: COVERAGE_VIEW });
    expect(body.view.useLegacySql).to.equal(false);
    expect(body.view.query).to.include('FROM `phasegate-test.nba_orchestration.source_coverage_log` WHERE event_type IN (');
    expect(body.view.query).to.include('QUALIFY ROW_NUMBER() OVER (PARTITION BY game_id, table_name ORDER BY event_time DESC, event_id DESC) = 1');
    expect(body.schema, 'a view takes its schema from its query').to.equal(undefined);
  });

  it('ensureCoverageView leaves a view with the same query alone, and patches one whose query changed', async () => {
    const query = coverageViewSql(BIGQUERY_DIALECT, `\`${PROJECT}.nba_orchestration.source_coverage_log\``);
    nock(API)
      .get(VIEW_PATH)
      .query(true)
      .reply(200, { tableReference: { tableId: COVERAGE_VIEW }, type: 'VIEW', view: { query, useLegacySql: false } });
    await warehouse.reports.ensureCoverageView(sourceCoverageLog.table, COVERAGE_VIEW);

    const patched: Body[] = [];
    nock(API)
      .get(VIEW_PATH)
      .query(true)
      .reply(200, { tableReference: { tableId: COVERAGE_VIEW }, type: 'VIEW', view: { query: 'SELECT 1 AS an_older_definition', useLegacySql: false } })
      .patch(VIEW_PATH, (b: Body) => patched.push(b) > 0)
      .query(true)
      .reply(200, () => ({ tableReference: { tableId: COVERAGE_VIEW }, type: 'VIEW', ...patched.at(-1) }));
    await warehouse.reports.ensureCoverageView(sourceCoverageLog.table, COVERAGE_VIEW);
    expect(patched[0]?.view).to.deep.equal({ query, useLegacySql: false });
  });
});
