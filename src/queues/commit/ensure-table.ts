/**
 * `ensureTable` once per warehouse and table in a process: a commit, or a read of an input table
 * that may not exist yet. Callers at the same time share the one call: a wave of phase 3–5 jobs
 * reading a table nobody has written yet (a fallback source that never ran) each created it, a
 * burst of DDL — table operations — that BigQuery refused past its rate ("too many table update
 * operations"), failing those jobs' attempts. A failed call is forgotten, so the next one tries.
 */
import { type TableSpec, tableId } from '../../processors/types.ts';
import type { PipelineContext } from '../context.ts';

const ensured = new WeakMap<object, Map<string, Promise<void>>>();

/**
 * `beforeFirst` runs before the process's first `ensureTable` of the table, which may be DDL (a
 * table operation): a commit takes the operation's place in the table's rate window there.
 */
export function ensureTableOnce(ctx: Pick<PipelineContext, 'warehouse'>, spec: TableSpec, beforeFirst?: () => Promise<void>): Promise<void> {
  return ctx.warehouse().then((warehouse) => {
    let calls = ensured.get(warehouse);
    if (!calls) {
      calls = new Map();
      ensured.set(warehouse, calls);
    }
    const id = tableId(spec);
    const known = calls.get(id);
    if (known) return known;
    const call = (async () => {
      await beforeFirst?.();
      await warehouse.ensureTable(spec);
    })();
    calls.set(id, call);
    call.catch(() => calls.delete(id));
    return call;
  });
}
