/**
 * A backstop under BullMQ's fetch loop. An idle worker waits for its next job on a blocking
 * connection of its own (BZPOPMIN on the queue's marker), under BullMQ's watchdog: a wait that
 * outlives its block resets that connection — it waits for the client to be live again, drops
 * it, waits for its `end`, connects again. Those waits have no deadline, and ioredis has states
 * in which the event never comes (a client disconnected while it reconnects parks in
 * `reconnecting` for ever: the state BullMQ's own reset code guards against, taskforcesh/bullmq
 * #4585). A worker whose reset never ends takes no job again, though Redis answers every other
 * connection: on a Redis Cluster whose master died, CI once saw a phase-4 job sit delayed to the
 * end of the run while the workers of phases 1–3 took theirs.
 *
 * The watch reads what each worker of the process is waiting on. A wait for the next job that
 * has not ended twice over the longest one BullMQ allows (its block, at most
 * `maximumBlockTimeout` or `drainDelay`, plus its watchdog's second), while Redis answers the
 * process and the worker holds no job, is stuck: the worker is closed without waiting for its
 * loop and a new one takes its place. Nothing is lost: the jobs are in Redis, and every job is
 * idempotent. It reads BullMQ's private fields (6.x), as nothing public says what the loop
 * awaits; test/fetch-loop-watch.test.ts runs a real stuck worker through it.
 */
import type { Worker } from 'bullmq';
import { log } from '../log.ts';
import type { RedisClient } from '../redis/connect.ts';

/** BullMQ's ceiling on a blocking wait with delayed jobs, in seconds (worker.js `defaultMaximumBlockTimeout`). */
const MAXIMUM_BLOCK_SECONDS = 10;
/** BullMQ's watchdog gives a blocking wait one second past its block. */
const WATCHDOG_SECONDS = 1;
const CHECK_EVERY_MS = 2000;

/** BullMQ's private fields (6.x) that say what a worker's fetch loop is doing. */
interface FetchLoop {
  /** The wait for the next job in progress (`waitForJob`), or null. */
  waiting?: Promise<unknown> | null;
  /** Set once close() began. */
  closing?: Promise<void> | null;
  /** Whether the last fetch found the queue empty. */
  drained?: boolean;
  /** When the next delayed job is due, as the loop last read it (0: none). */
  blockUntil?: number;
  /** The fetches and jobs in hand of the running loop: the wait itself is one. */
  mainLoopQueue?: { numTotal(): number } | null;
  /** The worker's own blocking connection. */
  backend?: { blockingConnection?: { _client?: { status?: string } } };
  opts: { drainDelay?: number; maximumBlockTimeout?: number };
}

/** The one place that reads BullMQ's private fields: a rename in an upgrade is mended here. */
function loopOf(worker: Worker): FetchLoop {
  return worker as unknown as FetchLoop;
}

/** What a worker's fetch loop is doing: for the watch, and for a message saying where a run stopped. */
export function fetchLoopState(worker: Worker): {
  waitingForJob: boolean;
  drained: boolean | undefined;
  blockUntil: number | undefined;
  /** Its blocking connection's ioredis status. */
  blockingClient: string | undefined;
} {
  const loop = loopOf(worker);
  return {
    waitingForJob: Boolean(loop.waiting),
    drained: loop.drained,
    blockUntil: loop.blockUntil,
    blockingClient: loop.backend?.blockingConnection?._client?.status,
  };
}

/** Holds no job and waits for one: the wait is the one thing its loop has in hand. */
function idle(loop: FetchLoop): boolean {
  return Boolean(loop.waiting) && (loop.mainLoopQueue?.numTotal() ?? 0) <= 1;
}

/** Whether a worker holds no job and waits for one. */
export function waitsIdle(worker: Worker): boolean {
  return idle(loopOf(worker));
}

/** How a process starts a worker again in a stuck one's place, and counts it. */
export interface WorkerRemaking {
  /** The process's live list of workers: the new one takes the stuck one's place in it. */
  workers: Worker[];
  remake: (stuck: Worker) => Worker | Promise<Worker>;
  count?: (queue: string) => Promise<unknown>;
}

/**
 * Starts a new worker in `stuck`'s place, says why once, and closes `stuck` without waiting for
 * its loop (the loop it would wait for is the stuck one; it holds no job). When `keep` says no
 * by the time the new one started (the process began to close), the new one is closed instead.
 */
export async function replaceWorker(opts: WorkerRemaking, stuck: Worker, why: string, keep: () => boolean = () => true): Promise<void> {
  const fresh = await opts.remake(stuck);
  const at = opts.workers.indexOf(stuck);
  if (!keep() || at === -1) {
    // The process began to close meanwhile: it closes the workers its list holds.
    await fresh.close();
    return;
  }
  opts.workers[at] = fresh;
  log.warn(`${stuck.name} worker: ${why}: replaced it with a new worker`);
  await opts.count?.(stuck.name).catch((err: unknown) => log.warn(`${stuck.name} worker: counting its replacement: ${(err as Error).message}`));
  await stuck.close(true).catch((err: unknown) => log.warn(`${stuck.name} worker: closing the stuck worker: ${(err as Error).message}`));
}

/** How long a wait for the next job may take before the watch calls it stuck. */
export function stuckAfterMs(worker: Worker): number {
  const { opts } = loopOf(worker);
  const blockSeconds = Math.max(opts.drainDelay ?? 5, opts.maximumBlockTimeout ?? MAXIMUM_BLOCK_SECONDS);
  return 2 * (blockSeconds + WATCHDOG_SECONDS) * 1000;
}

export interface FetchLoopWatch {
  /**
   * Whether the worker's wait was stuck when last seen and still is: a close must not wait for
   * its loop (BullMQ's close waits for it), so the caller closes it without (`close(true)`).
   */
  stuck(worker: Worker): boolean;
  stop(): void;
}

/**
 * Watches `workers` (the process's live list: a stuck worker is replaced in it, by what
 * `remake` returns for it). `redis` is the process's connection: while it is not ready, no
 * wait counts, as every wait then waits for Redis. `count` is told each replacement's queue
 * (the runtime counts them in Redis, where `/metrics` reads them).
 */
export function watchFetchLoops(opts: WorkerRemaking & { redis: RedisClient }): FetchLoopWatch {
  const seen = new Map<Worker, { wait: Promise<unknown>; since: number }>();
  let replacing = false;
  let stopped = false;

  const replace = (stuck: Worker, forMs: number): Promise<void> =>
    replaceWorker(
      opts,
      stuck,
      `its wait for the next job had not ended after ${Math.round(forMs / 1000)} s while Redis answered (a reset of its blocking connection that never ended)`,
      () => !stopped,
    ).then(() => {
      seen.delete(stuck);
    });

  /** Waiting on the same wait for longer than BullMQ allows one, with no job in hand. */
  const isStuck = (worker: Worker, now: number): boolean => {
    const loop = loopOf(worker);
    const before = seen.get(worker);
    if (!before || before.wait !== loop.waiting) return false;
    return now - before.since >= stuckAfterMs(worker) && idle(loop);
  };

  const check = () => {
    if (replacing) return;
    const now = Date.now();
    if (opts.redis.status !== 'ready') {
      seen.clear();
      return;
    }
    for (const worker of opts.workers) {
      const loop = loopOf(worker);
      const wait = loop.waiting;
      if (!wait || loop.closing) {
        seen.delete(worker);
        continue;
      }
      const before = seen.get(worker);
      if (before?.wait !== wait) {
        seen.set(worker, { wait, since: now });
        continue;
      }
      const forMs = now - before.since;
      if (!isStuck(worker, now)) continue;
      replacing = true;
      void replace(worker, forMs)
        .catch((err: unknown) => log.warn(`${worker.name} worker: could not replace it: ${(err as Error).message}`))
        .finally(() => {
          replacing = false;
        });
      return;
    }
  };
  // Unref'd: the watch never holds a process that has nothing else left to do.
  const timer = setInterval(check, CHECK_EVERY_MS).unref();
  return {
    stuck: (worker) => isStuck(worker, Date.now()),
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * Closes a worker. BullMQ's close disconnects the worker's blocking connection, waits for its
 * `end`, then waits for the fetch loop: an ioredis client disconnected while it reconnects never
 * ends, so the close of a worker whose blocking client was reconnecting — or whose loop the watch
 * saw stuck — waited for ever, though Redis answered. Such a worker, holding no job, is closed
 * without waiting (`close(true)`): its read unanswered, no job can be on its way to it.
 */
export async function closeWorker(worker: Worker, watch?: FetchLoopWatch): Promise<void> {
  const status = fetchLoopState(worker).blockingClient;
  const readLost = status !== undefined && status !== 'ready' && status !== 'connect';
  const force = (waitsIdle(worker) && readLost) || (watch?.stuck(worker) ?? false);
  const began = describeFetchLoop(worker);
  // A close that takes long says what it waits on, once: the jobs in hand, or its connection.
  const slow = setTimeout(
    () => log.warn(`${worker.name} worker: still closing after ${SLOW_CLOSE_MS / 1000} s (when the close began: ${began}; now: ${describeFetchLoop(worker)})`),
    SLOW_CLOSE_MS,
  ).unref();
  try {
    await (force ? worker.close(true) : worker.close());
  } finally {
    clearTimeout(slow);
  }
}

/** After this long a worker's close says what it is waiting on. */
export const SLOW_CLOSE_MS = 5000;

/** What a worker's loop holds and waits on, for a message. */
export function describeFetchLoop(worker: Worker): string {
  const loop = loopOf(worker);
  const state = fetchLoopState(worker);
  const inHand = Math.max(0, (loop.mainLoopQueue?.numTotal() ?? 0) - (state.waitingForJob ? 1 : 0));
  return `${inHand} job${inHand === 1 ? '' : 's'} in hand, ${state.waitingForJob ? 'waiting for the next job' : 'not waiting for a job'}, blocking connection ${state.blockingClient ?? 'none'}`;
}
