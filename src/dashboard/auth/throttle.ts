/**
 * Failed sign-ins slowed down per client: at most `max` failures in a window (counted in Redis,
 * so every dashboard process shares the count), then every sign-in attempt from that client —
 * right or wrong — answers 429 with Retry-After until the window ends. Refusing right ones too
 * is what makes it a limit: otherwise the 429/401 difference would still answer each guess.
 */
import type { RedisClient } from '../../redis/connect.ts';
import type { Keys } from '../../redis/keys.ts';

export interface SignInLimit {
  /** Failed sign-ins allowed per window. @defaultValue 10 */
  max: number;
  /** @defaultValue 60_000 */
  windowMs: number;
}

export class SignInThrottle {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<Keys, 'dashboardSession' | 'dashboardSignInFailures' | 'dashboardAudit'>,
    readonly limit: SignInLimit,
  ) {}

  /** Milliseconds until the client may try again, or 0 when it may try now. */
  async waitMs(client: string): Promise<number> {
    const key = this.keys.dashboardSignInFailures(client);
    const res = await this.redis.multi().get(key).pttl(key).exec();
    const count = Number(res?.[0]?.[1] ?? 0);
    const ttl = Number(res?.[1]?.[1] ?? -2);
    if (count < this.limit.max) return 0;
    // A counter without an expiry (cannot happen, but must not lock a client out for good).
    if (ttl < 0) {
      await this.redis.pexpire(key, this.limit.windowMs);
      return this.limit.windowMs;
    }
    return ttl;
  }

  /** Counts one failed sign-in; the first failure opens the window. */
  async fail(client: string): Promise<void> {
    const key = this.keys.dashboardSignInFailures(client);
    await this.redis.multi().set(key, '0', 'PX', this.limit.windowMs, 'NX').incr(key).exec();
  }
}
