/** Result rows read column by column are the same cells the per-value conversion gives, for every type the warehouse reads. */
import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'chai';
import { resultRows, toRow } from '../src/warehouse/duckdb/values.ts';

describe('DuckDB result rows', () => {
  it('read column by column, every type gives the cells of the per-value conversion (dates, timestamps, big integers, nested values, NULLs)', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      await conn.run("SET TimeZone = 'UTC'");
      const sql = `
        SELECT * FROM (VALUES
          (true, 1::INTEGER, 7::BIGINT, 9007199254740993::BIGINT, 1.5::DOUBLE, 12.25::DECIMAL(9,2), 'a''b', DATE '2024-01-02',
           TIMESTAMP '2024-01-02 03:04:05.123456', TIMESTAMPTZ '2024-01-02 03:04:05+00', [1, 2], {'k': 'v'}, 170141183460469231731687303715884105727::HUGEINT),
          (false, NULL, -3::BIGINT, NULL, NULL, NULL, NULL, DATE '2024-01-02', NULL, NULL, NULL, NULL, NULL),
          (NULL, 3::INTEGER, 0::BIGINT, 5::BIGINT, -0.25::DOUBLE, 0::DECIMAL(9,2), 'é', 'infinity'::DATE,
           TIMESTAMP '1969-12-31 23:59:59.5', NULL, [], NULL, 1::HUGEINT),
          (true, 4::INTEGER, 1::BIGINT, 1::BIGINT, 2::DOUBLE, 1::DECIMAL(9,2), '', NULL, NULL, NULL, NULL, NULL, NULL)
        ) AS t(b, i, small, big, d, dec, s, day, ts, tstz, list, st, huge)`;
      const byValue = (await conn.runAndReadAll(sql)).getRowObjects().map(toRow);
      const byColumn = resultRows(await conn.runAndReadAll(sql));
      expect(byColumn).to.deep.equal(byValue);
      expect(byColumn[0]).to.deep.equal({
        b: true,
        i: 1,
        small: 7,
        big: '9007199254740993',
        d: 1.5,
        dec: 12.25,
        s: "a'b",
        day: '2024-01-02',
        ts: '2024-01-02T03:04:05.123456Z',
        tstz: '2024-01-02T03:04:05.000Z',
        list: '[1,2]',
        st: '{"k":"v"}',
        huge: '170141183460469231731687303715884105727',
      });
      // A repeated date is the same text; NULL stays null.
      expect([0, 1, 3].map((i) => byColumn[i]?.day)).to.deep.equal(['2024-01-02', '2024-01-02', null]);
      expect(resultRows(await conn.runAndReadAll('SELECT 1 AS x WHERE false'))).to.deep.equal([]);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
