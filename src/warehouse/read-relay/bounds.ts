/**
 * The bounds of a person's read of the DuckDB file — through the holder's read relay, or by
 * `phasegate sql` opening the file itself — and the one-line refusals that name them
 * (PHASEGATE_READ_RELAY_TIMEOUT_SECONDS, _MAX_ROWS, _MAX_BYTES).
 */
import { InputError } from '../../errors/input-error.ts';
import { TransientError } from '../../errors/transient-error.ts';

export interface ReadBounds {
  /** The longest one read may run (ms). */
  timeoutMs: number;
  /** Most rows one query answers. */
  maxRows: number;
  /**
   * Largest reply to a person's query, in bytes of JSON; through the holder, also the most of
   * any reply Redis holds at once (the pipeline's reads stream in parts of a few of these).
   */
  maxBytes: number;
}

/** `direct`: the reader opened the file itself (no holder whose setting also counts). */
export function overDeadline(timeoutMs: number, direct = false): TransientError {
  return new TransientError(
    `the read ran past its deadline and was stopped (at most ${timeoutMs / 1000} s: PHASEGATE_READ_RELAY_TIMEOUT_SECONDS${direct ? '' : ' of the reader and of the holder'})`,
    { reason: 'timeout' },
  );
}

export function tooManyRows(maxRows: number): InputError {
  return new InputError(
    `the result has more than ${maxRows} rows, the most a read of the DuckDB file answers (PHASEGATE_READ_RELAY_MAX_ROWS): add a LIMIT or aggregate`,
  );
}

/** `bytes`: the reply's size when it is known whole; a reply stopped as it passed the bound has none. */
export function tooManyBytes(bytes: number | undefined, maxBytes: number): InputError {
  const size = bytes === undefined ? 'the reply is more' : `the reply is ${bytes} bytes, more`;
  return new InputError(`${size} than the ${maxBytes} a read of the DuckDB file answers (PHASEGATE_READ_RELAY_MAX_BYTES): select fewer rows or columns`);
}
