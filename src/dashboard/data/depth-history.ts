/**
 * Queue depth over the last hour. BullMQ keeps counts, not their history, so the dashboard
 * samples them: on a timer while the server runs and whenever a page reads the counts. The
 * history lives in this process only (it starts empty when the dashboard starts).
 */
import type { QueueCounts } from './queue-list.ts';
import { depthOf } from './queue-list.ts';

export interface DepthSample {
  at: number;
  /** Queue name → waiting + prioritized + active + delayed. */
  depth: Record<string, number>;
}

export interface DepthHistoryOptions {
  /** How far back samples are kept. @defaultValue 3_600_000 (one hour) */
  keepMs: number;
  /** Samples closer together than this are merged (a burst of page views is one sample). @defaultValue 5_000 */
  minGapMs: number;
}

const DEFAULTS = { keepMs: 3_600_000, minGapMs: 5_000 } satisfies DepthHistoryOptions;

export class DepthHistory {
  /** When sampling began (epoch ms): the chart covers no time before it, and says so. */
  readonly startedAt: number;
  private readonly samples: DepthSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private readonly opts: DepthHistoryOptions;

  constructor(opts: Partial<DepthHistoryOptions> = {}, startedAt = Date.now()) {
    this.opts = { ...DEFAULTS, ...opts };
    this.startedAt = startedAt;
  }

  record(counts: readonly QueueCounts[], at = Date.now()): void {
    const depth = Object.fromEntries(counts.map((c) => [c.queue.name, depthOf(c.counts)]));
    const last = this.samples.at(-1);
    if (last && at - last.at < this.opts.minGapMs) last.depth = depth;
    else this.samples.push({ at, depth });
    while (this.samples.length > 0 && (this.samples[0]?.at ?? at) < at - this.opts.keepMs) this.samples.shift();
  }

  since(fromMs: number): DepthSample[] {
    return this.samples.filter((s) => s.at >= fromMs);
  }

  /** Samples every `everyMs` with `read`; errors (Redis briefly away) skip a sample. */
  start(everyMs: number, read: () => Promise<readonly QueueCounts[]>): void {
    if (this.timer) clearInterval(this.timer);
    const tick = () => {
      if (this.inflight) return;
      this.inflight = read()
        .then(
          (c) => this.record(c),
          () => undefined,
        )
        .finally(() => {
          this.inflight = undefined;
        });
    };
    tick();
    this.timer = setInterval(tick, everyMs);
    // The sampler alone must not keep a process alive.
    this.timer.unref();
  }

  /** Stops the timer and waits for a sample in flight, so Redis can be closed right after. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inflight;
  }
}
