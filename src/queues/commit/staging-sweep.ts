/**
 * What stopped runs left in a local store's `staging/<table>/`: the `.tmp` of writes a full
 * disk or a kill interrupted, and staged objects no pending slice or batch in flight refers
 * to (a slice staged again whose old object could not be deleted, a landed batch whose delete
 * failed, staging whose pending entries a Redis without persistence lost). Run when a table
 * gate starts. A bucket has its lifecycle rule for this instead (README, "A lifecycle rule").
 */
import path from 'node:path';
import { log } from '../../log.ts';
import { tableId } from '../../processors/types.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import type { PipelineContext } from '../context.ts';

/**
 * A phase job puts its object and registers it as pending a moment later, in another process
 * perhaps: a file younger than this may be one whose entry is on its way.
 */
export const STAGING_SWEEP_GRACE_MS = 10 * 60_000;

export interface StagingSweep {
  partialWrites: number;
  unreferenced: number;
}

export async function sweepStaging(ctx: PipelineContext, table: string, now = Date.now()): Promise<StagingSweep> {
  const swept: StagingSweep = { partialWrites: 0, unreferenced: 0 };
  const store = ctx.store;
  if (!(store instanceof LocalObjectStore)) return swept;
  const prefix = `staging/${table}/`;
  const before = now - STAGING_SWEEP_GRACE_MS;
  swept.partialWrites = (await store.removePartialWrites(prefix, before)).length;
  const referenced = new Set<string>();
  for (const entry of (await ctx.gate.pending(table)).values()) if (entry.object) referenced.add(entry.object);
  for (const batch of (await ctx.gate.takenBatches(table)).values())
    for (const entry of Object.values(batch.entries)) if (entry?.object) referenced.add(entry.object);
  // A log table's batch that could not land keeps its objects for a person to look at
  // (README): of those only empty files go.
  const keepUnreferenced = !ctx.registry.all().some((def) => def.kind === 'transform' && tableId(def.table) === table);
  for (const key of await store.list(prefix)) {
    if (referenced.has(key)) continue;
    const info = await store.statObject(key);
    if (!info || info.modifiedMs >= before || (keepUnreferenced && info.bytes > 0)) continue;
    await store.delete(key);
    swept.unreferenced += 1;
  }
  if (swept.partialWrites + swept.unreferenced > 0)
    log.info(
      `${table}: removed ${swept.partialWrites + swept.unreferenced} staging files stopped runs left in ${path.join(store.root, 'staging', table)} (${swept.partialWrites} interrupted writes, ${swept.unreferenced} no pending slice refers to)`,
    );
  return swept;
}
