/**
 * One round trip for the writes of one step of a job, queued by the parts that own them — the
 * slice's status (status-store.ts), the gate's registration (table-gate.ts), the end of the run
 * in the run log (run-log.ts) — into one MULTI: they land all or nothing, each part reads back
 * only its own replies, and what a part must do once its writes landed runs after (`afterRun`).
 *
 * Steps of different jobs that run in the same turn of the event loop on one connection share
 * one MULTI (issue 24: "batch status writes across jobs of one worker"): a worker at concurrency
 * 12 whose jobs wake on the replies of one socket read sends their next steps in one write,
 * and Redis runs them in one transaction. Each step still lands whole (a MULTI is atomic: a
 * superset of each step's), reads only its own replies and fails alone when one of its own
 * commands fails; if the shared MULTI itself is refused, each step is tried again on its own.
 *
 * Why: on a loaded machine every round trip is a socket write and a wake-up of Redis, and a
 * phase job that wrote its status, its staging and its run-log row one after another spent most
 * of its time in them (docs/bench-overhead.md).
 */

import type { ChainableCommander } from 'ioredis';
import { DefinitionError } from '../errors/definition-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import type { RedisClient } from './connect.ts';

/** A command a part queued: the MULTI's method (a Redis command or a defined script) and its arguments. */
type Call = readonly [method: string, args: readonly unknown[]];

/** A step waiting for its connection's next MULTI. */
interface Waiting {
  readonly calls: readonly Call[];
  readonly done: (replies: unknown[] | Error) => void;
}

/** The steps queued on each connection since its last MULTI was sent. */
const waiting = new WeakMap<RedisClient, Waiting[]>();

export class RedisStep {
  private readonly calls: Call[] = [];
  /** Records the parts' commands; it is replayed into the connection's MULTI when the step runs. */
  private readonly recorder: ChainableCommander;
  private replies: unknown[] | undefined;
  private readonly after: (() => Promise<void>)[] = [];

  /** Scripts a part queues must be defined on `redis` before this runs (script.ts `define`). */
  constructor(private readonly redis: RedisClient) {
    const recorder: ChainableCommander = new Proxy({} as ChainableCommander, {
      get: (_, method) => {
        // Not a thenable: a part that returns it from an async function must not be awaited into it.
        if (typeof method !== 'string' || method === 'then') return undefined;
        return (...args: unknown[]) => {
          this.calls.push([method, args]);
          return recorder;
        };
      },
    });
    this.recorder = recorder;
  }

  /** Queues commands; the returned function gives their replies, in order, once the step ran. */
  add(queue: (multi: ChainableCommander) => unknown): () => unknown[] {
    const from = this.calls.length;
    queue(this.recorder);
    const to = this.calls.length;
    return () => {
      if (!this.replies) throw new DefinitionError('the step has not run yet');
      return this.replies.slice(from, to);
    };
  }

  /** Runs `fn` once the step's writes landed (in the order added); a failed step runs none. */
  afterRun(fn: () => Promise<void>): void {
    this.after.push(fn);
  }

  /** Runs the step (in its connection's next MULTI), throwing (naming `what`) if it was refused or any of its commands failed; then the `afterRun`s. */
  async run(what: string): Promise<void> {
    const result = await new Promise<unknown[] | Error>((done) => {
      let queued = waiting.get(this.redis);
      if (!queued) {
        queued = [];
        waiting.set(this.redis, queued);
        // After this turn's other steps on the connection joined it.
        setImmediate(() => {
          waiting.delete(this.redis);
          const steps = queued as Waiting[];
          // Whatever goes wrong, every step hears of it: none waits on a MULTI never sent.
          send(this.redis, steps).catch((err: unknown) => {
            for (const step of steps) step.done(err instanceof Error ? err : new Error(String(err)));
          });
        });
      }
      queued.push({ calls: this.calls, done });
    });
    if (result instanceof Error) throw new TransientError(`${what}: ${result.message}`, { cause: result });
    this.replies = result;
    for (const fn of this.after) await fn();
  }
}

/** Sends the steps in one MULTI and gives each its own replies or its own failure. */
async function send(redis: RedisClient, steps: readonly Waiting[]): Promise<void> {
  const multi = redis.multi();
  const ranges: [Waiting, number, number][] = [];
  for (const step of steps) {
    const target = multi as unknown as Record<string, (...args: unknown[]) => unknown>;
    const foreign = step.calls.find(([method]) => typeof target[method] !== 'function');
    if (foreign) {
      step.done(new DefinitionError(`${foreign[0]} is not a command of this connection (a script not defined on it?)`));
      continue;
    }
    const from = ranges.length === 0 ? 0 : (ranges[ranges.length - 1]?.[2] ?? 0);
    for (const [method, args] of step.calls) target[method]?.(...args);
    ranges.push([step, from, from + step.calls.length]);
  }
  if (ranges.length === 0) return;
  let res: [Error | null, unknown][] | null;
  try {
    res = await multi.exec();
  } catch (err) {
    res = null;
    if (ranges.length === 1) {
      ranges[0]?.[0].done(err as Error);
      return;
    }
  }
  if (!res) {
    // The shared MULTI was refused as a whole (a command Redis would not queue, an aborted
    // transaction): each step again on its own, so one step's fault is only its own.
    if (ranges.length === 1) ranges[0]?.[0].done(new Error('transaction aborted'));
    else await Promise.all(ranges.map(([step]) => send(redis, [step])));
    return;
  }
  for (const [step, from, to] of ranges) {
    const own = res.slice(from, to);
    const failed = own.find(([err]) => err);
    step.done(failed?.[0] ?? own.map(([, reply]) => reply));
  }
}
