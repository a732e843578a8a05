import { PhasegateError } from './phasegate-error.ts';

/**
 * The scraper service failed a request. Retryable when it gave up on server errors,
 * timeouts, refused connections or a 200 whose body is not JSON (a proxy's maintenance page:
 * the service may be back later); not when it answered 4xx, which the same request would
 * get again.
 */
export class ScraperServiceError extends PhasegateError {
  readonly retryable: boolean;
  /** The HTTP status of the last answer; undefined when none came (timeout, connection). */
  readonly status: number | undefined;
  readonly attempts: number;

  constructor(message: string, options: { retryable: boolean; status?: number | undefined; attempts: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.status = options.status;
    this.attempts = options.attempts;
  }
}
