import { PhasegateError } from './phasegate-error.ts';

/**
 * A processor, table or log-table definition (or the code's own invariant) is wrong: an
 * invalid identifier, an unknown dependency, a projection naming a column the table lacks.
 * The same code fails the same way on every try, so a job fails at once instead of being
 * retried; the message names the processor or table.
 */
export class DefinitionError extends PhasegateError {
  readonly retryable = false;
}
