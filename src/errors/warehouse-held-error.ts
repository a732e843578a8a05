import { TransientError } from './transient-error.ts';

/**
 * The DuckDB file is held by another process (DuckDB lets one process open it) and that
 * process did not answer the read through its read relay: it serves none, or not in time.
 * Retryable: the holder may finish and let go of the file, or answer the next time.
 */
export class WarehouseHeldError extends TransientError {
  /** The holder's process id, when DuckDB's lock error or the relay named it. */
  readonly pid: number | undefined;

  constructor(message: string, options: { pid?: number | undefined; cause?: unknown } = {}) {
    super(message, { reason: 'held', cause: options.cause });
    this.pid = options.pid;
  }
}
