/**
 * Watches a Redis connection while a process stops. Closing waits for the active jobs to
 * finish, but a job cannot finish while Redis does not answer: its next command waits in the
 * client's queue for a reconnect that may never come, and the close with it (a worker stopped
 * by SIGTERM after its Redis died did not exit). Once Redis has not been ready for `waitMs` in
 * a row, `letGo` runs once (it lets go of every connection) and `gone` settles: the close
 * stops waiting for what needs Redis. ioredis' `disconnect()` on a client waiting to reconnect
 * clears its retry timer but leaves its queued commands pending for ever (no stream to close,
 * so no 'end'): what awaits them is raced against `gone`, never awaited alone.
 */
import type { RedisClient } from './connect.ts';

export interface SilentRedisWatch {
  /** Whether `letGo` ran. */
  readonly fired: boolean;
  /** Settles when `letGo` has run (never, if it does not). */
  readonly gone: Promise<void>;
  stop(): void;
}

export function watchSilentRedis(client: RedisClient, waitMs: number, letGo: () => void): SilentRedisWatch {
  let silentSince: number | undefined;
  let settle = () => {};
  const watch = {
    fired: false,
    gone: new Promise<void>((resolve) => {
      settle = resolve;
    }),
    stop: () => clearInterval(timer),
  };
  const check = () => {
    if (client.status === 'ready') {
      silentSince = undefined;
      return;
    }
    silentSince ??= Date.now();
    if (Date.now() - silentSince < waitMs) return;
    clearInterval(timer);
    watch.fired = true;
    letGo();
    settle();
  };
  // Unref'd: the watch never holds a process that has nothing else left to do.
  const timer = setInterval(check, Math.max(10, Math.min(250, waitMs))).unref();
  check();
  return watch;
}
