/**
 * Slices that need a person (failed, deferred) or are waiting on a busy table, across every
 * processor in the registry, newest first.
 */
import { tableId } from '../../processors/types.ts';
import type { PipelineContext } from '../../queues/context.ts';
import { commitQueueName, phaseJobId } from '../../queues/names.ts';
import type { SliceState, SliceStatus } from '../../queues/status-store.ts';

export const ATTENTION_STATES = ['failed', 'deferred', 'waiting'] as const satisfies readonly SliceState[];
export type AttentionState = (typeof ATTENTION_STATES)[number];

export interface AttentionSlice {
  processor: string;
  slice: string;
  status: SliceStatus & { status: AttentionState };
}

export interface AttentionList {
  counts: Record<AttentionState, number>;
  /** Newest first, at most `limit` per state. */
  slices: Record<AttentionState, AttentionSlice[]>;
}

function isAttention(s: SliceStatus): s is SliceStatus & { status: AttentionState } {
  return (ATTENTION_STATES as readonly string[]).includes(s.status);
}

export async function attentionSlices(ctx: PipelineContext, limit = 500): Promise<AttentionList> {
  const counts: Record<AttentionState, number> = { failed: 0, deferred: 0, waiting: 0 };
  const slices: Record<AttentionState, AttentionSlice[]> = { failed: [], deferred: [], waiting: [] };
  const processors = ctx.registry.all().map((p) => p.name);
  const hashes = await Promise.all(processors.map((p) => ctx.statuses.all(p)));
  processors.forEach((processor, i) => {
    for (const [slice, status] of hashes[i] ?? []) {
      if (!isAttention(status)) continue;
      counts[status.status] += 1;
      slices[status.status].push({ processor, slice, status });
    }
  });
  for (const state of ATTENTION_STATES) {
    slices[state].sort(
      (a, b) => b.status.updatedAt.localeCompare(a.status.updatedAt) || a.processor.localeCompare(b.processor) || a.slice.localeCompare(b.slice),
    );
    slices[state] = slices[state].slice(0, limit);
  }
  return { counts, slices };
}

/**
 * Where Bull Board shows a failed slice. A phase job that fails throws on its last attempt, so
 * BullMQ fails it too (its Failed tab, kept a week): `phase-job`. A slice that failed after its
 * phase job staged it failed at its table gate — its commit job failed (a permanent MERGE
 * error), or the gate took it out of a batch that landed (it would move a game) — so its phase
 * job is rightly *completed*: `table-gate`, with the gate's queue. A deferred slice failed no
 * job: it waited past the longest streaming-buffer wait.
 */
export type BoardPlace =
  | { kind: 'phase-job'; queue: string; jobId: string }
  | { kind: 'table-gate'; queue: string }
  | { kind: 'deferred'; queue: string }
  | { kind: 'gone' };

export async function boardPlaces(ctx: PipelineContext, slices: readonly AttentionSlice[]): Promise<BoardPlace[]> {
  return Promise.all(
    slices.map(async ({ processor, slice, status }): Promise<BoardPlace> => {
      if (!ctx.registry.has(processor)) return { kind: 'gone' };
      const def = ctx.registry.get(processor);
      const gate = def.kind === 'transform' ? commitQueueName(tableId(def.table)) : undefined;
      if (status.status === 'deferred' && gate) return { kind: 'deferred', queue: gate };
      const queue = ctx.queues.of(def);
      const jobId = phaseJobId(processor, slice);
      const state = await queue.getJobState(jobId);
      if (state === 'failed') return { kind: 'phase-job', queue: queue.name, jobId };
      if (state === 'completed' && gate) return { kind: 'table-gate', queue: gate };
      return { kind: 'gone' };
    }),
  );
}
