import { PhasegateError } from './phasegate-error.ts';

/**
 * A source refused a request for now (HTTP 429) and said for how long. The job is not failed
 * and uses no attempt: its queue's BullMQ rate limiter pauses for `retryAfterMs`.
 */
export class RateLimitedError extends PhasegateError {
  readonly retryable = true;

  constructor(
    message: string,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
