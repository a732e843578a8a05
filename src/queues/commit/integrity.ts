/**
 * The table gate's integrity step, run on every merge batch before its MERGE: one read of what
 * the warehouse holds for the batch's slices and games, then a verdict per slice
 * (src/integrity/holdings.ts). A slice that would shrink what the warehouse holds stops as
 * `incomplete`, one that would move a game from another date fails naming both dates; the
 * other slices of the batch land. A backfill started with `--allow-shrink` / `--allow-move`
 * lets them through, and the run log says so.
 */
import { canMove, type GuardedSlice, type Holding, holdingsToRead, judgeBatch, type SliceVerdict, type StagedSlice } from '../../integrity/holdings.ts';
import { ALL_ROWS } from '../../integrity/slice-check.ts';
import { log } from '../../log.ts';
import type { TableSpec } from '../../processors/types.ts';
import { deleteMany } from '../../storage/delete-many.ts';
import { type BackfillRecord, getBackfill } from '../backfill/backfill.ts';
import type { PipelineContext } from '../context.ts';
import { backfillScope, settleDownstream } from '../events/settle.ts';
import { logGateOverride } from '../logs/run-log.ts';
import type { TakenBatch } from './table-gate.ts';

/** Reads the batch's backfill records once (their `--allow-*` flags). */
async function recordsOf(ctx: PipelineContext, batch: TakenBatch): Promise<Map<string, BackfillRecord | undefined>> {
  const ids = new Set(Object.values(batch.entries).map((e) => e.backfillId));
  const out = new Map<string, BackfillRecord | undefined>();
  for (const id of ids) if (id) out.set(id, await getBackfill(ctx, id).catch(() => undefined));
  return out;
}

/** Where an allowed move takes a slice's units from: the other slices holding them now. */
export interface SliceMove {
  from: string[];
  units: string[];
}

export interface GateVerdicts {
  /** The allowed overrides (`--allow-shrink`, `--allow-move`), for the commit's log lines. */
  overrides: Map<string, SliceVerdict>;
  /** Per slice of the batch that re-dates units the warehouse holds under other slices. */
  moves: Map<string, SliceMove>;
  /** The batch without the refused slices: what the commit lands. */
  batch: TakenBatch;
}

/**
 * The other slices holding a staged slice's units: the partitions the commit must also delete
 * those units from (the MERGE touches only its own partitions plus these).
 */
function movesOf(staged: readonly StagedSlice[], holdings: readonly Holding[], batchSlices: ReadonlySet<string>): Map<string, SliceMove> {
  const whereHeld = new Map<string, Set<string>>();
  for (const h of holdings) {
    if (batchSlices.has(h.slice)) continue;
    whereHeld.set(h.unit, (whereHeld.get(h.unit) ?? new Set()).add(h.slice));
  }
  const moves = new Map<string, SliceMove>();
  for (const s of staged) {
    const units = Object.keys(s.units).filter((u) => u !== ALL_ROWS && whereHeld.has(u));
    if (units.length === 0) continue;
    moves.set(s.slice, { from: [...new Set(units.flatMap((u) => [...(whereHeld.get(u) ?? [])]))].sort(), units: units.sort() });
  }
  return moves;
}

/** The moves of the slices still in the batch, as one statement's `moveFrom` / `moveUnits`. */
export function batchMoves(moves: ReadonlyMap<string, SliceMove>, slices: readonly string[]): { moveFrom: string[]; moveUnits: string[] } {
  const from = new Set<string>();
  const units = new Set<string>();
  for (const slice of slices) {
    const m = moves.get(slice);
    if (!m) continue;
    for (const f of m.from) from.add(f);
    for (const u of m.units) units.add(u);
  }
  return { moveFrom: [...from].sort(), moveUnits: [...units].sort() };
}

/**
 * Whether a batch's statement can carry the guard instead of the gate's read before it
 * (`CommitBatch.guard`). Not when the gate must judge the batch itself first: an entry staged
 * without unit counts, or a backfill that allows a shrink or a move (whose overrides are
 * judged, logged and carried out here).
 */
export async function guardable(ctx: PipelineContext, batch: TakenBatch): Promise<boolean> {
  const entries = batch.slices.map((slice) => batch.entries[slice]);
  if (entries.length === 0 || entries.some((e) => !e?.units)) return false;
  const records = await recordsOf(ctx, batch);
  return entries.every((e) => {
    const record = e?.backfillId ? records.get(e.backfillId) : undefined;
    return !record?.allowShrink && !record?.allowMove;
  });
}

/** The batch's slices with their staged units, as a guarded statement carries them (every entry has units: `guardable`). */
export function guardedSlices(batch: TakenBatch): GuardedSlice[] {
  return batch.slices.map((slice) => ({ slice, units: batch.entries[slice]?.units ?? {} }));
}

/**
 * Judges a batch against the warehouse and takes the refused slices out of it (their statuses
 * say why). Returns the allowed overrides, for the commit's log lines, and the moves the
 * commit's statement must carry out.
 */
export async function gateIntegrity(ctx: PipelineContext, table: string, spec: TableSpec, batch: TakenBatch, jobId: string): Promise<GateVerdicts> {
  const records = await recordsOf(ctx, batch);
  const staged: StagedSlice[] = [];
  for (const slice of batch.slices) {
    const entry = batch.entries[slice];
    // An entry staged before integrity checks existed carries no unit counts: nothing to compare.
    if (!entry?.units) continue;
    const record = entry.backfillId ? records.get(entry.backfillId) : undefined;
    staged.push({ slice, units: entry.units, allowShrink: record?.allowShrink === true, allowMove: record?.allowMove === true });
  }
  if (staged.length === 0) return { overrides: new Map(), moves: new Map(), batch };
  const { slices, units } = holdingsToRead(spec, staged);
  const warehouse = await ctx.warehouse();
  const holdings = await warehouse.unitHoldings(spec, slices, units);
  const def = ctx.registry.writerOf(table);
  const verdicts = judgeBatch(spec, staged, holdings);
  const refused: string[] = [];
  const allowed = new Map<string, SliceVerdict>();
  for (const [slice, verdict] of verdicts) {
    const entry = batch.entries[slice];
    if (!entry) continue;
    if (verdict.allowed) {
      allowed.set(slice, verdict);
      log.warn(`${table} ${slice}: ${verdict.message}`);
      await logGateOverride(ctx, {
        processor: entry.processor,
        phase: def.phase,
        slice,
        backfillId: entry.backfillId,
        jobId,
        rows: entry.rows,
        notes: verdict.message,
      });
      continue;
    }
    refused.push(slice);
    const status = verdict.kind === 'shrink' ? 'incomplete' : 'failed';
    const error = `${table} ${slice}: ${verdict.message}`;
    log.warn(error);
    await ctx.statuses.update(entry.processor, slice, {
      status,
      error,
      missingGames: entry.missing,
      nothingLanded: status === 'incomplete' ? true : undefined,
      nextTryAt: undefined,
    });
    await settleDownstream(ctx, entry.processor, slice, await backfillScope(ctx, entry.backfillId));
  }
  let rest = batch;
  if (refused.length > 0) {
    const objects = refused.map((s) => batch.entries[s]?.object).filter((o): o is string => !!o);
    rest = await ctx.gate.drop(table, batch, refused);
    // A few at a time (delete-many.ts); a failed delete leaves an object for the staging/ lifecycle rule.
    await deleteMany(ctx.store, objects).catch((err: unknown) => log.warn(`${table}: refused slices' staged objects: ${(err as Error).message}`));
  }
  const kept = new Set(rest.slices);
  const moves = canMove(spec)
    ? movesOf(
        staged.filter((s) => kept.has(s.slice)),
        holdings,
        kept,
      )
    : new Map<string, SliceMove>();
  return { overrides: allowed, moves, batch: rest };
}
