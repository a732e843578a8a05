/**
 * The daily live run: yesterday's games (in the schedule's time zone), every primary scraper
 * at live priority with `cascade`, so completion events carry each date through phase 5.
 * Live work has no backfill id: the dependency tracker runs every dependent of its commits.
 * Fallback scrapers are left to the audit, which asks them only for what the primary lacks.
 */

import { fallbackScrapers } from '../coverage/sources.ts';
import { addDays, todayIn } from '../coverage/window.ts';
import type { PipelineContext } from '../queues/context.ts';
import { enqueueSlices } from '../queues/enqueue.ts';
import { PRIORITY } from '../queues/names.ts';

export interface DailyLiveResult {
  date: string;
  games: number;
  scrapers: string[];
  added: number;
  alreadyQueued: number;
}

export function yesterday(now: Date, tz?: string): string {
  return addDays(todayIn(now, tz), -1);
}

export async function runDailyLive(ctx: PipelineContext, opts: { date: string }): Promise<DailyLiveResult> {
  const games = await ctx.source.games(opts.date);
  const skip = fallbackScrapers();
  const scrapers = ctx.registry.all().filter((d) => d.kind === 'scraper' && !skip.has(d.name));
  const result: DailyLiveResult = { date: opts.date, games: games.length, scrapers: scrapers.map((s) => s.name), added: 0, alreadyQueued: 0 };
  // A day without games is not work (an off day, the All-Star break, the summer).
  if (games.length === 0) return result;
  for (const def of scrapers) {
    const r = await enqueueSlices(ctx, def, [opts.date], { targets: [], cascade: true, origin: 'live', priority: PRIORITY.live });
    result.added += r.added;
    result.alreadyQueued += r.alreadyQueued;
  }
  return result;
}
