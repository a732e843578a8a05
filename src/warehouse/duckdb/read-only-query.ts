/**
 * A person's query on a DuckDB connection, behind every gate `query()` has: the statement must
 * read (`checkReadOnlySql`), be exactly one statement, plan as SELECT (or EXPLAIN), and run in
 * a read-only transaction that is rolled back. What `phasegate sql` runs directly, and what
 * the read relay runs for other processes (bounded by rows there).
 */
// Before DuckDB's library loads: it sets how DuckDB's allocator returns memory (allocator.ts).
import './allocator.ts';
import { type DuckDBConnection, type DuckDBResultReader, StatementType } from '@duckdb/node-api';
import { InputError } from '../../errors/input-error.ts';
import type { Row } from '../../processors/types.ts';
import type { QueryParams } from '../types.ts';
import { checkReadOnlySql } from './read-only.ts';
import { BEGIN_READ_ONLY_SQL, ROLLBACK_SQL } from './sql.ts';
import { readStatement, type StatementTypes, type StatementValues, streamStatement } from './statement.ts';
import { bindParams, resultRows, streamedRows, toRow } from './values.ts';

export interface ReadOnlyResult {
  rows: Row[];
  /** The result had more rows than `maxRows` (only the first `maxRows` were read). */
  more: boolean;
}

/**
 * Runs `sql` on `conn`, which the caller holds alone. With `maxRows` the result is streamed and
 * read only up to one row past the bound, so a huge result is never materialised in Node.
 */
export async function runReadOnlyQuery(conn: DuckDBConnection, sql: string, params: QueryParams = {}, maxRows?: number): Promise<ReadOnlyResult> {
  try {
    return await runChecked(conn, sql, params, maxRows);
  } catch (err) {
    // DuckDB's refusal of a file, URL or extension (external access is off) is the fence
    // holding, not a fault of the warehouse: bad input, like a write — one line, without the
    // `LINE 1: …` pointer DuckDB adds under it.
    const message = err instanceof Error ? err.message : '';
    if (REFUSED.test(message)) throw new InputError(message.split('\n')[0] ?? message, { cause: err });
    throw err;
  }
}

const REFUSED = /^Permission Error:/;

async function runChecked(conn: DuckDBConnection, sql: string, params: QueryParams, maxRows: number | undefined): Promise<ReadOnlyResult> {
  checkReadOnlySql(sql);
  // Prepared and run in ONE transaction, else a commit in between can read back wrong: see
  // `readAllInOneSnapshot`.
  await conn.run(BEGIN_READ_ONLY_SQL);
  try {
    const extracted = await conn.extractStatements(sql);
    if (extracted.count !== 1) throw new InputError(`query must be exactly one statement, got ${extracted.count}`);
    const prepared = await extracted.prepare(0);
    try {
      // DESCRIBE/SHOW/SUMMARIZE/PRAGMA table_info plan as SELECT; anything else (a CTE in
      // front of a DELETE, say) is refused here, and the read-only transaction backs it up.
      if (prepared.statementType !== StatementType.SELECT && prepared.statementType !== StatementType.EXPLAIN) {
        throw new InputError('query accepts read-only statements only (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)');
      }
      if (Object.keys(params).length > 0) {
        const bound = bindParams(params);
        prepared.bind(bound.values, bound.types);
      }
      if (maxRows === undefined) return { rows: resultRows(await prepared.runAndReadAll()), more: false };
      const read = (await prepared.streamAndReadUntil(maxRows + 1)).getRowObjects();
      return { rows: read.slice(0, maxRows).map(toRow), more: read.length > maxRows };
    } finally {
      prepared.destroySync();
    }
  } finally {
    await conn.run(ROLLBACK_SQL);
  }
}

/**
 * `sql` with its values, read whole, in one read-only transaction: the statement is prepared
 * and run on one snapshot, as a statement without values is.
 *
 * Why: given values, the statement is prepared, then run (statement.ts) — in autocommit, two
 * transactions. DuckDB 1.5 (node-api 1.5.6-r.1) runs a statement prepared
 * without parameters on the plan made at prepare time, optimised with the table statistics of
 * that moment: compressed materialisation packs an ORDER BY's columns into the value ranges
 * the statistics allow, and a filter they rule out becomes an empty result. A commit on
 * another connection landing between prepare and run then reads back wrong — 'auto_retry' as
 * 'j', 300 as 44 — or its rows go missing (duckdb/duckdb#23704; fixed on DuckDB's main branch
 * by duckdb/duckdb#24696, which stops prepared plans from using statistics). Inside one
 * transaction every row the run can see was committed before the prepare read the
 * statistics, which only widen, so the plan covers it. Statements with parameters are
 * re-planned when run in 1.5, but that is not relied on.
 */
export async function readAllInOneSnapshot(conn: DuckDBConnection, sql: string, values?: StatementValues, types?: StatementTypes): Promise<DuckDBResultReader> {
  await conn.run(BEGIN_READ_ONLY_SQL);
  try {
    return await readStatement(conn, sql, values, types);
  } finally {
    await conn.run(ROLLBACK_SQL);
  }
}

/**
 * A read's rows in one read-only transaction, as `readAllInOneSnapshot` reads them (see there),
 * made a chunk at a time as DuckDB produces them (`streamedRows`): the warehouse's reads of
 * slices and its reports.
 */
export async function readRowsInOneSnapshot(conn: DuckDBConnection, sql: string, values?: StatementValues, types?: StatementTypes): Promise<Row[]> {
  await conn.run(BEGIN_READ_ONLY_SQL);
  try {
    return await streamedRows(await streamStatement(conn, sql, values, types));
  } finally {
    await conn.run(ROLLBACK_SQL);
  }
}
