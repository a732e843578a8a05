import { PhasegateError } from './phasegate-error.ts';

/**
 * Errno codes a later try may get past: space or inodes freed, a quota raised, a busy device
 * or an exhausted descriptor table released. The rest (EACCES, EROFS, ENOTDIR, …) stay.
 */
const RETRYABLE = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE']);

/** What Node says for the codes people meet, without the syscall it adds ("…, write"). */
const PLAIN: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EFBIG: 'file too large',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EACCES: 'permission denied',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

/** An errno code as people read it: `no space left on device (ENOSPC)`. */
export function errnoText(code: string): string {
  return `${PLAIN[code] ?? code.toLowerCase()} (${code})`;
}

/**
 * A file-system operation that failed, naming the operation and the path. Node's own text for
 * a failed `write` names neither ("ENOSPC: no space left on device, write").
 */
export class FileError extends PhasegateError {
  readonly retryable: boolean;
  readonly code: string;
  readonly path: string;

  constructor(operation: string, file: string, code: string, options?: { cause?: unknown }) {
    super(`${operation} ${file}: ${errnoText(code)}`, options);
    this.code = code;
    this.path = file;
    this.retryable = RETRYABLE.has(code);
  }
}

/** `err` as a FileError when it is a Node file-system error (it has an errno code), else as it is. */
export function fileError(err: unknown, operation: string, file: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof FileError || typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return err;
  return new FileError(operation, file, code, { cause: err });
}
