/**
 * The table gate's integrity step, run on every merge batch before its MERGE: one read of what
 * the warehouse holds for the batch's slices and games, then a verdict per slice
 * (src/integrity/holdings.ts). A slice that would shrink what the warehouse holds stops as
 * `incomplete`, one that would move a game from another date fails naming both dates; the
 * other slices of the batch land. A backfill started with `--allow-shrink` / `--allow-move`
 * lets them through, and the run log says so.
 */
import { canMove, judgeBatch, type SliceVerdict, type StagedSlice } from '../integrity/holdings.ts';
import { ALL_ROWS } from '../integrity/slice-check.ts';
import { log } from '../log.ts';
import type { TableSpec } from '../processors/types.ts';
import { type BackfillRecord, getBackfill } from './backfill.ts';
import type { PipelineContext } from './context.ts';
import { logGateOverride } from './run-log.ts';
import { backfillScope, settleDownstream } from './settle.ts';
import type { TakenBatch } from './table-gate.ts';

/** Reads the batch's backfill records once (their `--allow-*` flags). */
async function recordsOf(ctx: PipelineContext, batch: TakenBatch): Promise<Map<string, BackfillRecord | undefined>> {
  const ids = new Set(Object.values(batch.entries).map((e) => e.backfillId));
  const out = new Map<string, BackfillRecord | undefined>();
  for (const id of ids) if (id) out.set(id, await getBackfill(ctx, id).catch(() => undefined));
  return out;
}

/**
 * Judges a batch against the warehouse and takes the refused slices out of it (their statuses
 * say why). Returns the allowed overrides, for the commit's log lines.
 */
export async function gateIntegrity(
  ctx: PipelineContext,
  table: string,
  spec: TableSpec,
  batch: TakenBatch,
  jobId: string,
): Promise<Map<string, SliceVerdict>> {
  const records = await recordsOf(ctx, batch);
  const staged: StagedSlice[] = [];
  for (const slice of batch.slices) {
    const entry = batch.entries[slice];
    // An entry staged before integrity checks existed carries no unit counts: nothing to compare.
    if (!entry?.units) continue;
    const record = entry.backfillId ? records.get(entry.backfillId) : undefined;
    staged.push({ slice, units: entry.units, allowShrink: record?.allowShrink === true, allowMove: record?.allowMove === true });
  }
  if (staged.length === 0) return new Map();
  const units = canMove(spec) ? [...new Set(staged.flatMap((s) => Object.keys(s.units)))].filter((u) => u !== ALL_ROWS) : [];
  const warehouse = await ctx.warehouse();
  const holdings = await warehouse.unitHoldings(
    spec,
    staged.map((s) => s.slice),
    units,
  );
  const verdicts = judgeBatch(spec, staged, holdings);
  const refused: string[] = [];
  const allowed = new Map<string, SliceVerdict>();
  for (const [slice, verdict] of verdicts) {
    const entry = batch.entries[slice];
    if (!entry) continue;
    const def = ctx.registry.writerOf(table);
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
    await settleDownstream(ctx, entry.processor, slice, await backfillScope(ctx, entry.backfillId), {
      status,
      error: `upstream ${entry.processor}: ${verdict.message}`,
      nothingLanded: status === 'incomplete' ? true : undefined,
    });
  }
  if (refused.length > 0) {
    const objects = refused.map((s) => batch.entries[s]?.object).filter((o): o is string => !!o);
    await ctx.gate.drop(table, batch, refused);
    await Promise.all(objects.map((o) => ctx.store.delete(o).catch(() => undefined)));
  }
  return allowed;
}
