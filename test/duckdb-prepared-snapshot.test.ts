/**
 * A read prepared on one connection while another commits must read what was committed, never
 * values packed into the ranges of the table statistics at prepare time (DuckDB keeps a
 * parameterless prepared plan made with them: 'auto_retry' read back as 'j', 300 as 44). The
 * commit is placed deterministically between the prepare and the run.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'chai';
import { readAllInOneSnapshot, runReadOnlyQuery } from '../src/warehouse/duckdb/read-only-query.ts';
import { toRow } from '../src/warehouse/duckdb/values.ts';

const SQL = 'SELECT k, n, m FROM t ORDER BY k';
const BEFORE = { k: 1, n: 1, m: null };
const LATER = [
  { k: 2, n: 300, m: 'auto_retry' },
  { k: 3, n: 123456789, m: 'streaming_buffer' },
];

/** `reader`, with `commit` run on the writer right after each statement it prepares. */
function commitAfterPrepare(reader: DuckDBConnection, commit: () => Promise<unknown>): void {
  const extract = reader.extractStatements.bind(reader);
  reader.extractStatements = async (sql: string) => {
    const extracted = await extract(sql);
    const prepare = extracted.prepare.bind(extracted);
    extracted.prepare = async (index: number) => {
      const prepared = await prepare(index);
      await commit();
      return prepared;
    };
    return extracted;
  };
}

describe('DuckDB reads prepared while another connection commits', () => {
  let instance: DuckDBInstance;
  let writer: DuckDBConnection;
  let reader: DuckDBConnection;

  beforeEach(async () => {
    instance = await DuckDBInstance.create(':memory:');
    writer = await instance.connect();
    reader = await instance.connect();
    await writer.run('CREATE TABLE t (k INTEGER, n BIGINT, m VARCHAR)');
    await writer.run('INSERT INTO t VALUES (1, 1, NULL)');
    let committed = false;
    commitAfterPrepare(reader, async () => {
      if (committed) return;
      committed = true;
      await writer.run(`INSERT INTO t VALUES ${LATER.map((r) => `(${r.k}, ${r.n}, '${r.m}')`).join(', ')}`);
    });
  });
  afterEach(() => {
    reader.closeSync();
    writer.closeSync();
    instance.closeSync();
  });

  const expectCommitted = (rows: Record<string, unknown>[]) => {
    expect(rows[0]).to.deep.equal(BEFORE);
    for (const row of rows.slice(1)) expect(LATER).to.deep.include(row);
  };

  it('a query (no parameters) reads committed values only', async () => {
    expectCommitted((await runReadOnlyQuery(reader, SQL)).rows);
  });

  it('a query bounded in rows reads committed values only', async () => {
    expectCommitted((await runReadOnlyQuery(reader, SQL, {}, 10)).rows);
  });

  it('a read with an empty parameter list reads committed values only', async () => {
    expectCommitted((await readAllInOneSnapshot(reader, SQL, [])).getRowObjects().map(toRow));
  });
});
