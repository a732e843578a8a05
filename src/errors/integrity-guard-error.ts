import { PhasegateError } from './phasegate-error.ts';

/**
 * A guarded commit found, inside its own statement, that its batch would shrink or move rows the
 * warehouse holds, and wrote nothing. Not a failure of the batch: the table gate reads the
 * holdings, judges each slice (src/queues/commit/integrity.ts) and commits the rest.
 */
export class IntegrityGuardError extends PhasegateError {
  readonly retryable = false;

  constructor(table: string, options?: { cause?: unknown }) {
    super(`${table}: the batch would shrink or move committed rows; nothing was written`, options);
  }
}
