/**
 * When a slice ends without landing rows (failed, deferred, empty, incomplete with nothing
 * staged, cancelled), the downstream slices of its run will never hear a commit for it. Each
 * one its inputs now decide (src/queues/runs/graph.ts: `upstream_failed` naming the input, or
 * `empty`) is written at once, through every processor the run reaches, so a run ends instead
 * of waiting on work nothing will run.
 */

import type { TransformDef } from '../../processors/types.ts';
import { getBackfill } from '../backfill/backfill.ts';
import type { PipelineContext } from '../context.ts';
import { inputVerdict, inputViews, noteExtra, RunScope, readExtra, type Verdict } from '../runs/graph.ts';
import type { SliceStatus } from '../status-store.ts';
import { requestRun } from './downstream.ts';

/** Which downstream processors a slice's run was asked to reach. */
export interface DownstreamScope {
  backfillId?: string | undefined;
  targets: readonly string[];
  cascade: boolean;
}

/** The run a scope belongs to, when it names one that still exists. */
async function runScopeOf(ctx: PipelineContext, scope: DownstreamScope): Promise<RunScope | undefined> {
  if (!scope.backfillId) return undefined;
  const record = await getBackfill(ctx, scope.backfillId).catch(() => undefined);
  return record ? new RunScope(ctx, record, await readExtra(ctx, record.id)) : undefined;
}

/** Writes an ended verdict as the slice's status (and, for a run, notes a slice beyond its dates). */
export async function writeVerdict(
  ctx: PipelineContext,
  def: TransformDef,
  slice: string,
  verdict: Extract<Verdict, { kind: 'ended' }>,
  run: RunScope | undefined,
  backfillId: string | undefined,
): Promise<SliceStatus> {
  const status: Omit<SliceStatus, 'updatedAt'> = { status: verdict.status, error: verdict.error, upstream: verdict.upstream, rows: 0, backfillId };
  await ctx.statuses.set(def.name, slice, status);
  if (run && backfillId && !run.has(def.name, slice)) await noteExtra(ctx, backfillId, def.name, slice);
  return { ...status, updatedAt: new Date().toISOString() };
}

/**
 * Settles what the end of `processor`'s `slice` decides downstream, in phase order: a
 * downstream slice still pending whose inputs now rule it out gets its terminal state, and
 * its own downstream slices are judged with it.
 */
export async function settleDownstream(ctx: PipelineContext, processor: string, slice: string, scope: DownstreamScope): Promise<void> {
  const run = await runScopeOf(ctx, scope);
  const reached = run
    ? (p: string) => run.reaches(p)
    : (() => {
        const names = ctx.registry.reached(scope.targets, scope.cascade);
        return (p: string) => names.has(p);
      })();
  const known = new Map<string, SliceStatus | undefined>();
  const statusOf = async (name: string): Promise<SliceStatus | undefined> => {
    if (!known.has(name)) known.set(name, await ctx.statuses.get(name, slice));
    return known.get(name);
  };
  const downstream = ctx.registry
    .downstream(processor)
    .filter((d) => reached(d.name))
    .sort((a, b) => a.phase - b.phase);
  for (const def of downstream) {
    const own = await statusOf(def.name);
    // Only work still to come is settled: a slice running, staged or final decides itself.
    if (own && own.status !== 'pending') continue;
    for (const input of [...def.dependsOn, ...(def.optionalInputs ?? [])]) await statusOf(input);
    const verdict = inputVerdict(
      slice,
      inputViews(def, slice, run ?? reached, (p) => known.get(p)),
    );
    if (verdict.kind === 'ready' && run?.has(def.name, slice)) {
      // Ready although this input landed nothing: another input it may read instead (a
      // fallback that landed the date before this run) already holds rows, and no commit of
      // this run will announce it — so nothing else would queue the slice, and the run would
      // wait on it for ever (`npm run demo` a second time did). Queued as the tracker queues
      // it (asked by no event: the stream's head stands for one); the job id keeps it once.
      await requestRun(ctx, {
        def,
        slice,
        backfillId: scope.backfillId,
        targets: [...scope.targets],
        cascade: scope.cascade,
        priority: run.record.priority,
        delayMs: 0,
      });
      continue;
    }
    if (verdict.kind !== 'ended') continue;
    known.set(def.name, await writeVerdict(ctx, def, slice, verdict, run, scope.backfillId));
  }
}

/** The scope of a backfill's slice, from its record (the commit worker knows no job data). */
export async function backfillScope(ctx: PipelineContext, backfillId: string | undefined): Promise<DownstreamScope> {
  if (!backfillId) return { targets: [], cascade: false };
  const record = await getBackfill(ctx, backfillId).catch(() => undefined);
  return { backfillId, targets: record?.processors ?? [], cascade: record?.cascade ?? false };
}
