/**
 * A backfill's own outcome, as its page, the overview and /metrics show it.
 *
 * Why not the latest statuses alone: a slice has one latest status per processor, so a later
 * backfill (or a live run) of the same dates rewrites what an earlier backfill's grid and its
 * "failed" count said. Every status written for a backfill is also kept in that backfill's
 * own hash (StatusStore, 30 days after its last write), and each cell here is:
 *
 * - the backfill's own last status when it is final: what this backfill achieved, even if
 *   the slice ran again since — the cell is then marked "re-run by" the run that wrote the
 *   latest status, and says what that run made of it;
 * - else the slice's latest status: work this backfill started and another run took over
 *   (its job re-staged the slice, or found a job already queued) ends as that run ends.
 *
 * A backfill is finished only when every processor it reaches — with `--cascade`, phases 3–5
 * too — is final for every date (cascadeProgress, fed these cells instead of the latest).
 */
import type { Phase } from '../../processors/types.ts';
import type { BackfillRecord } from '../../queues/backfill/backfill.ts';
import { type CascadeProgress, cascadeProcessors, cascadeProgress } from '../../queues/backfill/cascade.ts';
import type { PipelineContext } from '../../queues/context.ts';
import type { RunGraph } from '../../queues/runs/graph.ts';
import { outcomeOf } from '../../queues/runs/views.ts';
import { countStates, FINAL_STATES, type SliceState, type SliceStatus } from '../../queues/status-store.ts';
import { RETRYABLE_STATES } from './failed-dates.ts';

export interface OutcomeCell {
  /** What the grid shows (see the module comment); undefined when nothing was ever recorded. */
  status: SliceStatus | undefined;
  /**
   * Another run wrote the slice's latest status after (or instead of) this backfill: its
   * backfill id, or undefined for a run outside any backfill (a live run, a cascade's
   * not-yet-attributed pending mark).
   */
  rerun?: { by: string | undefined; latest: SliceStatus } | undefined;
}

export interface OutcomeRow {
  processor: string;
  /** Undefined for a processor the registry no longer knows (an old backfill's record). */
  phase: Phase | undefined;
  /** Named in the backfill's request (false: reached by its cascade). */
  requested: boolean;
  /** One per date of the record, in order. */
  cells: OutcomeCell[];
  counts: Record<SliceState, number>;
}

export interface BackfillOutcome {
  record: BackfillRecord;
  /** Requested processors and, with a cascade, every processor downstream; in phase order. */
  rows: OutcomeRow[];
  perPhase: CascadeProgress['perPhase'];
  /** Every cell of every row is final (a downstream slice whose inputs ended without rows counts as final). */
  done: boolean;
  total: number;
  /** Cells in a final state. */
  finished: number;
  /** Cells another run wrote after this backfill. */
  rerun: number;
  /** Whether the backfill's own statuses are still kept (false: expired, or it predates them; cells show the latest). */
  ownKept: boolean;
  /** The run's graph the outcome was judged on. */
  graph: RunGraph;
}

function cellOf(backfillId: string, own: SliceStatus | undefined, latest: SliceStatus | undefined): OutcomeCell {
  const other = latest !== undefined && latest.backfillId !== backfillId;
  if (own === undefined) {
    // Nothing of its own: a cascade's downstream mark (written before the backfill had an id),
    // statuses that expired, or a job another backfill had already queued.
    return latest?.backfillId !== undefined && other ? { status: latest, rerun: { by: latest.backfillId, latest } } : { status: latest };
  }
  // Both are written in one MULTI, so a latest status of another run came after the own one.
  const rerun = other && latest ? { by: latest.backfillId, latest } : undefined;
  return { status: outcomeOf(own, latest), rerun };
}

export async function backfillOutcome(ctx: PipelineContext, record: BackfillRecord): Promise<BackfillOutcome> {
  const reached = cascadeProcessors(ctx, record);
  const known = new Set(reached.map((d) => d.name));
  const requested = new Set(record.processors);
  // A record may name a processor the registry dropped since: it keeps its row, last.
  const names = [...reached.map((d) => d.name), ...record.processors.filter((p) => !known.has(p))];
  const [ownKept, rows] = await Promise.all([
    ctx.statuses.keepsBackfill(record.id),
    Promise.all(
      names.map(async (processor): Promise<OutcomeRow> => {
        const [latest, own] = await Promise.all([ctx.statuses.getMany(processor, record.dates), ctx.statuses.ofBackfill(record.id, processor, record.dates)]);
        const cells = record.dates.map((_, i) => cellOf(record.id, own[i], latest[i]));
        return {
          processor,
          phase: ctx.registry.has(processor) ? ctx.registry.get(processor).phase : undefined,
          requested: requested.has(processor),
          cells,
          counts: countStates(cells.map((c) => c.status)),
        };
      }),
    ),
  ]);
  const byName = new Map(rows.map((r) => [r.processor, r]));
  const progress = await cascadeProgress(ctx, record, async (processor) => (byName.get(processor)?.cells ?? []).map((c) => c.status));
  const unknownDone = rows.filter((r) => !known.has(r.processor)).every((r) => r.cells.every((c) => c.status && FINAL_STATES.has(c.status.status)));
  let finished = 0;
  let rerun = 0;
  for (const r of rows)
    for (const c of r.cells) {
      if (c.status && FINAL_STATES.has(c.status.status)) finished += 1;
      if (c.rerun) rerun += 1;
    }
  return {
    record,
    rows,
    perPhase: progress.perPhase,
    done: progress.done && unknownDone,
    total: rows.length * record.dates.length,
    finished,
    rerun,
    ownKept,
    graph: progress.graph,
  };
}

/**
 * What a person can still act on in a cell: its own failure, unless a later run has since
 * landed the slice (then there is nothing left to retry) — the latest failure if it failed again.
 */
export function actionable(cell: OutcomeCell): SliceStatus | undefined {
  const s = cell.status;
  if (!s || !RETRYABLE_STATES.has(s.status)) return undefined;
  if (cell.rerun && !RETRYABLE_STATES.has(cell.rerun.latest.status)) return undefined;
  return cell.rerun?.latest ?? s;
}

/** Per processor, the actionable status of each date (the failed-dates export and "retry failed" read these). */
export function actionableStatuses(outcome: BackfillOutcome): Record<string, (SliceStatus | undefined)[]> {
  return Object.fromEntries(outcome.rows.map((r) => [r.processor, r.cells.map(actionable)]));
}
