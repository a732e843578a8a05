/**
 * Rows read from the warehouse keep V8's fast properties however many columns they have
 * (src/warehouse/row-shape.ts): a row built one computed name at a time turns into a hash table
 * of its own past a dozen columns, five times the heap.
 */
import { setFlagsFromString } from 'node:v8';
import { expect } from 'chai';
import { decodeRows } from '../src/warehouse/bigquery/rows.ts';
import { resultRows, streamedRows } from '../src/warehouse/duckdb/values.ts';
import { withMemoryDuckDB } from './helpers.ts';

// V8's own test of an object's form; the flag only lets code compiled after it name the test.
setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
const collectGarbage = new Function('%CollectGarbage(null)') as () => void;

/** How many hidden classes the rows use, counted up to 100. */
function hiddenClasses(rows: readonly object[]): number {
  const seen: object[] = [];
  for (const row of rows) {
    if (!seen.some((s) => haveSameMap(s, row))) seen.push(row);
    if (seen.length >= 100) break;
  }
  return seen.length;
}

/**
 * 47 column names. Each test has names of its own: V8 adds a property along a hidden-class
 * transition an earlier object of the same names made, so an object built whole with the same
 * names would keep a row built one name at a time fast, and the test would prove nothing.
 */
const columns = (prefix: string) => Array.from({ length: 47 }, (_, i) => `${prefix}_${i}`);

describe('warehouse rows keep one fast shape', () => {
  it('the checks tell a row built one computed name at a time from one built whole', () => {
    const slow: Record<string, number> = {};
    for (const [i, c] of columns('slow').entries()) slow[c] = i;
    expect(hasFastProperties(slow)).to.equal(false);
    expect(hasFastProperties(Object.fromEntries(columns('whole').map((c, i) => [c, i])))).to.equal(true);
  });

  it("DuckDB: a 47-column result's rows have fast properties and a few hidden classes", () =>
    withMemoryDuckDB(async (conn) => {
      // NULLs in columns of every kind, as a raw table's lines have them.
      const select = columns('duck').map((c, i) =>
        i % 3 === 0
          ? `CASE WHEN r % 7 = 0 THEN NULL ELSE r * 1.5 END AS ${c}`
          : i % 3 === 1
            ? `CASE WHEN r % 11 = 0 THEN NULL ELSE 'v' || (r % 50) END AS ${c}`
            : `CASE WHEN r % 13 = 0 THEN NULL ELSE r END AS ${c}`,
      );
      const rows = resultRows(await conn.runAndReadAll(`SELECT ${select.join(', ')} FROM range(5000) AS t(r)`));
      expect(rows).to.have.length(5000);
      expect(rows[8]).to.include({ duck_0: 12, duck_1: 'v8', duck_2: 8 });
      expect(rows[7]?.duck_0).to.equal(null);
      expect(rows.filter((row) => !hasFastProperties(row))).to.have.length(0);
      // A column's first cell of another kind (a number after NULLs) moves its rows to a new
      // hidden class once; a few in all, not one per row.
      expect(hiddenClasses(rows)).to.be.at.most(8);
    }));

  it('DuckDB, a chunk at a time: the same rows as the whole result, over several chunks, in the same fast shape', () =>
    withMemoryDuckDB(async (conn) => {
      const select = columns('chunk').map((c, i) => (i % 2 === 0 ? `CASE WHEN r % 7 = 0 THEN NULL ELSE r END AS ${c}` : `'t' || (r % 97) AS ${c}`));
      const sql = `SELECT ${select.join(', ')}, DATE '2024-01-01' + CAST(r % 30 AS INTEGER) AS chunk_day FROM range(5000) AS t(r) ORDER BY r`;
      const streamed = await streamedRows(await conn.stream(sql));
      // 5,000 rows are three of DuckDB's chunks (2,048 rows each).
      expect(streamed).to.have.length(5000);
      expect(streamed).to.deep.equal(resultRows(await conn.runAndReadAll(sql)));
      expect(streamed[4999]).to.include({ chunk_0: 4999, chunk_1: `t${4999 % 97}`, chunk_day: '2024-01-20' });
      expect(streamed.filter((row) => !hasFastProperties(row))).to.have.length(0);
      expect(hiddenClasses(streamed)).to.be.at.most(8);
    }));

  it("DuckDB: a column's repeated texts are one string each in the rows, not one per row", () =>
    withMemoryDuckDB(async (conn) => {
      // 20,000 rows of 50 texts of 1 KB: 20 MB of strings if each row kept its own.
      const sql = `SELECT repeat('x', 1000) || (r % 50) AS shared_text, r AS n FROM range(20000) AS t(r)`;
      collectGarbage();
      const before = process.memoryUsage().heapUsed;
      const rows = await streamedRows(await conn.stream(sql));
      collectGarbage();
      const held = process.memoryUsage().heapUsed - before;
      expect(rows).to.have.length(20000);
      expect(rows[20049 % 20000]?.shared_text).to.equal(`${'x'.repeat(1000)}49`);
      expect(held, `${(held / 2 ** 20).toFixed(1)} MB held`).to.be.below(6 * 2 ** 20);
      const whole = resultRows(await conn.runAndReadAll(sql));
      expect(whole.map((r) => r.shared_text)).to.deep.equal(rows.map((r) => r.shared_text));
    }));

  it("BigQuery: a 47-column answer's rows have fast properties and a few hidden classes", () => {
    const fields = columns('bq').map((name, i) => ({ name, type: i % 2 === 0 ? 'INTEGER' : 'STRING' }));
    const answer = Array.from({ length: 1000 }, (_, r) => ({
      f: fields.map((_, i) => ({ v: (r + i) % 7 === 0 ? null : i % 2 === 0 ? String(r) : `s${r}` })),
    }));
    const rows = decodeRows(fields, answer);
    expect(rows[1]).to.include({ bq_0: 1, bq_1: 's1', bq_3: 's1' });
    expect(rows[0]?.bq_0).to.equal(null);
    expect(rows.filter((row) => !hasFastProperties(row))).to.have.length(0);
    expect(hiddenClasses(rows)).to.be.at.most(8);
  });
});
