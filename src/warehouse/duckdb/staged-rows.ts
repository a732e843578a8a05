/**
 * Staged NDJSON → typed rows ready for the DuckDB appender. Every check a BigQuery load job
 * would make (unknown field, missing required field, wrong type) happens here, in JS, so the
 * error can name the object and line instead of surfacing as a DuckDB cast error mid-MERGE.
 */
import { PermanentError } from '../../errors/permanent-error.ts';
import type { Column, TableSpec } from '../../processors/types.ts';
import { tableId } from '../../processors/types.ts';

/** A value normalised for its column: INT64 → bigint, FLOAT64 → number, BOOL → boolean, others → string. */
export type StagedValue = string | number | bigint | boolean | null;
/** One row's values in `spec.columns` order. */
export type StagedRow = StagedValue[];

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// BigQuery accepts `T` or a space, up to microseconds, and `Z`, `UTC` or an offset (none = UTC).
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;
const INT = /^[+-]?\d+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

class CellError extends Error {}

function isValidDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

function toInt64(value: unknown): bigint {
  let n: bigint;
  if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && INT.test(value.trim())) n = BigInt(value.trim());
  else throw new CellError(`expected INT64, got ${JSON.stringify(value)}`);
  if (n < INT64_MIN || n > INT64_MAX) throw new CellError(`INT64 out of range: ${String(value)}`);
  return n;
}

function toFloat64(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const t = value.trim();
    if (t === 'NaN') return Number.NaN;
    if (t === 'Infinity' || t === '+Infinity') return Number.POSITIVE_INFINITY;
    if (t === '-Infinity') return Number.NEGATIVE_INFINITY;
    const n = Number(t);
    if (t !== '' && Number.isFinite(n)) return n;
  }
  throw new CellError(`expected FLOAT64, got ${JSON.stringify(value)}`);
}

function toBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new CellError(`expected BOOL, got ${JSON.stringify(value)}`);
}

function toTimestamp(value: unknown): string {
  if (typeof value === 'string') {
    const m = TIMESTAMP.exec(value.trim());
    if (m?.[1] && isValidDate(m[1])) {
      const zone = !m[3] || m[3].toUpperCase() === 'UTC' ? 'Z' : m[3];
      const iso = `${m[1]}T${m[2] ?? '00:00'}${zone}`;
      if (!Number.isNaN(Date.parse(iso))) return iso;
    }
  }
  throw new CellError(`expected TIMESTAMP, got ${JSON.stringify(value)}`);
}

/** A JSON column takes any JSON value; a string is taken as JSON text and must parse. */
function toJsonText(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value);
  try {
    JSON.parse(value);
  } catch {
    throw new CellError(`expected JSON text, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function normaliseCell(col: Column, value: unknown): StagedValue {
  if (value === null || value === undefined) {
    if (col.nullable === false) throw new CellError('required field is missing or null');
    return null;
  }
  switch (col.type) {
    case 'STRING':
      if (typeof value !== 'string') throw new CellError(`expected STRING, got ${JSON.stringify(value)}`);
      return value;
    case 'INT64':
      return toInt64(value);
    case 'FLOAT64':
      return toFloat64(value);
    case 'BOOL':
      return toBool(value);
    case 'DATE':
      if (typeof value !== 'string' || !isValidDate(value)) throw new CellError(`expected DATE YYYY-MM-DD, got ${JSON.stringify(value)}`);
      return value;
    case 'TIMESTAMP':
      return toTimestamp(value);
    case 'JSON':
      return toJsonText(value);
  }
}

export interface ParseOptions {
  /** When given, every row's slice value must be one of them (a commit owns only its slices). */
  allowedSlices?: ReadonlySet<string>;
}

/** A parsed record and the line it came from, for error messages. */
export interface SourceRecord {
  line: number;
  record: unknown;
}

type Normaliser = (value: unknown) => StagedValue;

/**
 * One normaliser per column, built once per object. DATE and TIMESTAMP results are memoised:
 * a batch repeats a handful of dates and `processed_at` values thousands of times, and their
 * checks are most of the parsing cost.
 */
function normalisers(spec: TableSpec): Normaliser[] {
  const keyOrSlice = new Set([...spec.primaryKey, spec.sliceColumn]);
  return spec.columns.map((col) => {
    const memo = col.type === 'DATE' || col.type === 'TIMESTAMP' ? new Map<string, StagedValue>() : undefined;
    const required = keyOrSlice.has(col.name);
    return (value: unknown) => {
      let out: StagedValue;
      if (memo && typeof value === 'string') {
        const hit = memo.get(value);
        if (hit !== undefined) return hit;
        out = normaliseCell(col, value);
        if (memo.size < 10_000) memo.set(value, out);
      } else {
        out = normaliseCell(col, value);
      }
      // Keys and the slice never match as NULL in a MERGE: a NULL there would duplicate rows.
      if (out === null && required) throw new CellError('key or slice column is null');
      return out;
    };
  });
}

/** Parses and checks one object's rows; `source` names it in errors. */
export function parseObjectRows(spec: TableSpec, source: string, records: readonly SourceRecord[], opts: ParseOptions = {}): StagedRow[] {
  const columns = spec.columns;
  const known = new Set(columns.map((c) => c.name));
  const normalise = normalisers(spec);
  const sliceIndex = columns.findIndex((c) => c.name === spec.sliceColumn);
  const fail = (line: number, message: string): never => {
    throw new PermanentError(`${source}: line ${line}: ${message}`, { reason: 'invalid', table: tableId(spec) });
  };
  const out: StagedRow[] = new Array(records.length);
  let n = 0;
  for (const { line, record } of records) {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) fail(line, 'not a JSON object');
    const obj = record as Record<string, unknown>;
    for (const field in obj) {
      // BigQuery load jobs reject unknown fields unless ignoreUnknownValues is set; so do we.
      if (!known.has(field)) fail(line, `no such field: ${field}`);
    }
    const row: StagedRow = new Array(columns.length);
    let i = 0;
    try {
      for (; i < columns.length; i++) row[i] = (normalise[i] as Normaliser)(obj[(columns[i] as Column).name]);
    } catch (err) {
      if (err instanceof CellError) fail(line, `${(columns[i] as Column).name}: ${err.message}`);
      throw err;
    }
    if (opts.allowedSlices && !opts.allowedSlices.has(String(row[sliceIndex]))) {
      fail(line, `${spec.sliceColumn} ${String(row[sliceIndex])} is not one of the batch's slices`);
    }
    out[n++] = row;
  }
  return out;
}

/**
 * Splits NDJSON into parsed records; a line that is not JSON fails naming the object and line.
 * A body read as bytes is decoded a line at a time: V8 makes a text holding one non-ASCII
 * character (Jokić) a two-byte string throughout, and decoding a 175 KB player date whole took
 * five times as long as its lines one by one (most of them ASCII) — 6.1 s of the commit-gate
 * process's CPU in a profile of `bench:scale --cascade` at 1,700 dates.
 */
export function parseNdjson(spec: TableSpec, source: string, body: Buffer | string): SourceRecord[] {
  const records: SourceRecord[] = [];
  const add = (text: string, line: number) => {
    const trimmed = text.trim();
    if (trimmed === '') return;
    try {
      records.push({ line, record: JSON.parse(trimmed) });
    } catch (err) {
      throw new PermanentError(`${source}: line ${line}: not valid JSON`, { cause: err, reason: 'invalid', table: tableId(spec) });
    }
  };
  if (typeof body === 'string') {
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) add(lines[i] as string, i + 1);
    return records;
  }
  for (let start = 0, line = 1; start <= body.length; line++) {
    const nl = body.indexOf(0x0a, start);
    const end = nl < 0 ? body.length : nl;
    add(body.toString('utf8', start, end), line);
    start = end + 1;
  }
  return records;
}

/**
 * A filter passing each primary key once: fed a batch's rows newest first (its objects from the
 * last, each object's rows from the end), it keeps the last row per key in batch order, so a
 * slice staged twice lands with its newest rows and the MERGE never sees two source rows for
 * one target. Only the keys are held, never the rows.
 */
export function firstPerKey(spec: TableSpec): (row: StagedRow) => boolean {
  const keyIdx = spec.primaryKey.map((k) => spec.columns.findIndex((c) => c.name === k));
  const seen = new Set<string>();
  return (row) => {
    const key = keyIdx.map((i) => String(row[i])).join('\u0000');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}
