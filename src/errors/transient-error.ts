import { WarehouseError } from './warehouse-error.ts';

/** A backend or network fault (backendError, internalError, timeouts, resets). Retry. */
export class TransientError extends WarehouseError {
  readonly kind = 'transient';
  readonly retryable = true;
}
