/**
 * A FIFO async mutex. A DuckDB connection runs one statement at a time, and a commit's
 * statements (create staging, append, MERGE, drop) must not interleave with another's.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier caller has finished; a failure does not block later callers. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
