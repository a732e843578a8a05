/**
 * The gate side of commit-time integrity: what a batch would do to rows the warehouse already
 * holds. A MERGE matches on the primary key and deletes a batch slice's rows that are not
 * staged, so a slice staged with fewer games would delete the others, and a game staged under
 * another date would be moved there. Neither happens silently: such a slice stops, naming the
 * counts or both dates, unless the backfill allowed it (`--allow-shrink`, `--allow-move`).
 */
import type { TableSpec } from '../processors/types.ts';
import { ALL_ROWS } from './slice-check.ts';

/** Rows the warehouse holds per (slice, unit); `unit` is `*` for a table without a unit column. */
export interface Holding {
  slice: string;
  unit: string;
  rows: number;
}

export interface StagedSlice {
  slice: string;
  /** Staged rows per unit, as staging counted them. */
  units: Record<string, number>;
  allowShrink: boolean;
  allowMove: boolean;
}

export interface SliceVerdict {
  kind: 'shrink' | 'move';
  /** The line a person reads on the slice's status. */
  message: string;
  /** The backfill allowed it: the slice commits and the message is logged. */
  allowed: boolean;
}

/** Whether a key of this table can sit under another slice at all. */
export function canMove(spec: TableSpec): boolean {
  return spec.unitColumn !== undefined && !spec.primaryKey.includes(spec.sliceColumn);
}

function total(units: Record<string, number>): number {
  return Object.values(units).reduce((n, v) => n + v, 0);
}

function countLine(units: Record<string, number>, unitName: string): string {
  const n = Object.keys(units).filter((u) => u !== ALL_ROWS).length;
  return ALL_ROWS in units ? `${total(units)} rows` : `${n} ${unitName} (${total(units)} rows)`;
}

/**
 * The slices of a batch that would shrink or move committed rows, each with its reason.
 * Slices not in the map commit as staged.
 */
export function judgeBatch(spec: TableSpec, staged: readonly StagedSlice[], holdings: readonly Holding[], unitName = 'games'): Map<string, SliceVerdict> {
  const held = new Map<string, Record<string, number>>();
  const whereHeld = new Map<string, string[]>();
  for (const h of holdings) {
    const units = held.get(h.slice) ?? {};
    units[h.unit] = (units[h.unit] ?? 0) + h.rows;
    held.set(h.slice, units);
    whereHeld.set(h.unit, [...(whereHeld.get(h.unit) ?? []), h.slice]);
  }
  const verdicts = new Map<string, SliceVerdict>();
  for (const s of staged) {
    if (canMove(spec)) {
      const moved = Object.keys(s.units)
        .map((u) => [u, (whereHeld.get(u) ?? []).filter((d) => d !== s.slice)] as const)
        .filter(([, others]) => others.length > 0);
      if (moved.length > 0) {
        const what = moved.map(([u, others]) => `${u} (held under ${others.join(', ')})`).join('; ');
        verdicts.set(s.slice, {
          kind: 'move',
          message: `would move ${spec.unitColumn} ${what} to ${s.slice}${s.allowMove ? ' (allowed by --allow-move)' : '; check the raw files, or rerun with --allow-move'}`,
          allowed: s.allowMove,
        });
        continue;
      }
    }
    const before = held.get(s.slice);
    if (!before) continue;
    const fewer = Object.entries(before)
      .filter(([u, rows]) => (s.units[u] ?? 0) < rows)
      .map(([u, rows]) => (u === ALL_ROWS ? `${rows} → ${s.units[u] ?? 0} rows` : `${u} ${rows} → ${s.units[u] ?? 0} rows`));
    if (fewer.length === 0) continue;
    verdicts.set(s.slice, {
      kind: 'shrink',
      message:
        `would shrink: staged ${countLine(s.units, unitName)}, the warehouse holds ${countLine(before, unitName)}; fewer: ${fewer.slice(0, 8).join(', ')}` +
        `${fewer.length > 8 ? `, … (${fewer.length} in all)` : ''}${s.allowShrink ? ' (allowed by --allow-shrink)' : '; rerun with --allow-shrink to accept'}`,
      allowed: s.allowShrink,
    });
  }
  return verdicts;
}

/**
 * A slice as a guarded commit lands it: what staging counted per unit. The commit's own
 * statement judges it against what the warehouse holds at that moment (`CommitBatch.guard`), so
 * a clean batch — nearly every one — needs no read of its own before the MERGE.
 */
export interface GuardedSlice {
  slice: string;
  units: Record<string, number>;
}

/**
 * What a judgement of `staged` reads (`Warehouse.unitHoldings`): the slices' holdings and,
 * where a key can sit under another slice, its units' holdings wherever they are.
 */
export function holdingsToRead(spec: TableSpec, staged: readonly Pick<StagedSlice, 'slice' | 'units'>[]): { slices: string[]; units: string[] } {
  const units = canMove(spec) ? [...new Set(staged.flatMap((s) => Object.keys(s.units)))].filter((u) => u !== ALL_ROWS) : [];
  return { slices: staged.map((s) => s.slice), units };
}

/** Whether landing `staged` as staged would shrink or move anything `holdings` shows (no overrides). */
export function wouldHarm(spec: TableSpec, staged: readonly GuardedSlice[], holdings: readonly Holding[]): boolean {
  const plain = staged.map((s) => ({ ...s, allowShrink: false, allowMove: false }));
  return judgeBatch(spec, plain, holdings).size > 0;
}
