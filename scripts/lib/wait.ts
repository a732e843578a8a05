/** Polling until something holds, for tests and benchmarks (never the product's own code: it waits on events). */

/** Calls `fn` every `everyMs` until it returns a value, or throws naming `what` after `timeoutMs`. */
export async function until<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
