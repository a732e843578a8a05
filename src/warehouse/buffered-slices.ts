/**
 * The streaming-buffer capability of a warehouse that has one (BigQuery, and the rules layer
 * emulating it): which slices a MERGE cannot touch yet. BigQuery refuses UPDATE/DELETE/MERGE
 * over partitions holding streamed rows for ~30–90 minutes; phasegate never streams, but other
 * writers to the same tables may.
 */
import type { TableSpec } from '../processors/types.ts';
import type { BufferedSlices, EmulatedWarehouse, StreamingBufferCapability, Warehouse } from './types.ts';

/** The column a row's processing time is read from; streamed rows carry it too. */
export const PROCESSED_AT = 'processed_at';

/** The spec's `processed_at` column when it is a TIMESTAMP: what tells buffered slices apart. */
export function processedAtColumn(spec: TableSpec): string | undefined {
  return spec.columns.find((c) => c.name === PROCESSED_AT && c.type === 'TIMESTAMP')?.name;
}

/**
 * Which of `slices` sit in partitions that still hold streamed rows: none when `tables.get`
 * shows no `streamingBuffer`; else those with rows processed since the buffer's
 * `oldestEntryTime` (less `slackMs`, since a row is processed a little before it is streamed),
 * by a parameterized query — a read, not a DML statement. Without a `processed_at` column the
 * slices cannot be told apart, so all of them are taken to conflict (the safe side).
 */
export function streamingBufferOf(warehouse: Pick<Warehouse, 'tableMetadata'> & Pick<EmulatedWarehouse, 'slicesWithRowsSince'>): StreamingBufferCapability {
  return {
    async bufferedSlices(spec: TableSpec, slices: readonly string[], slackMs: number): Promise<BufferedSlices> {
      if (slices.length === 0) return { slices: [] };
      const buffer = (await warehouse.tableMetadata(spec)).streamingBuffer;
      if (!buffer) return { slices: [] };
      const column = processedAtColumn(spec);
      if (!column) return { slices: [...slices], oldestEntryTime: buffer.oldestEntryTime };
      const since = new Date(buffer.oldestEntryTime.getTime() - slackMs);
      return { slices: await warehouse.slicesWithRowsSince(spec, slices, since, column), oldestEntryTime: buffer.oldestEntryTime };
    },
  };
}
