import { PhasegateError } from './phasegate-error.ts';

/**
 * A process stopped while Redis did not answer: it let go of its active jobs instead of waiting
 * for them (they cannot finish without Redis). BullMQ gives them to the next worker once their
 * locks expire, and every job is idempotent, so nothing is lost; the process says so and exits 1.
 */
export class RedisGoneError extends PhasegateError {
  readonly retryable = true;
}
