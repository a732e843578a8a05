/**
 * Stale slices: a landed slice computed from an input that has since recommitted with other
 * rows. A cascade recomputes its downstream (the tracker runs it again); a run that does not
 * — a corrected phase-2 date backfilled without `--cascade` — leaves its downstream computed
 * from the old rows, and says so: each such slice carries `stale` (since when, because of
 * which upstream slice) until it is recomputed (its next commit clears it). `status`, the
 * summary, the grid and `/metrics` count them; `backfill --only-stale` recomputes them.
 */
import type { PipelineContext } from '../context.ts';
import { landed, type SliceStatus } from '../status-store.ts';

/**
 * Marks stale every landed slice downstream of `processor`'s `slice` (transitively) among
 * `dependents` — the dependents the commit's run does not run again — each naming the input
 * it was computed from. Returns how many were marked.
 */
export async function markStaleDownstream(
  ctx: PipelineContext,
  processor: string,
  slice: string,
  since: string,
  dependents: readonly string[],
): Promise<number> {
  let marked = 0;
  const queue: { name: string; because: string }[] = dependents.map((name) => ({ name, because: processor }));
  const seen = new Set<string>();
  while (queue.length > 0) {
    const { name, because } = queue.shift() as { name: string; because: string };
    if (seen.has(name)) continue;
    seen.add(name);
    const status = await ctx.statuses.get(name, slice);
    // Only rows in the warehouse can be out of date; a slice still to run reads the new input.
    if (!status || !landed(status) || status.stale) continue;
    await ctx.statuses.update(name, slice, { status: status.status, stale: { since, upstream: { processor: because, slice } } });
    marked += 1;
    for (const d of ctx.registry.dependents(name)) queue.push({ name: d.name, because: name });
  }
  return marked;
}

export interface StaleSlice {
  processor: string;
  slice: string;
  stale: NonNullable<SliceStatus['stale']>;
}

/** Every stale slice of the processors (all transforms by default), optionally within a date range, by processor then date. */
export async function listStale(ctx: PipelineContext, opts: { processors?: readonly string[]; start?: string; end?: string } = {}): Promise<StaleSlice[]> {
  const names = opts.processors ?? ctx.registry.transforms().map((d) => d.name);
  const out: StaleSlice[] = [];
  for (const processor of names) {
    for (const [slice, status] of await ctx.statuses.all(processor)) {
      if (!status.stale || !landed(status)) continue;
      if ((opts.start && slice < opts.start) || (opts.end && slice > opts.end)) continue;
      out.push({ processor, slice, stale: status.stale });
    }
  }
  return out.sort((a, b) => a.processor.localeCompare(b.processor) || a.slice.localeCompare(b.slice));
}

/** `player_game_summary 2023-11-01 stale since T: nbac_team_boxscore 2023-11-01 recommitted with other rows`. */
export function describeStale(s: StaleSlice): string {
  return `${s.processor} ${s.slice} stale since ${s.stale.since}: ${s.stale.upstream.processor} ${s.stale.upstream.slice} recommitted with other rows`;
}
