/** Result rows read column by column are the same cells the per-value conversion gives, for every type the warehouse reads. */
import { expect } from 'chai';
import { resultRows, streamedRows, toRow } from '../src/warehouse/duckdb/values.ts';
import { withMemoryDuckDB } from './helpers.ts';

describe('DuckDB result rows', () => {
  it('read column by column, every type gives the cells of the per-value conversion (dates, timestamps, big integers, nested values, NULLs)', () =>
    withMemoryDuckDB(async (conn) => {
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
      expect(await streamedRows(await conn.stream(sql))).to.deep.equal(byValue);
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
      expect(await streamedRows(await conn.stream('SELECT 1 AS x WHERE false'))).to.deep.equal([]);
    }));

  it('streamed from vectors over several chunks, cells equal the per-value conversion: integers at the edges of exact, texts in place and behind a pointer, NULLs anywhere', () =>
    withMemoryDuckDB(async (conn) => {
      await conn.run("SET TimeZone = 'UTC'");
      const edges = [
        '0',
        '1',
        '-1',
        '4294967295',
        '4294967296',
        '-4294967296',
        '9007199254740991',
        '-9007199254740991',
        '9007199254740992',
        '-9007199254740992',
        '9223372036854775807',
        '-9223372036854775808',
      ];
      // 5,000 rows: three chunks of DuckDB's 2,048; every column NULL on its own rhythm.
      const sql = `
      SELECT
        CASE WHEN i % 7 = 3 THEN NULL ELSE ([${edges.join(', ')}]::BIGINT[])[1 + i % ${edges.length}] END AS big,
        CASE WHEN i % 5 = 0 THEN NULL ELSE i::INTEGER - 2500 END AS int,
        CASE WHEN i % 11 = 1 THEN NULL ELSE (i::SMALLINT % 300)::SMALLINT END AS small,
        CASE WHEN i % 13 = 2 THEN NULL ELSE i / 7.0 END AS dbl,
        CASE WHEN i % 9 = 4 THEN NULL ELSE (i / 3.0)::FLOAT END AS flt,
        CASE WHEN i % 3 = 0 THEN NULL ELSE i % 2 = 0 END AS flag,
        CASE WHEN i % 17 = 5 THEN NULL ELSE repeat('x', i % 15) END AS short_or_long,
        CASE WHEN i % 19 = 6 THEN NULL ELSE 'Nikola Jokić ' || (i % 40)::VARCHAR END AS name,
        CASE WHEN i % 4 = 1 THEN NULL ELSE DATE '2023-10-24' + (i % 200)::INTEGER END AS day,
        CASE WHEN i % 6 = 5 THEN NULL WHEN i % 500 = 7 THEN 'infinity'::TIMESTAMP WHEN i % 500 = 8 THEN '-infinity'::TIMESTAMP
             ELSE TIMESTAMP '2026-12-01 10:00:00.000001' + to_microseconds(i % 50) END AS ts,
        CASE WHEN i % 8 = 0 THEN NULL ELSE 'infinity'::DATE END AS far
      FROM range(5000) r(i)`;
      const byValue = (await conn.runAndReadAll(sql)).getRowObjects().map(toRow);
      const streamed = await streamedRows(await conn.stream(sql));
      expect(streamed).to.have.length(5000);
      expect(streamed).to.deep.equal(byValue);
      // Exact as numbers up to 2^53 − 1, as text past it.
      expect(streamed.slice(0, edges.length).map((r) => r.big)).to.deep.equal([
        0,
        1,
        -1,
        null,
        4294967296,
        -4294967296,
        9007199254740991,
        -9007199254740991,
        '9007199254740992',
        '-9007199254740992',
        null,
        '-9223372036854775808',
      ]);
      expect(streamed[22]?.big).to.equal('9223372036854775807');
      expect(streamed[13]?.short_or_long).to.equal('xxxxxxxxxxxxx');
      expect(streamed[2]?.name).to.equal('Nikola Jokić 2');
    }));
});
