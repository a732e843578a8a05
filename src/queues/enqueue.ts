/** Adds phase jobs in bulk, with deterministic ids, and marks their slices pending. */
import type { Job } from 'bullmq';
import type { ProcessorDef } from '../processors/types.ts';
import type { PipelineContext } from './context.ts';
import { type PhaseJobData, PRIORITY, phaseJobId } from './names.ts';

export interface EnqueueOptions {
  backfillId?: string | undefined;
  targets: string[];
  cascade: boolean;
  origin: PhaseJobData['origin'];
  /** BullMQ priority, lower first. @defaultValue PRIORITY.backfill for backfills, else PRIORITY.live */
  priority?: number | undefined;
}

export interface EnqueueResult {
  added: number;
  /** Slices whose job was already waiting, delayed or running (not queued twice). */
  alreadyQueued: number;
}

const IN_FLIGHT = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export async function enqueueSlices(ctx: PipelineContext, def: ProcessorDef, slices: readonly string[], opts: EnqueueOptions): Promise<EnqueueResult> {
  const queue = ctx.queues.of(def);
  const priority = opts.priority ?? (opts.backfillId ? PRIORITY.backfill : PRIORITY.live);
  const fresh: string[] = [];
  let alreadyQueued = 0;
  // A finished job keeps its id for a while; clear it so the same work can run again.
  // A job that is still in flight keeps it: the same work is never queued twice.
  for (let i = 0; i < slices.length; i += 200) {
    const chunk = slices.slice(i, i + 200);
    // A job BullMQ has no hash for does not exist: one pipelined EXISTS per chunk answers that
    // for a fresh backfill's slices, and only the jobs that exist are asked their state.
    const exists = ctx.redis.pipeline();
    for (const s of chunk) exists.exists(queue.toKey(phaseJobId(def.name, s)));
    const known = ((await exists.exec()) ?? []).map(([err, n]) => err !== null || Number(n) > 0);
    const states = await Promise.all(chunk.map((s, j) => (known[j] === false ? 'unknown' : queue.getJobState(phaseJobId(def.name, s)))));
    const finished: string[] = [];
    chunk.forEach((slice, j) => {
      const state = states[j] ?? 'unknown';
      if (IN_FLIGHT.has(state)) alreadyQueued += 1;
      else {
        fresh.push(slice);
        if (state === 'completed' || state === 'failed') finished.push(slice);
      }
    });
    await Promise.all(finished.map((s) => queue.remove(phaseJobId(def.name, s)).catch(() => 0)));
  }
  await ctx.statuses.setMany(def.name, fresh, { status: 'pending', backfillId: opts.backfillId });
  const jobs: { name: string; data: PhaseJobData; opts: { jobId: string; priority: number } }[] = fresh.map((slice) => ({
    name: def.name,
    data: { processor: def.name, slice, backfillId: opts.backfillId, targets: opts.targets, cascade: opts.cascade, origin: opts.origin },
    opts: { jobId: phaseJobId(def.name, slice), priority },
  }));
  const added: Job[] = [];
  for (let i = 0; i < jobs.length; i += 500) added.push(...(await queue.addBulk(jobs.slice(i, i + 500))));
  return { added: added.length, alreadyQueued };
}
