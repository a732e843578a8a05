import { PhasegateError } from './phasegate-error.ts';

/** The four ways a warehouse operation can fail; see `classify.ts` for the table. */
export type WarehouseErrorKind = 'conflict' | 'busy' | 'transient' | 'permanent';

export interface WarehouseErrorOptions {
  cause?: unknown;
  /** BigQuery's `errors[].reason`, e.g. `resourcesExceeded`. */
  reason?: string | undefined;
  /** `dataset.table` the operation wrote, when known. */
  table?: string | undefined;
}

/** A warehouse operation failed; the subclass says how the commit path should react. */
export abstract class WarehouseError extends PhasegateError {
  abstract readonly kind: WarehouseErrorKind;
  readonly reason: string | undefined;
  readonly table: string | undefined;

  constructor(message: string, options: WarehouseErrorOptions = {}) {
    super(message, options);
    this.reason = options.reason;
    this.table = options.table;
  }
}
