import { WarehouseError } from './warehouse-error.ts';

/** Invalid query, schema mismatch, not found, bad input: the same request fails again. */
export class PermanentError extends WarehouseError {
  readonly kind = 'permanent';
  readonly retryable = false;
}
