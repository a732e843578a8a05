/**
 * DuckDB's own failures, normalised into the warehouse error classes with the BigQuery
 * reason that would describe the same failure, so callers see one vocabulary.
 */
import { PermanentError } from '../../errors/permanent-error.ts';
import { toError } from '../../errors/phasegate-error.ts';
import { TransientError } from '../../errors/transient-error.ts';
import { WarehouseError } from '../../errors/warehouse-error.ts';

const RULES: readonly { test: RegExp; reason: string; retryable: boolean }[] = [
  { test: /^Catalog Error:.*does not exist/s, reason: 'notFound', retryable: false },
  { test: /^(Conversion|Constraint|Invalid Input) Error:/, reason: 'invalid', retryable: false },
  { test: /^(Parser|Binder|Catalog|Not implemented|TransactionContext) Error:/, reason: 'invalidQuery', retryable: false },
  // Disk, memory and interruption faults say nothing about the statement: it may work again.
  { test: /^(IO|Out of Memory|Interrupt) Error:/, reason: 'backendError', retryable: true },
];

export function fromDuckDBError(thrown: unknown, table?: string): WarehouseError {
  if (thrown instanceof WarehouseError) return thrown;
  const err = toError(thrown);
  const rule = RULES.find((r) => r.test.test(err.message));
  const options = { cause: thrown, reason: rule?.reason ?? 'invalidQuery', table };
  return rule?.retryable ? new TransientError(err.message, options) : new PermanentError(err.message, options);
}
