/**
 * One round trip for the writes of one step of a job, queued by the parts that own them — the
 * slice's status (status-store.ts), the gate's registration (table-gate.ts), the end of the run
 * in the run log (run-log.ts) — into one MULTI: they land all or nothing, each part reads back
 * only its own replies, and what a part must do once its writes landed runs after (`afterRun`).
 *
 * Why: on a loaded machine every round trip is a socket write and a wake-up of Redis, and a
 * phase job that wrote its status, its staging and its run-log row one after another spent most
 * of its time in them (docs/bench-overhead.md).
 */

import type { ChainableCommander } from 'ioredis';
import { DefinitionError } from '../errors/definition-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import type { RedisClient } from './connect.ts';

export class RedisStep {
  /** The MULTI; queue commands through `add`, so their replies can be found again. */
  private readonly multi: ChainableCommander;
  private replies: unknown[] | undefined;
  private readonly after: (() => Promise<void>)[] = [];

  /** Scripts a part queues must be defined on `redis` before this (script.ts `define`). */
  constructor(redis: RedisClient) {
    this.multi = redis.multi();
  }

  /** Queues commands; the returned function gives their replies, in order, once the step ran. */
  add(queue: (multi: ChainableCommander) => unknown): () => unknown[] {
    // A MULTI's length counts the MULTI command itself, EXEC's replies do not.
    const from = this.multi.length - 1;
    queue(this.multi);
    const to = this.multi.length - 1;
    return () => {
      if (!this.replies) throw new DefinitionError('the step has not run yet');
      return this.replies.slice(from, to);
    };
  }

  /** Runs `fn` once the step's writes landed (in the order added); a failed step runs none. */
  afterRun(fn: () => Promise<void>): void {
    this.after.push(fn);
  }

  /** Runs the MULTI, throwing (naming `what`) if it was aborted or any command in it failed; then the `afterRun`s. */
  async run(what: string): Promise<void> {
    const res = await this.multi.exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw new TransientError(`${what}: ${failed?.[0]?.message ?? 'transaction aborted'}`, { cause: failed?.[0] });
    this.replies = res.map(([, reply]) => reply);
    for (const fn of this.after) await fn();
  }
}
