/**
 * Backfills on the terminal: one bar per processor they reach — the requested ones and, with
 * --cascade, every downstream phase — refreshed from the status store on a timer of its own,
 * so the bars keep moving whichever wait the caller is in (the requested phases, then the
 * cascade, then a second backfill it follows).
 */
import type { BackfillRecord } from '../../queues/backfill/backfill.ts';
import { cascadeProcessors, cascadeProgress } from '../../queues/backfill/cascade.ts';
import type { PipelineContext } from '../../queues/context.ts';
import type { BarRow } from './bar-line.ts';
import { EtaEstimator } from './eta.ts';
import { type RendererOptions, TerminalRenderer } from './terminal.ts';
import { formatDuration, plural } from './text.ts';

export interface BackfillView {
  /** Adds the bars of another backfill (processors already shown keep their first one's). */
  follow(record: BackfillRecord): void;
  /** Reads the statuses once more, draws them, leaves them on screen and hands the terminal back. */
  stop(): Promise<void>;
}

export interface BackfillViewOptions extends RendererOptions {
  /** What the header calls the run. @defaultValue `backfill <id>` */
  title?: string;
  /** @defaultValue 500 */
  refreshMs?: number;
}

interface Followed {
  record: BackfillRecord;
  processors: string[];
}

export function watchBackfill(ctx: PipelineContext, first: BackfillRecord, opts: BackfillViewOptions = {}): BackfillView {
  const started = Date.now();
  const renderer = new TerminalRenderer(opts);
  const title = opts.title ?? `backfill ${first.id}`;
  const followed: Followed[] = [];
  const rows = new Map<string, BarRow>();
  const etas = new Map<string, EtaEstimator>();
  const header = () => {
    const dates = new Set(followed.flatMap((f) => f.record.dates)).size;
    return `${title} · ${plural(dates, 'date')} · ${formatDuration(Date.now() - started)}`;
  };
  const draw = () =>
    renderer.update(
      header(),
      [...rows.values()].sort((a, b) => a.phase - b.phase),
    );

  const follow = (record: BackfillRecord) => {
    const mine: string[] = [];
    for (const def of cascadeProcessors(ctx, record)) {
      if (rows.has(def.name)) continue;
      mine.push(def.name);
      etas.set(def.name, new EtaEstimator());
      rows.set(def.name, {
        phase: def.phase,
        processor: def.name,
        total: record.dates.length,
        committed: 0,
        incomplete: 0,
        empty: 0,
        waiting: 0,
        failed: 0,
        etaMs: undefined,
      });
    }
    followed.push({ record, processors: mine });
    draw();
  };

  const refresh = async () => {
    for (const f of followed) {
      if (f.processors.length === 0) continue;
      const progress = await cascadeProgress(ctx, f.record);
      const at = Date.now();
      for (const name of f.processors) {
        const c = progress.perProcessor[name];
        const row = rows.get(name);
        if (!c || !row) continue;
        const next = {
          ...row,
          committed: c.committed,
          incomplete: c.incomplete,
          empty: c.empty,
          waiting: c.waiting,
          failed: c.failed + c.deferred + c.upstream_failed + c.cancelled,
        };
        const done = next.committed + next.incomplete + next.empty + next.failed;
        rows.set(name, { ...next, etaMs: etas.get(name)?.update(done, row.total, at) });
      }
    }
    draw();
  };

  // One refresh at a time: a slow Redis must not pile them up.
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = running.then(refresh).catch(() => undefined);
  };
  const timer = setInterval(tick, opts.refreshMs ?? 500);
  // The bars never keep a process alive that is otherwise done.
  timer.unref();
  follow(first);
  tick();

  return {
    follow,
    async stop() {
      clearInterval(timer);
      tick();
      await running;
      renderer.stop();
    },
  };
}
