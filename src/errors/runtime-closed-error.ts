import { PhasegateError } from './phasegate-error.ts';

/**
 * A runtime was closed while its workers were starting: the start stopped what it had made
 * after the close began (the close stopped the rest) and fails with this, whatever else the
 * close cut short on its way (a connection closed under a command, a warehouse closed under a
 * check).
 */
export class RuntimeClosedError extends PhasegateError {
  readonly retryable = false;

  constructor(options?: { cause?: unknown }) {
    super('the runtime was closed while its workers were starting', options);
  }
}
