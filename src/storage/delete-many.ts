/**
 * Deleting many objects a few at a time. A commit releases a whole batch of staged objects
 * at once — up to 1,000 for a log table (`LOG_COMMIT.maxFields`, src/queues/commit/staging.ts) —
 * and a GCS delete here is two requests (read the generation, delete it; see gcs-store.ts).
 * Unbounded, every worker would open that many sockets in one burst; a bucket starts at about
 * 1,000 object writes per second, deletes included, and only grows that gradually
 * (cloud.google.com/storage/docs/request-rate).
 */
import { InputError } from '../errors/input-error.ts';
import { type ObjectStore, validateKey } from './object-store.ts';

export interface DeleteManyOptions {
  /** Deletes in flight at once. @defaultValue {@link DELETE_CONCURRENCY} */
  concurrency?: number;
}

/** Enough to hide a round trip's latency, far from a bucket's write rate even with many workers. */
export const DELETE_CONCURRENCY = 8;

function concurrencyOf(options: DeleteManyOptions): number {
  const n = options.concurrency ?? DELETE_CONCURRENCY;
  if (!Number.isInteger(n) || n < 1) throw new InputError(`deleteMany concurrency must be a positive integer: ${n}`);
  return n;
}

/**
 * Deletes every key, at most `concurrency` at a time. One failure does not stop the others
 * (a cleanup should clean what it can); if any failed, an AggregateError of them is thrown
 * at the end. Keys are all checked before the first request, so a bad key deletes nothing.
 */
export async function deleteMany(store: Pick<ObjectStore, 'delete'>, keys: readonly string[], options: DeleteManyOptions = {}): Promise<void> {
  const concurrency = concurrencyOf(options);
  // A key listed twice would race itself (two reads of one generation, one 404).
  const unique = [...new Set(keys)];
  for (const key of unique) validateKey(key);
  const failures: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < unique.length; i = next++) {
      try {
        await store.delete(unique[i] as string);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, unique.length) }, worker));
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} of ${unique.length} deletes failed`);
}
