import { TransientError } from './transient-error.ts';

/**
 * DuckDB invalidated its database after a fatal error (a checkpoint that could not write the
 * file, on a full disk or out of memory) and answers every later statement with the same
 * error until the file is opened again (src/warehouse/duckdb/database.ts does so). Neither the
 * statement nor its input is at fault: it is tried again, like any transient error. The
 * statement may have landed all the same — a checkpoint that fails after a commit fails after
 * DuckDB wrote the commit to its log, which the reopened file replays — so only an idempotent
 * statement may be tried again, as every commit is (a MERGE replacing its slices, an append
 * that skips the keys present; test/duckdb-fatal.test.ts).
 */
export class WarehouseInvalidatedError extends TransientError {
  constructor(message: string, options: { cause?: unknown; table?: string | undefined } = {}) {
    super(message, { reason: 'invalidated', ...options });
  }
}
