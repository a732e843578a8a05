/**
 * How long runs take: finished runs from the run-ends stream (one entry per run, written once
 * when its last slice ended: src/queues/events/run-ends.ts) against their records' start, and
 * the runs still going. Labels stay bounded: a run's kind and outcome, never its id.
 */
import { type BackfillRecord, getBackfill } from '../../queues/backfill/backfill.ts';
import type { PipelineContext } from '../../queues/context.ts';
import { parseRunEndFields, type RunEndEvent } from '../../queues/events/run-ends.ts';
import { FAILED_STATES, type SliceState } from '../../queues/status-store.ts';

export const RUN_KINDS = ['backfill', 'cascade', 'retry'] as const;
export type RunKind = (typeof RUN_KINDS)[number];
export type RunOutcome = 'ok' | 'failed' | 'cancelled';

/** A retry (`--retry-failed`, the dashboard's retry) names its own dates; a cascade (an audit's repair too) follows downstream. */
export function runKind(record: Pick<BackfillRecord, 'cascade' | 'only'>): RunKind {
  if (record.only) return 'retry';
  return record.cascade ? 'cascade' : 'backfill';
}

/** `cancelled` when a person cancelled some of it, `failed` when a slice ended without landing for another reason. */
export function runOutcome(counts: RunEndEvent['counts']): RunOutcome {
  if ((counts.cancelled ?? 0) > 0) return 'cancelled';
  return Object.entries(counts).some(([state, n]) => FAILED_STATES.has(state as SliceState) && (n ?? 0) > 0) ? 'failed' : 'ok';
}

export interface FinishedRun {
  /** The run-ends entry's id (read the next ones after it). */
  entryId: string;
  kind: RunKind;
  outcome: RunOutcome;
  /** From the run's start (its record) to its end, in seconds. */
  seconds: number;
}

/** A look is bounded: more runs than end between two scrapes by far. */
const MAX_READ = 1_000;

/** Runs that ended after entry `afterId` (exclusive) or at/after `sinceMs`, oldest first; one whose record expired is skipped. */
export async function finishedRuns(ctx: PipelineContext, from: { sinceMs: number } | { afterId: string }): Promise<{ runs: FinishedRun[]; lastId?: string }> {
  const start = 'afterId' in from ? `(${from.afterId}` : String(Math.max(0, Math.floor(from.sinceMs)));
  const entries = await ctx.redis.xrange(ctx.keys.runEnds(), start, '+', 'COUNT', MAX_READ);
  const runs: FinishedRun[] = [];
  for (const [entryId, fields] of entries) {
    const end = parseRunEndFields(fields);
    const record = await getBackfill(ctx, end.run).catch(() => undefined);
    const seconds = (Date.parse(end.finishedAt) - Date.parse(record?.createdAt ?? '')) / 1000;
    if (!record || !Number.isFinite(seconds)) continue;
    runs.push({ entryId, kind: runKind(record), outcome: runOutcome(end.counts), seconds: Math.max(0, seconds) });
  }
  return { runs, lastId: entries.at(-1)?.[0] };
}
