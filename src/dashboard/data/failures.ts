/**
 * Slices that need a person (failed, deferred) or are waiting on a busy table, across every
 * processor in the registry, newest first.
 */
import type { PipelineContext } from '../../queues/context.ts';
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
