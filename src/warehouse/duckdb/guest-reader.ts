/**
 * Other processes' queries, run by the process holding the DuckDB file: the read relay's side
 * in DuckDB (see `DuckDBWarehouse.openGuestReader`, which opens the connection and shuts
 * external access). Each query is `phasegate sql`'s, bounded in rows and stopped at its deadline.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../../errors/input-error.ts';
import type { WarehouseError } from '../../errors/warehouse-error.ts';
import type { QueryParams } from '../types.ts';
import type { Mutex } from './mutex.ts';
import { type ReadOnlyResult, runReadOnlyQuery } from './read-only-query.ts';

export interface GuestReader {
  /**
   * One read-only statement, behind every gate of `query()`: at most `maxRows` rows are read
   * (`more` says the result had more), and the statement is stopped at `deadline` (epoch ms).
   */
  query(sql: string, params: QueryParams, bounds: { maxRows: number; deadline: number }): Promise<ReadOnlyResult>;
  /** Stops the statement running now, if any (it fails with DuckDB's "Interrupted"). */
  interrupt(): void;
}

/**
 * A reader on the connection `connect` gives (the database's current one: it may have been
 * reopened since the last query), one statement at a time under `lock`; `assertOpen` throws
 * once the warehouse closed, `failed` says DuckDB's errors in the warehouse's terms.
 */
export function guestReader(
  connect: () => Promise<DuckDBConnection>,
  lock: Mutex,
  assertOpen: () => void,
  failed: (err: unknown) => WarehouseError,
): GuestReader {
  let current: DuckDBConnection | undefined;
  return {
    query: async (sql, params, bounds) => {
      assertOpen();
      // Before the lock: opening the connection may wait for the writer's.
      const conn = await connect();
      current = conn;
      return lock.run(async () => {
        // DuckDB stops a running statement when its connection is interrupted.
        const timer = setTimeout(() => conn.interrupt(), Math.max(0, bounds.deadline - Date.now()));
        try {
          return await runReadOnlyQuery(conn, sql, params, bounds.maxRows);
        } catch (err) {
          if (err instanceof InputError) throw err;
          throw failed(err);
        } finally {
          clearTimeout(timer);
        }
      });
    },
    interrupt: () => current?.interrupt(),
  };
}
