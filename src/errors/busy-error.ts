import { WarehouseError } from './warehouse-error.ts';

/**
 * The table is busy: too many DML statements outstanding, concurrent update could not be
 * serialized, or a table-operations rate limit. Retry after a backoff; not a failure.
 */
export class BusyError extends WarehouseError {
  readonly kind = 'busy';
  readonly retryable = true;
}
