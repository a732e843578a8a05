/**
 * Errors a long-lived Redis client meets over and over while Redis is away (a restart, a
 * pause, maxmemory): one log line when the trouble starts and one when it ends, not one per
 * retry. ioredis retries a lost connection every few hundred ms and reports each failure as an
 * `error` event — printed with its stack as `[ioredis] Unhandled error event` by a connection
 * with no listener — and every loop that reads Redis fails at its own pace; without this, a
 * 3-minute restart wrote 800 lines.
 */

import { log } from '../log.ts';
import type { RedisClient } from './connect.ts';

const OUT_OF_MEMORY =
  'Redis is out of memory (used memory above maxmemory: OOM command not allowed) and refused the write: free memory or raise maxmemory (with maxmemory-policy noeviction), then run the command again';

/**
 * A Redis or BullMQ failure in one line a person can act on, else its message (`firstLine`:
 * only the first line of it). A MULTI that Redis discarded (EXECABORT) carries the refusals
 * of its commands in `previousErrors` (ioredis); BullMQ's OOM comes with its script's name.
 */
export function describeRedisError(err: unknown, firstLine = true): string {
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split('\n')[0] ?? message;
  const previous = (err as { previousErrors?: unknown[] } | undefined)?.previousErrors ?? [];
  const causes = previous.map((e) => (e instanceof Error ? e.message : String(e)));
  if (/^OOM command not allowed/.test(first) || (/^EXECABORT/.test(first) && causes.some((c) => /^OOM\b/.test(c)))) return OUT_OF_MEMORY;
  if (/^EXECABORT/.test(first)) {
    const why = causes[0]?.split('\n')[0];
    return `Redis discarded the transaction${why ? ` (${why.slice(0, 160)})` : ''}: nothing of it was written`;
  }
  const lost = /^Missing lock for job (\S+?)\.? (\w+)/.exec(first);
  if (lost)
    return `job ${lost[1]} lost its lock before ${lost[2]} (it ran past PHASEGATE_STALLED_SECONDS, or Redis lost the lock): another worker runs it again`;
  return firstLine ? first : message;
}

/**
 * Logs the first failure of a run of failures (and a different one when it changes), then
 * stays quiet until `ok()` says the thing works again, which it logs once with how many
 * repeats it swallowed.
 */
export class RepeatedErrors {
  private current: string | undefined;
  private repeats = 0;

  constructor(
    private readonly what: string,
    private readonly level: 'warn' | 'error' = 'warn',
  ) {}

  failed(err: unknown): void {
    const text = describeRedisError(err);
    if (text === this.current) {
      this.repeats += 1;
      return;
    }
    this.current = text;
    this.repeats = 0;
    log[this.level](`${this.what}: ${text}`);
  }

  ok(): void {
    if (this.current === undefined) return;
    const swallowed = this.repeats > 0 ? ` (the same error ${this.repeats} more times)` : '';
    this.current = undefined;
    this.repeats = 0;
    log.info(`${this.what}: working again${swallowed}`);
  }
}

/**
 * Gives a connection an `error` listener that logs once per outage (and `ready` ends it), so
 * ioredis never prints its `Unhandled error event` stack. Returns the connection.
 */
export function quietConnectionErrors<T extends RedisClient>(conn: T, what: string): T {
  const errors = new RepeatedErrors(what);
  conn.on('error', (err: Error) => errors.failed(err));
  conn.on('ready', () => errors.ok());
  return conn;
}
