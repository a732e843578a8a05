/**
 * Staging: a phase job writes its rows as NDJSON to the object store and registers them as
 * pending for the target table; the table's commit queue lands them later, in a batch.
 */
import { createHash } from 'node:crypto';
import { scaledMs, tableLimits } from '../config/index.ts';
import { InputError } from '../errors/input-error.ts';
import { type Row, type TransformDef, tableId } from '../processors/types.ts';
import type { PipelineContext } from './context.ts';
import { JOB_NAMES } from './names.ts';
import type { PendingSlice } from './table-gate.ts';

export function stagingKey(table: string, slice: string, body: string): string {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  // A new key per staging: a commit in flight keeps reading the version it took.
  return `staging/${table}/${slice}/${Date.now()}-${hash}.ndjson`;
}

export async function stageRows(
  ctx: PipelineContext,
  def: TransformDef,
  slice: string,
  rows: readonly Row[],
  backfillId: string | undefined,
): Promise<PendingSlice> {
  const table = tableId(def.table);
  for (const row of rows) {
    // A row outside the job's slice would escape the MERGE's slice-scoped delete.
    if (row[def.table.sliceColumn] !== slice) {
      throw new InputError(`${def.name} produced a row with ${def.table.sliceColumn}=${String(row[def.table.sliceColumn])} for slice ${slice}`);
    }
  }
  const body = rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : '');
  const object = stagingKey(table, slice, body);
  await ctx.store.put(object, body);
  const entry: PendingSlice = { object, rows: rows.length, processor: def.name, stagedAt: new Date().toISOString(), backfillId };
  const { seq, pending } = await ctx.gate.register(table, slice, entry);
  await ensureCommitJob(ctx, table, seq, pending);
  return entry;
}

/**
 * Makes sure a commit job will take the table's pending slices. Its id comes from the
 * table's commit sequence, so every phase job staging before the commit takes its batch
 * lands in the same job (BullMQ ignores a duplicate id). The job waits a gather window so a
 * burst of phase jobs becomes one statement; a full batch starts it at once.
 */
export async function ensureCommitJob(ctx: PipelineContext, table: string, seq: number, pending: number): Promise<void> {
  const queue = ctx.queues.commit(table);
  const jobId = `c${seq}`;
  const limits = tableLimits(ctx.config, table);
  const full = pending >= limits.commitMaxSlices;
  const job = await queue.add(JOB_NAMES.commit, { table }, { jobId, delay: full ? 0 : scaledMs(ctx.config, limits.gatherSeconds) });
  if (full && (await job.isDelayed())) await job.promote().catch(() => undefined);
}
