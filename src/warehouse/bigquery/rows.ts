/**
 * BigQuery's REST result rows (`{f: [{v}]}` with a schema beside them) → plain rows as the
 * rest of phasegate sees them: DATE `YYYY-MM-DD`, TIMESTAMP an ISO-8601 string, numbers as
 * numbers, the same shapes the DuckDB warehouse returns. Results are read with
 * `formatOptions.useInt64Timestamp`, so a TIMESTAMP arrives as integer microseconds.
 */
import type { Cell, Row } from '../../processors/types.ts';
import { rowMaker } from '../row-shape.ts';

export interface ResultField {
  name?: string | null;
  type?: string | null;
  mode?: string | null;
  fields?: ResultField[] | null;
}

/** One REST cell; `v` is a string, null, a nested `{f}` record or an array of `{v}`. */
export interface ResultCell {
  v?: unknown;
}

export interface ResultRow {
  f?: ResultCell[] | null;
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

/** `1704067200123456` µs → `2024-01-01T00:00:00.123456Z`, keeping microseconds when present. */
export function microsToIso(micros: bigint): string {
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const rest = Number(micros - millis * 1000n);
  const iso = new Date(Number(millis)).toISOString();
  return rest === 0 ? iso : iso.replace(/Z$/, `${String(rest).padStart(3, '0')}Z`);
}

function timestamp(v: string): string {
  if (/^-?\d+$/.test(v)) return microsToIso(BigInt(v));
  // Without useInt64Timestamp the API answers float seconds, e.g. `1.7040672E9`.
  return new Date(Math.round(Number(v) * 1000)).toISOString();
}

function scalar(type: string, v: string): Plain {
  switch (type) {
    case 'INTEGER':
    case 'INT64': {
      const n = Number(v);
      // Beyond 2^53 a JS number would silently change the value; keep the digits instead.
      return Number.isSafeInteger(n) ? n : v;
    }
    case 'FLOAT':
    case 'FLOAT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return Number(v);
    case 'BOOLEAN':
    case 'BOOL':
      return v === 'true';
    case 'TIMESTAMP':
      return timestamp(v);
    default:
      // STRING, DATE, DATETIME, TIME, JSON (its text), BYTES (base64), GEOGRAPHY (WKT).
      return v;
  }
}

function value(field: ResultField, v: unknown): Plain {
  if (v === null || v === undefined) return null;
  if (field.mode === 'REPEATED') {
    const items = Array.isArray(v) ? (v as ResultCell[]) : [];
    return items.map((item) => value({ ...field, mode: 'NULLABLE' }, item.v));
  }
  if (field.type === 'RECORD' || field.type === 'STRUCT') {
    const cells = (v as ResultRow).f ?? [];
    return Object.fromEntries((field.fields ?? []).map((sub, i) => [sub.name ?? `f${i}`, value(sub, cells[i]?.v)]));
  }
  return scalar(field.type ?? 'STRING', String(v));
}

/** Nested values (ARRAY, STRUCT) become JSON text: a Cell is a scalar. */
function toCell(v: Plain): Cell {
  return v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
}

/** One table's columns in a result: its names, held in fields `offset`… of each row (0 for a result of one table). */
export interface ResultPart {
  names: readonly string[];
  offset: number;
}

/** Makes a part's row from a result row's cells, every row of the part in one shape (src/warehouse/row-shape.ts). */
function partRow(fields: readonly ResultField[], part: ResultPart): (cells: readonly ResultCell[]) => Row {
  const emptyRow = rowMaker(part.names);
  return (cells) => {
    const out = emptyRow();
    part.names.forEach((name, k) => {
      const at = part.offset + k;
      out[name] = toCell(value(fields[at] ?? {}, cells[at]?.v));
    });
    return out;
  };
}

/** Every row of the result in one shape. */
export function decodeRows(fields: readonly ResultField[], rows: readonly ResultRow[]): Row[] {
  const make = partRow(fields, { names: fields.map((field, i) => field.name ?? `f${i}`), offset: 0 });
  return rows.map((row) => make(row.f ?? []));
}

/**
 * Rows of a result reading several tables, whose first field names the part each row is of
 * (0, 1, …): each part's rows under its own names, in one shape per part.
 */
export function decodePartRows(fields: readonly ResultField[], rows: readonly ResultRow[], parts: readonly ResultPart[]): Row[][] {
  const out = parts.map((): Row[] => []);
  const makers = parts.map((p) => partRow(fields, p));
  for (const row of rows) {
    const cells = row.f ?? [];
    const i = Number(cells[0]?.v);
    const make = makers[i];
    if (!make) throw new Error(`a result row of no part read: ${String(cells[0]?.v)}`);
    out[i]?.push(make(cells));
  }
  return out;
}
