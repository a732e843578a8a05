/**
 * Errors a long-lived Redis client meets over and over while Redis is away (a restart, a
 * pause, maxmemory): one log line when the trouble starts and one when it ends, not one per
 * retry. ioredis retries a lost connection every few hundred ms and reports each failure as an
 * `error` event — printed with its stack as `[ioredis] Unhandled error event` by a connection
 * with no listener — and every loop that reads Redis fails at its own pace; without this, a
 * 3-minute restart wrote 800 lines.
 */
import type { Redis } from 'ioredis';
import { log } from '../log.ts';

/** A Redis or BullMQ failure in one line a person can act on, or the message itself. */
export function describeRedisError(message: string): string {
  const first = message.split('\n')[0] ?? message;
  if (/^OOM command not allowed/.test(first) || /EXECABORT.*\bOOM\b/.test(message))
    return 'Redis is out of memory (maxmemory reached, OOM command not allowed): raise maxmemory, free memory, or remove finished jobs — nothing was written';
  if (/^EXECABORT/.test(first)) return `Redis refused the transaction (${first.replace(/^EXECABORT\s*/, '').slice(0, 120)}); nothing was written`;
  if (/^Missing lock for job (\S+?)\.? (\w+)/.test(first)) {
    const [, job, op] = /^Missing lock for job (\S+?)\.? (\w+)/.exec(first) ?? [];
    return `job ${job} lost its lock before ${op} (it ran past PHASEGATE_STALLED_SECONDS, or Redis lost the lock): another worker runs it again`;
  }
  return first;
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
    const text = describeRedisError(err instanceof Error ? err.message : String(err));
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
export function quietConnectionErrors<T extends Redis>(conn: T, what: string): T {
  const errors = new RepeatedErrors(what);
  conn.on('error', (err: Error) => errors.failed(err));
  conn.on('ready', () => errors.ok());
  return conn;
}
