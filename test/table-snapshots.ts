/**
 * Whole-table snapshots to compare two runs' warehouses: every row of a table, without the
 * volatile columns, keyed by its primary key — and the differences between two of them, a few
 * spelled out.
 */
import { type Row, type TableSpec, tableId } from '../src/processors/types.ts';
import type { Warehouse } from '../src/warehouse/types.ts';

/**
 * Columns left out of a comparison between runs: `processed_at` (every table) is the
 * wall-clock time the job that produced the row ran, so it differs between any two runs.
 * Every other column — `source_file` and `quality_issues` included — must match.
 */
export const VOLATILE = new Set(['processed_at']);

export interface SnapshotRow {
  key: string;
  row: Row;
}

/** A table's rows without the volatile columns, sorted by primary key, with their key as a string. */
export async function snapshot(w: Pick<Warehouse, 'ensureTable' | 'query'>, spec: TableSpec): Promise<SnapshotRow[]> {
  await w.ensureTable(spec);
  const cols = spec.columns.filter((c) => !VOLATILE.has(c.name)).map((c) => c.name);
  const rows = await w.query(`SELECT ${cols.join(', ')} FROM ${tableId(spec)}`);
  return rows
    .map((row) => ({ key: spec.primaryKey.map((k) => String(row[k])).join('|'), row: row as Row }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The differences between two snapshots, each one line (`want` is the reference run's). */
export function differences(table: string, got: SnapshotRow[], want: SnapshotRow[]): string[] {
  const out: string[] = [];
  const mine = new Map(got.map((r) => [r.key, r.row]));
  const theirs = new Map(want.map((r) => [r.key, r.row]));
  for (const [k, row] of theirs) {
    const have = mine.get(k);
    if (!have) out.push(`${table} ${k}: missing`);
    else {
      const cols = Object.keys(row).filter((c) => JSON.stringify(row[c]) !== JSON.stringify(have[c]));
      if (cols.length > 0) out.push(`${table} ${k}: ${cols.map((c) => `${c} ${JSON.stringify(have[c])} ≠ reference ${JSON.stringify(row[c])}`).join(', ')}`);
    }
  }
  for (const k of mine.keys()) if (!theirs.has(k)) out.push(`${table} ${k}: not in the reference run`);
  return out;
}
