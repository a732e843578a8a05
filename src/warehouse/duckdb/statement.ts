/**
 * One statement on a DuckDB connection in as few calls into DuckDB as the client allows. Each
 * call is a task on libuv's thread pool whose answer then waits its turn on the event loop: on
 * a process busy with jobs a call costs 1–2 ms of wall time whatever DuckDB does, and a group
 * commit is a chain of them. node-api's `run(sql, values)` makes three (extract the statements,
 * prepare, run), even for `values = []`; a statement with values here makes two (prepare, run)
 * and one without values makes one. Our statements are single statements built by sql.ts.
 */
// Before DuckDB's library loads: it sets how DuckDB's allocator returns memory (allocator.ts).
import './allocator.ts';
import {
  type DuckDBConnection,
  type DuckDBMaterializedResult,
  type DuckDBPreparedStatement,
  type DuckDBResult,
  DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';

export type StatementValues = DuckDBValue[] | Record<string, DuckDBValue>;
export type StatementTypes = DuckDBType[] | Record<string, DuckDBType | undefined>;

function given(values: StatementValues | undefined): values is StatementValues {
  return values !== undefined && (Array.isArray(values) ? values.length > 0 : Object.keys(values).length > 0);
}

async function withPrepared<T>(
  conn: DuckDBConnection,
  sql: string,
  values: StatementValues | undefined,
  types: StatementTypes | undefined,
  use: (prepared: DuckDBPreparedStatement) => Promise<T>,
): Promise<T> {
  const prepared = await conn.prepare(sql);
  try {
    if (given(values)) prepared.bind(values, types);
    return await use(prepared);
  } finally {
    prepared.destroySync();
  }
}

/** Runs `sql` with its values bound; the whole result is kept (for a write: `rowsChanged`). */
export function runStatement(conn: DuckDBConnection, sql: string, values?: StatementValues, types?: StatementTypes): Promise<DuckDBMaterializedResult> {
  return given(values) ? withPrepared(conn, sql, values, types, (p) => p.run()) : conn.run(sql);
}

/** Runs `sql` and reads its whole result. */
export async function readStatement(conn: DuckDBConnection, sql: string, values?: StatementValues, types?: StatementTypes): Promise<DuckDBResultReader> {
  const reader = new DuckDBResultReader(await runStatement(conn, sql, values, types));
  await reader.readAll();
  return reader;
}

/** Runs `sql` for its result a chunk at a time. */
export function streamStatement(conn: DuckDBConnection, sql: string, values?: StatementValues, types?: StatementTypes): Promise<DuckDBResult> {
  return withPrepared(conn, sql, values, types, (p) => p.stream());
}
