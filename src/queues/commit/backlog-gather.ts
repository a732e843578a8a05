/**
 * The gather of a downstream table (phases 3–5). Its phase jobs arrive in waves — each upstream
 * commit unlocks its dates at once, through the dependency tracker — and run slower than its
 * MERGE lands, so a gather that adapts only to the table's headroom (`adaptiveGatherMs`) commits
 * each few slices as they come: 70–171 statements per phase 3–5 table in a 1,700-date cascade
 * against the raw tables' 29. While the table's phase still has jobs waiting or running, its
 * commit gathers up to `backlogGatherSeconds` instead; a full batch starts it at once, and so
 * does the phase running dry (`phaseDrained`), so the end of a wave or a daily run does not
 * wait the window out.
 */
import { type Phase, tableId } from '../../processors/types.ts';
import type { PipelineContext } from '../context.ts';

/** The phase of the processor writing a data table fed by completion events (3–5); undefined for a raw or log table, or one no processor writes. */
export function downstreamPhase(ctx: Pick<PipelineContext, 'registry'>, table: string): Phase | undefined {
  const writer = ctx.registry.transforms().find((d) => tableId(d.table) === table);
  return writer && writer.phase >= 3 ? writer.phase : undefined;
}

/**
 * Jobs of a phase waiting (plain, by priority, or delayed) and running, in every process: one
 * round trip. Delayed ones count: a slice the tracker holds back for its look-back window, or a
 * retry, is part of the wave, and a commit started without it lands the wave in two statements
 * (the window still bounds the wait).
 */
export async function phaseBacklog(ctx: Pick<PipelineContext, 'redis' | 'queues'>, phase: Phase): Promise<{ waiting: number; active: number }> {
  const queue = ctx.queues.phase(phase);
  const res = await ctx.redis
    .multi()
    .llen(queue.toKey('wait'))
    .zcard(queue.toKey('prioritized'))
    .zcard(queue.toKey('delayed'))
    .llen(queue.toKey('active'))
    .exec();
  const n = (i: number) => Number(res?.[i]?.[1] ?? 0) || 0;
  return { waiting: n(0) + n(1) + n(2), active: n(3) };
}

/**
 * Whether more of the phase's slices are on their way: a job waits, or one runs besides the
 * caller's own when the caller is a phase job still running (a staging runs inside its job; the
 * gate's own call counts one too many, which only errs toward gathering).
 */
export function moreComing(backlog: { waiting: number; active: number }, callerActive = true): boolean {
  return backlog.waiting > 0 || backlog.active > (callerActive ? 1 : 0);
}
