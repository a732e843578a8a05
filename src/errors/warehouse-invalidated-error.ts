import { TransientError } from './transient-error.ts';

/**
 * DuckDB invalidated its database after a fatal error (a checkpoint that could not write the
 * file, on a full disk or out of memory) and answers every later statement with the same
 * error until the file is opened again (src/warehouse/duckdb/database.ts does so). Neither the
 * statement nor its input is at fault: it is tried again, like any transient error.
 */
export class WarehouseInvalidatedError extends TransientError {
  constructor(message: string, options: { cause?: unknown; table?: string | undefined } = {}) {
    super(message, { reason: 'invalidated', ...options });
  }
}
