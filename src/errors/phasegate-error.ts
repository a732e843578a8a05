/**
 * Base of every error phasegate raises on purpose. Each says whether doing the same thing
 * again may succeed, and keeps what caused it.
 */
export abstract class PhasegateError extends Error {
  /** Whether the same operation, tried again later, may succeed. */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Turns anything thrown into an Error with a message, for logs and job failure reasons. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}
