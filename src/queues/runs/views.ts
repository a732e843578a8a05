/**
 * The two views of a run every reader shows, labelled as what they are:
 *
 * - **this run's outcome**: per slice, the run's own last status when it is final — what this
 *   run achieved, even if a later run has written the slice since — else the latest (work this
 *   run started that another run took over ends as that run ends). The dashboard's grid, the
 *   run's summary and `status --backfill` count these.
 * - **the dates' state now**: per slice, what the warehouse holds now (`stateNow`: a failed
 *   re-run of a landed slice reads committed, saying so), and whether it is stale.
 *
 * Both come from here, so the CLI and the dashboard never count the same thing two ways.
 */
import type { PipelineContext } from '../context.ts';
import { FINAL_STATES, landed, RETRIED_STATES, type SliceStatus } from '../status-store.ts';
import type { RunGraph, StatusReader } from './graph.ts';
import type { StaleSlice } from './stale.ts';

/** The run's own outcome of a slice, from its own last status and the latest (see the module comment). */
export function outcomeOf(own: SliceStatus | undefined, latest: SliceStatus | undefined): SliceStatus | undefined {
  if (own === undefined) return latest;
  return FINAL_STATES.has(own.status) || !latest ? own : latest;
}

/** Reads a run's slices as its own outcome. */
export function outcomeReader(ctx: PipelineContext, runId: string): StatusReader {
  return async (processor, slices) => {
    const [latest, own] = await Promise.all([ctx.statuses.getMany(processor, slices), ctx.statuses.ofBackfill(runId, processor, slices)]);
    return slices.map((_, i) => outcomeOf(own[i], latest[i]));
  };
}

export interface DatesNow {
  /** The run's slices the warehouse holds now (committed, or incomplete with some games). */
  landed: number;
  /** Of those, computed from an input that has recommitted with other rows since. */
  stale: number;
  /** Landed slices whose latest run ended without landing (the warehouse keeps their last commit). */
  rerunFailed: number;
  /** Slices that need a person or a retry now (failed, upstream_failed, cancelled, incomplete, deferred, with no good rows kept). */
  needLook: number;
  /** Slices still on their way (pending, running, staged, waiting). */
  inProgress: number;
  total: number;
  /** The stale slices themselves (those `stale` counts), for readers that list them. */
  staleSlices: StaleSlice[];
}

/** The dates' state now over a run's slices (see the module comment). */
export async function datesNow(ctx: PipelineContext, graph: RunGraph): Promise<DatesNow> {
  const out: DatesNow = { landed: 0, stale: 0, rerunFailed: 0, needLook: 0, inProgress: 0, total: 0, staleSlices: [] };
  for (const def of graph.scope.processors) {
    const slices = graph.scope.slicesOf(def.name);
    for (const [i, s] of (await ctx.statuses.getManyNow(def.name, slices)).entries()) {
      out.total += 1;
      if (landed(s)) {
        out.landed += 1;
        if (s?.stale) {
          out.stale += 1;
          out.staleSlices.push({ processor: def.name, slice: slices[i] as string, stale: s.stale });
        }
        if (s?.rerunFailed) out.rerunFailed += 1;
      } else if (s && RETRIED_STATES.has(s.status)) out.needLook += 1;
      else if (!s || !FINAL_STATES.has(s.status)) out.inProgress += 1;
    }
  }
  return out;
}
