/**
 * Cancelling a run (`phasegate cancel <run id>`, the run page's button): its queued and delayed
 * phase jobs are removed and their slices — and every slice still waiting for an upstream —
 * end `cancelled`. A job already running finishes (what it stages lands: its rows are whole),
 * and so do slices already staged or held for the streaming buffer; nothing new starts for
 * the run afterwards (the tracker and the scrapers check the mark). The run then ends, and
 * `--retry-failed` on its failed-dates file runs its cancelled slices again.
 */
import { getBackfill } from '../backfill/backfill.ts';
import type { PipelineContext } from '../context.ts';
import { phaseJobId } from '../names.ts';
import type { SliceStatus } from '../status-store.ts';
import { runGraph } from './graph.ts';

/** How long the cancel mark is kept: as long as a run's own statuses (status-store.ts). */
const MARK_TTL_SECONDS = 30 * 86_400;

/** BullMQ states of a job that has not started: it can be removed. */
const NOT_STARTED = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

export interface CancelOutcome {
  id: string;
  /** Queued or delayed phase jobs removed. */
  removed: number;
  /** Slices marked cancelled (removed jobs' and those waiting for an upstream). */
  cancelled: number;
  /** Slices left to end on their own: running, staged, or held for the streaming buffer. */
  landing: number;
  /** The run had ended before the cancel: nothing was changed. */
  alreadyEnded: boolean;
}

export async function isCancelled(ctx: Pick<PipelineContext, 'redis' | 'keys'>, runId: string): Promise<boolean> {
  return (await ctx.redis.exists(ctx.keys.runCancelled(runId))) === 1;
}

/** The status a slice of a cancelled run ends with. */
export function cancelledStatus(runId: string, at = new Date()): Omit<SliceStatus, 'updatedAt'> {
  return { status: 'cancelled', error: `run ${runId} was cancelled at ${at.toISOString()}`, backfillId: runId, rows: 0 };
}

export async function cancelRun(ctx: PipelineContext, id: string): Promise<CancelOutcome> {
  const record = await getBackfill(ctx, id);
  const outcome: CancelOutcome = { id, removed: 0, cancelled: 0, landing: 0, alreadyEnded: false };
  const before = await runGraph(ctx, record);
  if (before.done) return { ...outcome, alreadyEnded: true };
  // The mark first: a job ending from now on starts nothing more for the run.
  await ctx.redis.set(ctx.keys.runCancelled(id), new Date().toISOString(), 'EX', MARK_TTL_SECONDS);
  const now = new Date();
  for (const def of before.scope.processors) {
    const queue = ctx.queues.of(def);
    const cancelled: string[] = [];
    for (const [slice, cell] of before.cells.get(def.name) ?? []) {
      if (cell.state !== 'pending') {
        if (cell.state === 'running' || cell.state === 'staged' || cell.state === 'waiting') outcome.landing += 1;
        continue;
      }
      const job = await queue.getJob(phaseJobId(def.name, slice));
      // Another run's job for the same slice is that run's work: it is left alone.
      if (job && job.data.backfillId === id) {
        const state = await job.getState();
        if (state === 'active') {
          outcome.landing += 1;
          continue;
        }
        if (NOT_STARTED.has(state)) {
          const gone = await job.remove().then(
            () => true,
            () => false,
          );
          if (!gone) {
            // It started meanwhile: it ends on its own.
            outcome.landing += 1;
            continue;
          }
          outcome.removed += 1;
        }
      }
      cancelled.push(slice);
    }
    if (cancelled.length > 0) await ctx.statuses.setMany(def.name, cancelled, cancelledStatus(id, now));
    outcome.cancelled += cancelled.length;
  }
  return outcome;
}
