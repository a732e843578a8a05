/**
 * BigQuery's per-table gate for mutating DML (UPDATE, DELETE, MERGE): at most `maxRunning`
 * run at once; others wait in a FIFO queue; when `maxQueued` already wait, the next
 * statement fails at once ("Too many DML statements outstanding … limit is <maxQueued>").
 *
 * Interpretation of "outstanding": running statements do not use queue places. A statement
 * is admitted when a running slot is free or fewer than `maxQueued` statements are waiting,
 * so with BigQuery's values (../bigquery/limits.ts) maxRunning + maxQueued may be outstanding
 * and the next concurrent one — the first that finds the queue full — fails. This matches the
 * quota page (so many running, so many queued).
 */

/** Ends a statement's hold on its running slot; calling it twice is harmless. */
export type Release = () => void;

interface Waiter {
  resolve: (release: Release) => void;
  reject: (err: unknown) => void;
}

export class DmlGate {
  private runningCount = 0;
  private readonly waiting: Waiter[] = [];
  private readonly maxRunning: number;
  private readonly maxQueued: number;

  constructor(maxRunning: number, maxQueued: number) {
    this.maxRunning = maxRunning;
    this.maxQueued = maxQueued;
  }

  get running(): number {
    return this.runningCount;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Decides admission synchronously, in call order: a promise of the running slot (resolved
   * now or when the statement reaches the head of the queue), or null when the queue is full.
   */
  tryEnter(): Promise<Release> | null {
    if (this.runningCount < this.maxRunning) {
      this.runningCount++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueued) return null;
    return new Promise<Release>((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Fails every waiting statement (shutdown); running ones finish on their own. */
  rejectWaiting(err: unknown): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(err);
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the head of the queue, so running never dips below the cap while statements wait.
      if (next) next.resolve(this.releaser());
      else this.runningCount--;
    };
  }
}
