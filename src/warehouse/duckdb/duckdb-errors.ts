/**
 * DuckDB's own failures, normalised into the warehouse error classes with the BigQuery
 * reason that would describe the same failure, so callers see one vocabulary.
 */
import { errnoText } from '../../errors/file-error.ts';
import { PermanentError } from '../../errors/permanent-error.ts';
import { toError } from '../../errors/phasegate-error.ts';
import { TransientError } from '../../errors/transient-error.ts';
import { WarehouseError } from '../../errors/warehouse-error.ts';
import { WarehouseInvalidatedError } from '../../errors/warehouse-invalidated-error.ts';

const RULES: readonly { test: RegExp; reason: string; retryable: boolean }[] = [
  { test: /^Catalog Error:.*does not exist/s, reason: 'notFound', retryable: false },
  { test: /^(Conversion|Constraint|Invalid Input) Error:/, reason: 'invalid', retryable: false },
  { test: /^(Parser|Binder|Catalog|Not implemented|TransactionContext) Error:/, reason: 'invalidQuery', retryable: false },
  // Disk, memory and interruption faults say nothing about the statement: it may work again.
  { test: /^(IO|Out of Memory|Interrupt) Error:/, reason: 'backendError', retryable: true },
];

/** The C library's text for the errno codes of a refused write, as DuckDB quotes it. */
const STRERROR: Record<string, string> = {
  'No space left on device': 'ENOSPC',
  'File too large': 'EFBIG',
  'Disk quota exceeded': 'EDQUOT',
  'Read-only file system': 'EROFS',
  'Permission denied': 'EACCES',
};

/**
 * A write the file system refused, wherever DuckDB reports it: a commit whose log could not be
 * written comes back as `TransactionContext Error: Failed to commit: Could not write file
 * "….wal": No space left on device`, which is the disk's fault, not the statement's.
 */
const REFUSED_WRITE = new RegExp(`Could not write file "([^"]+)": (${Object.keys(STRERROR).join('|')})`);

/**
 * DuckDB's fatal errors (duckdb.org/docs/stable/dev/internal_errors): the first one
 * (`FATAL Error: Failed to create checkpoint because of error: …`) invalidates the database,
 * and every later statement gets `FATAL Error: Failed: database has been invalidated …
 * Original error: "…"`. Either way, the original error is what a person needs.
 */
const FATAL = /^FATAL Error: (?:Failed: database has been invalidated[^\n]*\n?Original error: "(.*)"$|(.*)$)/s;

/** A refused write said in the words the object store uses for its own (`errnoText`: `… (ENOSPC)`). */
function refusedWrite(text: string): string | undefined {
  const m = REFUSED_WRITE.exec(text);
  return m ? `DuckDB could not write ${m[1]}: ${errnoText(STRERROR[m[2] as string] as string)}` : undefined;
}

export function fromDuckDBError(thrown: unknown, table?: string): WarehouseError {
  if (thrown instanceof WarehouseError) return thrown;
  const err = toError(thrown);
  const fatal = FATAL.exec(err.message);
  if (fatal) {
    // Its first line: DuckDB goes on with "Possible solutions: …" for an out-of-memory one.
    const original = (fatal[1] ?? fatal[2] ?? '').trim().split('\n')[0] as string;
    const why = refusedWrite(original) ?? `DuckDB: ${original}`;
    return new WarehouseInvalidatedError(`${why}; DuckDB invalidated the database`, { cause: thrown, table });
  }
  const refused = refusedWrite(err.message);
  if (refused) return new TransientError(refused, { cause: thrown, reason: 'backendError', table });
  const rule = RULES.find((r) => r.test.test(err.message));
  const options = { cause: thrown, reason: rule?.reason ?? 'invalidQuery', table };
  return rule?.retryable ? new TransientError(err.message, options) : new PermanentError(err.message, options);
}
