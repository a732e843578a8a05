import { PhasegateError } from './phasegate-error.ts';

/** An invalid configuration value; the message names the variable and what is wrong. */
export class ConfigError extends PhasegateError {
  readonly retryable = false;
}
