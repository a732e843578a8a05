import { PhasegateError } from './phasegate-error.ts';

/**
 * Bad input: an unknown processor, a malformed date, an unreadable or malformed file.
 * Trying again cannot help; the CLI exits 2 with the message, a job fails at once.
 */
export class InputError extends PhasegateError {
  readonly retryable = false;
  /** The HTTP status the dashboard answers with when a request brings it. */
  readonly httpStatus: number = 400;
  /** The file or object the error concerns, when there is one. */
  readonly file: string | undefined;

  constructor(message: string, options?: { cause?: unknown; file?: string }) {
    super(options?.file ? `${options.file}: ${message}` : message, options);
    this.file = options?.file;
  }
}
