/**
 * When a slice ends without landing rows (failed, empty, incomplete with nothing staged), the
 * downstream processors its backfill asked for will never hear a commit for it. They get the
 * same outcome at once, so a backfill (and a cascade) finishes instead of waiting forever.
 */
import { getBackfill } from './backfill.ts';
import type { PipelineContext } from './context.ts';
import type { SliceStatus } from './status-store.ts';

/** Which downstream processors a slice's run was asked to reach. */
export interface DownstreamScope {
  backfillId?: string | undefined;
  targets: readonly string[];
  cascade: boolean;
}

export async function settleDownstream(
  ctx: PipelineContext,
  processor: string,
  slice: string,
  scope: DownstreamScope,
  patch: Pick<SliceStatus, 'status' | 'error' | 'missingGames' | 'nothingLanded'>,
): Promise<void> {
  for (const dep of ctx.registry.downstream(processor)) {
    if (scope.cascade || scope.targets.includes(dep.name)) {
      await ctx.statuses.set(dep.name, slice, { ...patch, backfillId: scope.backfillId });
    }
  }
}

/** The scope of a backfill's slice, from its record (the commit worker knows no job data). */
export async function backfillScope(ctx: PipelineContext, backfillId: string | undefined): Promise<DownstreamScope> {
  if (!backfillId) return { targets: [], cascade: false };
  const record = await getBackfill(ctx, backfillId).catch(() => undefined);
  return { backfillId, targets: record?.processors ?? [], cascade: record?.cascade ?? false };
}
