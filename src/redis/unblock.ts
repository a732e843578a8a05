/**
 * Stopping a consumer whose loop blocks in a read on its own connection (XREADGROUP … BLOCK,
 * BLPOP):
 * CLIENT UNBLOCK wakes a blocked read at once; it is repeated, because the loop may be between
 * reads when it arrives.
 */
import type { Redis } from 'ioredis';

/**
 * Unblocks connection `connId` (through `redis`, another connection) until `loop` ends or the
 * deadline passes; `nudge` runs each round too (a loop that also waits on something else).
 * Returns whether the loop ended.
 */
export async function unblockUntilEnded(
  redis: Redis,
  connId: number,
  loop: Promise<unknown>,
  opts: { deadlineMs?: number; nudge?: () => void } = {},
): Promise<boolean> {
  let ended = false;
  void loop.finally(() => {
    ended = true;
  });
  const deadline = opts.deadlineMs ?? Number.POSITIVE_INFINITY;
  while (!ended && Date.now() < deadline) {
    await redis.client('UNBLOCK', connId).catch(() => undefined);
    opts.nudge?.();
    await Promise.race([loop, new Promise((r) => setTimeout(r, 50))]);
  }
  return ended;
}
