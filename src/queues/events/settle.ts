/**
 * When a slice ends without landing rows (failed, empty, incomplete with nothing staged), the
 * downstream processors its backfill asked for will never hear a commit for it. They get the
 * same outcome at once, so a backfill (and a cascade) finishes instead of waiting forever.
 */

import { inputsOf } from '../../processors/registry.ts';
import { getBackfill } from '../backfill/backfill.ts';
import type { PipelineContext } from '../context.ts';
import { FINAL_STATES, landed, type SliceState, type SliceStatus } from '../status-store.ts';

/** Which downstream processors a slice's run was asked to reach. */
export interface DownstreamScope {
  backfillId?: string | undefined;
  targets: readonly string[];
  cascade: boolean;
}

/**
 * How a slice ends when its inputs (those the backfill reaches) all ended without landing
 * anything for it: failed if one failed, empty if all were empty, else incomplete. Undefined
 * while an input is still in progress or landed rows (its commit event will run the slice).
 */
export function settledByInputs(inputs: readonly (Pick<SliceStatus, 'status' | 'nothingLanded'> | undefined)[]): SliceState | undefined {
  if (inputs.length === 0) return undefined;
  if (inputs.some((u) => !u || !FINAL_STATES.has(u.status) || landed(u))) return undefined;
  if (inputs.some((u) => u?.status === 'failed' || u?.status === 'deferred')) return 'failed';
  if (inputs.every((u) => u?.status === 'empty')) return 'empty';
  return 'incomplete';
}

export async function settleDownstream(
  ctx: PipelineContext,
  processor: string,
  slice: string,
  scope: DownstreamScope,
  patch: Pick<SliceStatus, 'status' | 'error' | 'missingGames' | 'nothingLanded'>,
): Promise<void> {
  const inScope = ctx.registry.reached(scope.targets, scope.cascade);
  for (const dep of ctx.registry.downstream(processor)) {
    if (!inScope.has(dep.name)) continue;
    // Another input of it may still land the slice (a fallback source): then it decides.
    const others = inputsOf(dep).filter((i) => i !== processor && inScope.has(i));
    const statuses = await Promise.all(others.map((i) => ctx.statuses.get(i, slice)));
    if (statuses.some((s) => !s || !FINAL_STATES.has(s.status) || landed(s))) continue;
    await ctx.statuses.set(dep.name, slice, { ...patch, backfillId: scope.backfillId });
  }
}

/** The scope of a backfill's slice, from its record (the commit worker knows no job data). */
export async function backfillScope(ctx: PipelineContext, backfillId: string | undefined): Promise<DownstreamScope> {
  if (!backfillId) return { targets: [], cascade: false };
  const record = await getBackfill(ctx, backfillId).catch(() => undefined);
  return { backfillId, targets: record?.processors ?? [], cascade: record?.cascade ?? false };
}
