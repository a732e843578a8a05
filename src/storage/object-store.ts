/**
 * The object store staged rows and raw scraped files live in: a local folder with the
 * bucket's layout (embedded default) or Google Cloud Storage (production).
 */
import { InputError } from '../errors/input-error.ts';

export interface ObjectStore {
  readonly kind: 'local' | 'gcs';
  put(key: string, body: string | Buffer): Promise<void>;
  /**
   * Writes an object the warehouse reads back in this process, soon, and that can be rebuilt if
   * lost (a commit's object of inline staged rows, rebuilt from Redis by a retry): GCS uploads
   * it (BigQuery reads it from the bucket); a local store keeps it in memory, since nothing
   * but this process's DuckDB reads it. `get` returns it and `delete` drops it either way.
   */
  stash(key: string, body: string): Promise<void>;
  /** Returns the object's bytes, or null when it does not exist. */
  get(key: string): Promise<Buffer | null>;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** An address the warehouse can read the object from (`gs://…` or a local path). */
  uri(key: string): string;
}

const SAFE_KEY = /^[A-Za-z0-9._\-=/]+$/;

/**
 * Object keys come from slices and processor names; a key that could climb out of the store
 * (`..`), be absolute, or carry odd characters is refused before any I/O.
 */
export function validateKey(key: string): string {
  if (key.length === 0 || key.length > 1024) throw new InputError(`object key must be 1–1024 characters: ${JSON.stringify(key)}`);
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) throw new InputError(`object key must be relative: ${JSON.stringify(key)}`);
  if (!SAFE_KEY.test(key)) throw new InputError(`object key has characters outside [A-Za-z0-9._-=/]: ${JSON.stringify(key)}`);
  if (key.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new InputError(`object key must not contain '..', '.' or empty segments: ${JSON.stringify(key)}`);
  }
  return key;
}

/** Prefixes are keys that may end with `/`. */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  validateKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}
