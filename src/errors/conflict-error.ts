import { WarehouseError } from './warehouse-error.ts';

/**
 * The statement would touch rows still in the streaming buffer (written by some other,
 * streaming writer). Retry once the buffer has flushed, typically 30 min, rarely 90.
 */
export class ConflictError extends WarehouseError {
  readonly kind = 'conflict';
  readonly retryable = true;
}
