/**
 * Reading warehouse rows back into typed values. Rows come from `ctx.readTable` (DuckDB or
 * BigQuery), where INT64 may arrive as a number or, beyond 2^53, as a string, and a player
 * who sat has null stats: these helpers are the one place that decides what such a cell means.
 */
import { DefinitionError } from '../../errors/definition-error.ts';
import { InputError } from '../../errors/input-error.ts';
import type { Cell, Row, TableSpec } from '../types.ts';
import type { Counts } from './formulas.ts';

function where(row: Row, table: string): string {
  return `${table} row ${String(row.game_id ?? '?')}/${String(row.player_id ?? row.team_id ?? '?')}`;
}

/** A number cell; null stays null. A value that is not a number is bad input, not a zero. */
export function optNumber(row: Row, column: string, table: string): number | null {
  const v: Cell | undefined = row[column];
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) throw new InputError(`${where(row, table)}: ${column} is ${JSON.stringify(v)}, not a number`);
  return n;
}

/** A counting stat: null (a line with no stats) counts as zero. */
export function count(row: Row, column: string, table: string): number {
  return optNumber(row, column, table) ?? 0;
}

export function requiredNumber(row: Row, column: string, table: string): number {
  const n = optNumber(row, column, table);
  if (n === null) throw new InputError(`${where(row, table)}: ${column} is null`);
  return n;
}

export function optString(row: Row, column: string): string | null {
  const v = row[column];
  return v === null || v === undefined ? null : String(v);
}

export function requiredString(row: Row, column: string, table: string): string {
  const v = optString(row, column);
  if (v === null) throw new InputError(`${where(row, table)}: ${column} is null`);
  return v;
}

export function optBool(row: Row, column: string): boolean | null {
  const v = row[column];
  if (v === null || v === undefined) return null;
  return v === true || v === 'true' || v === 1;
}

/** The counting stats the formulas need, from a raw box-score row. */
export function countsOf(row: Row, table: string): Counts {
  return {
    fgm: count(row, 'fgm', table),
    fga: count(row, 'fga', table),
    fg3m: count(row, 'fg3m', table),
    fg3a: count(row, 'fg3a', table),
    ftm: count(row, 'ftm', table),
    fta: count(row, 'fta', table),
    oreb: count(row, 'oreb', table),
    dreb: count(row, 'dreb', table),
    tov: count(row, 'tov', table),
    pts: count(row, 'pts', table),
  };
}

export function addCounts(a: Counts, b: Counts): Counts {
  return {
    fgm: a.fgm + b.fgm,
    fga: a.fga + b.fga,
    fg3m: a.fg3m + b.fg3m,
    fg3a: a.fg3a + b.fg3a,
    ftm: a.ftm + b.ftm,
    fta: a.fta + b.fta,
    oreb: a.oreb + b.oreb,
    dreb: a.dreb + b.dreb,
    tov: a.tov + b.tov,
    pts: a.pts + b.pts,
  };
}

export const ZERO_COUNTS: Counts = { fgm: 0, fga: 0, fg3m: 0, fg3a: 0, ftm: 0, fta: 0, oreb: 0, dreb: 0, tov: 0, pts: 0 };

/**
 * The same table, read through fewer columns: both warehouses select exactly the spec's
 * columns, so a look-back over a season reads (and BigQuery bills) only what it uses. The
 * primary key and slice column always stay, as the reads order by them.
 */
export function projection(spec: TableSpec, columns: readonly string[]): TableSpec {
  const keep = new Set([...columns, ...spec.primaryKey, spec.sliceColumn]);
  const missing = [...keep].filter((c) => !spec.columns.some((col) => col.name === c));
  if (missing.length > 0) throw new DefinitionError(`projection of ${spec.dataset}.${spec.table}: no column ${missing.join(', ')}`);
  return { ...spec, columns: spec.columns.filter((c) => keep.has(c.name)) };
}
