/**
 * A table's operations stay within BigQuery's rate: a wave of reads of a table nobody has written
 * yet creates it once.
 */
import { expect } from 'chai';
import type { TableSpec } from '../src/processors/types.ts';
import { ensureTableOnce } from '../src/queues/commit/ensure-table.ts';
import type { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { PLAYER } from './conflict-fixtures.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

describe('table operations within BigQuery’s rate', function () {
  this.timeout(60_000);
  let env: TestEnv;

  before(async () => {
    env = await openTestRuntime();
  });
  after(async () => env.cleanup());

  it('a table nobody wrote, read by a wave of jobs at once, is created by one DDL; a failed creation is tried again', async () => {
    const w = (await env.rt.warehouse()) as BigQueryRulesWarehouse;
    const spec: TableSpec = { ...PLAYER.table, table: 'wave_read_input' };
    // Twelve phase jobs' reads of the same missing input table, at once.
    await Promise.all(Array.from({ length: 12 }, () => ensureTableOnce(env.rt, spec)));
    const record = w.record().tables[`${spec.dataset}.${spec.table}`];
    expect(record?.tableOps, 'DDL statements').to.equal(1);
    expect(record?.rejected.rateLimited).to.equal(0);
  });
});
