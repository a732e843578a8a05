import { ConfigError } from './config-error.ts';

/**
 * A worker whose shared settings (table caps, batch sizes, time scale) differ from the set
 * recorded in Redis for its pipeline: it refuses to start (exit 2, like any bad setting) rather
 * than silently set other caps than the workers already running.
 */
export class SharedSettingsError extends ConfigError {
  /** The variables that differ, first one named in the message. */
  readonly variables: readonly string[];

  constructor(message: string, variables: readonly string[]) {
    super(message);
    this.variables = variables;
  }
}
