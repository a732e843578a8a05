/**
 * Slices a table gate holds back, per table, from Redis: waiting for their next try (the
 * streaming buffer still holds their partition, or an open breaker holds the retries) or
 * deferred after the maximum wait, and since when the oldest has been held.
 */
import { holdInfos } from '../../queues/conflicts/hold.ts';
import type { PipelineContext } from '../../queues/context.ts';

export interface HeldSlices {
  table: string;
  /** Held with a time for their next try. */
  waiting: number;
  /** Kept, but taken again only when a person retries them (`phasegate retry --deferred`). */
  deferred: number;
  /** When the longest-held of them first met the hold (ms); undefined when none is held. */
  oldestSince?: number | undefined;
}

/** Every table phasegate MERGEs into (log tables are never held). */
export async function heldSlices(ctx: PipelineContext): Promise<HeldSlices[]> {
  const tables = ctx.registry.gatedTables().filter((t) => !ctx.registry.isLogTable(t));
  return Promise.all(
    tables.map(async (table): Promise<HeldSlices> => {
      const held = await ctx.gate.held(table);
      const deferred = held.filter((h) => !Number.isFinite(h.dueMs)).length;
      if (held.length === 0) return { table, waiting: 0, deferred: 0 };
      const fields = held.map((h) => h.field);
      const infos = await holdInfos(ctx, table, fields);
      // The first conflict's time; a slice held without notes counts from its staging.
      const pending = fields.some((f) => !infos.get(f)?.firstAt) ? await ctx.gate.pending(table) : undefined;
      const since = fields.map((f) => Date.parse(infos.get(f)?.firstAt ?? pending?.get(f)?.stagedAt ?? '')).filter(Number.isFinite);
      return { table, waiting: held.length - deferred, deferred, oldestSince: since.length > 0 ? Math.min(...since) : undefined };
    }),
  );
}
