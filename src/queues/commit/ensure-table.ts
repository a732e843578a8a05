/** `ensureTable` once per warehouse and table in a process: a commit, or a read of an input table that may not exist yet. */
import { type TableSpec, tableId } from '../../processors/types.ts';
import type { PipelineContext } from '../context.ts';

const ensured = new WeakMap<object, Set<string>>();

export async function ensureTableOnce(ctx: Pick<PipelineContext, 'warehouse'>, spec: TableSpec): Promise<void> {
  const warehouse = await ctx.warehouse();
  let done = ensured.get(warehouse);
  if (!done) {
    done = new Set();
    ensured.set(warehouse, done);
  }
  const id = tableId(spec);
  if (done.has(id)) return;
  await warehouse.ensureTable(spec);
  done.add(id);
}
