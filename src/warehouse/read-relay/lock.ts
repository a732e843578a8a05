/**
 * DuckDB lets one process open a database file; another process's open fails with
 * `IO Error: Could not set lock on file "…": Conflicting lock is held in /usr/bin/node (PID 4242)`.
 * That failure is what sends a reader to the read relay, and names the holder in its errors.
 */

export interface LockHolder {
  /** The holding process's id, when DuckDB named it. */
  pid: number | undefined;
  /** Its program (`/usr/bin/node`), when DuckDB named it. */
  program: string | undefined;
  /** The file, when DuckDB named it. */
  file: string | undefined;
}

const LOCKED = /Could not set lock on file|Conflicting lock is held/i;
const HELD_BY = /Conflicting lock is held in (.+?) \(PID (\d+)\)/;
const FILE = /Could not set lock on file "(.+?)"/;

/** The holder an open failed on, or undefined when the failure is not DuckDB's file lock. */
export function lockHolder(err: unknown): LockHolder | undefined {
  const message = (err as Error | undefined)?.message ?? '';
  if (!LOCKED.test(message)) return undefined;
  const m = HELD_BY.exec(message);
  return { pid: m?.[2] === undefined ? undefined : Number(m[2]), program: m?.[1], file: FILE.exec(message)?.[1] };
}

/** `another process (PID 4242, /usr/bin/node)`, as much as is known. */
export function describeHolder(holder: LockHolder | undefined): string {
  const parts = [holder?.pid === undefined ? undefined : `PID ${holder.pid}`, holder?.program].filter(Boolean);
  return parts.length > 0 ? `another process (${parts.join(', ')})` : 'another process';
}

/**
 * The one line a person reads when a command could not take the DuckDB file because another
 * process holds it — instead of DuckDB's own `IO Error: Could not set lock on file …`.
 */
export function heldFileMessage(holder: LockHolder, file = holder.file): string {
  return (
    `the DuckDB file ${file ?? '(the warehouse)'} is held by ${describeHolder(holder)}: with the embedded warehouse one process commits ` +
    '(`phasegate worker --phases commit`, or one with `all`); run phase work beside it (`phasegate worker --phases 1,2,3,4,5`, ' +
    '`backfill --workers N`), or stop that process'
  );
}
