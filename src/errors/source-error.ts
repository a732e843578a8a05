import { PhasegateError } from './phasegate-error.ts';

/** A data source kept failing (5xx, network) for one request: the job is retried by BullMQ. */
export class SourceUnavailableError extends PhasegateError {
  readonly retryable = true;
}
