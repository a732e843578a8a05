/**
 * Conversions at the DuckDB boundary: result values → JSON-able cells (the shapes BigQuery's
 * Node client hands back: dates `YYYY-MM-DD`, timestamps ISO-8601), and query parameters →
 * DuckDB values.
 */
// Before DuckDB's library loads: it sets how DuckDB's allocator returns memory (allocator.ts).
import './allocator.ts';
import {
  BIGINT,
  DOUBLE,
  DuckDBArrayValue,
  DuckDBBigIntVector,
  DuckDBDateValue,
  DuckDBDateVector,
  DuckDBDecimalValue,
  DuckDBDoubleVector,
  DuckDBFloatVector,
  DuckDBIntegerVector,
  DuckDBListValue,
  DuckDBMapValue,
  type DuckDBResult,
  type DuckDBResultReader,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampTZVector,
  DuckDBTimestampValue,
  DuckDBTimestampVector,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  DuckDBVarCharVector,
  type DuckDBVector,
  LIST,
  listValue,
  VARCHAR,
} from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';
import type { Cell, Row } from '../../processors/types.ts';
import { rowMaker, textKeeper } from '../row-shape.ts';
import type { QueryParams } from '../types.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** BIGINT/HUGEINT as a number while exact, else as its decimal string (never a lossy number). */
function bigintCell(value: bigint): number | string {
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString();
}

/** Microseconds since the epoch → ISO-8601 UTC, keeping microseconds when there are any. */
export function microsToIso(micros: bigint): string {
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const iso = new Date(Number(millis)).toISOString();
  const extra = micros - millis * 1000n;
  return extra === 0n ? iso : `${iso.slice(0, -1)}${extra.toString().padStart(3, '0')}Z`;
}

type Jsonish = null | boolean | number | string | Jsonish[] | { [key: string]: Jsonish };

function toJsonish(value: DuckDBValue): Jsonish {
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return value.items.map(toJsonish);
  if (value instanceof DuckDBStructValue) {
    return Object.fromEntries(Object.entries(value.entries).map(([k, v]) => [k, toJsonish(v)]));
  }
  if (value instanceof DuckDBMapValue) return value.entries.map((e) => ({ key: toJsonish(e.key), value: toJsonish(e.value) }));
  return toCell(value);
}

/** One result value as a cell; nested values (lists, structs, maps) become JSON text. */
export function toCell(value: DuckDBValue): Cell {
  if (value === null) return null;
  switch (typeof value) {
    case 'boolean':
    case 'number':
    case 'string':
      return value;
    case 'bigint':
      return bigintCell(value);
  }
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
    return value.isFinite ? microsToIso(value.micros) : value.toString();
  }
  if (value instanceof DuckDBTimestampMillisecondsValue) return value.isFinite ? microsToIso(value.millis * 1000n) : value.toString();
  if (value instanceof DuckDBTimestampSecondsValue) return value.isFinite ? microsToIso(value.seconds * 1_000_000n) : value.toString();
  if (value instanceof DuckDBTimestampNanosecondsValue) return value.isFinite ? microsToIso(value.nanos / 1000n) : value.toString();
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue || value instanceof DuckDBStructValue || value instanceof DuckDBMapValue) {
    return JSON.stringify(toJsonish(value));
  }
  return value.toString();
}

export function toRow(record: Record<string, DuckDBValue>): Record<string, Cell> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, toCell(v)]));
}

/** A column's cells as they are: DuckDB already hands these types back as JS booleans, numbers and strings. */
const AS_IS: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
]);

function asIs(value: DuckDBValue): Cell {
  return value as Cell;
}

/**
 * How one column's values become cells, chosen once from the column's type instead of by
 * testing each value. A DATE column repeats few dates (a season read is ~100 of them over
 * thousands of rows), so each date's text is made once. A VARCHAR column of a read repeats
 * its texts too: the rows keep one string per distinct text (`textKeeper`).
 */
function columnCells(typeId: DuckDBTypeId): (value: DuckDBValue) => Cell {
  if (typeId === DuckDBTypeId.VARCHAR) {
    const keep = textKeeper();
    return (value) => (typeof value === 'string' ? keep(value) : (value as Cell));
  }
  if (AS_IS.has(typeId)) return asIs;
  if (typeId === DuckDBTypeId.DATE) {
    const dayText = dayTexts();
    return (value) => (value instanceof DuckDBDateValue ? dayText(value.days) : toCell(value));
  }
  return toCell;
}

/** A date's text by its day number, each made once (one column of one read). */
function dayTexts(): (days: number) => string {
  const made = new Map<number, string>();
  return (days) => {
    let text = made.get(days);
    if (text === undefined) {
      text = new DuckDBDateValue(days).toString();
      made.set(days, text);
    }
    return text;
  };
}

/** Builds the rows of one result (a reader or a stream) from its values column by column, all at once or a chunk at a time. */
function rowBuilder(
  result: Pick<DuckDBResult, 'deduplicatedColumnNames' | 'columnTypeId'>,
): (columns: readonly DuckDBValue[][], count: number, into: Row[]) => void {
  const names = result.deduplicatedColumnNames();
  const cells = names.map((_, c) => columnCells(result.columnTypeId(c)));
  const emptyRow = rowMaker(names);
  return (columns, count, into) => {
    for (let r = 0; r < count; r++) {
      const row = emptyRow();
      for (let c = 0; c < names.length; c++) row[names[c] as string] = (cells[c] as (v: DuckDBValue) => Cell)((columns[c] as DuckDBValue[])[r] as DuckDBValue);
      into.push(row);
    }
  };
}

/**
 * A whole result as rows of cells, the same as `getRowObjects().map(toRow)` but read column by
 * column: rows of the warehouse's reads (a rolling-features slice reads its season to date,
 * thousands of rows) were most of a cascade's CPU in the per-value conversion. Every row has
 * one shape (src/warehouse/row-shape.ts).
 */
export function resultRows(reader: DuckDBResultReader): Row[] {
  const build = rowBuilder(reader);
  const columns = reader.getColumns();
  const rows: Row[] = [];
  build(columns, columns[0]?.length ?? 0, rows);
  return rows;
}

/**
 * The rows of a result read a chunk (2,048 rows) at a time as DuckDB produces them, as
 * `resultRows` makes them: neither DuckDB nor the JS side holds the whole result in a second
 * form besides the rows (`runAndReadAll` keeps every chunk, and its `getColumns` every value
 * in column arrays, until the last row is made). Each column's cells are read straight from
 * its vector (`vectorCells`) into the rows.
 */
export async function streamedRows(result: DuckDBResult): Promise<Row[]> {
  const names = result.deduplicatedColumnNames();
  const cells = names.map((_, c) => vectorCells(result.columnTypeId(c)));
  const emptyRow = rowMaker(names);
  const rows: Row[] = [];
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const first = rows.length;
    for (let r = 0; r < chunk.rowCount; r++) rows.push(emptyRow());
    for (let c = 0; c < names.length; c++) (cells[c] as VectorCells)(chunk.getColumnVector(c), chunk.rowCount, rows, first, names[c] as string);
  }
  return rows;
}

/** Writes one column's cells of a chunk into `rows[first …]` under `name`. */
type VectorCells = (vector: DuckDBVector, count: number, rows: Row[], first: number, name: string) => void;

/**
 * A vector's validity as one bit per item in bytes, or null when every item is valid. DuckDB's
 * own `itemValid` makes two BigInts per call, for every cell of a read; undefined when the
 * vector is a slice (its validity starts mid-byte) or not shaped as this version of the binding
 * makes it, and the caller then asks the vector.
 */
function validityBits(vector: DuckDBVector): Uint8Array | null | undefined {
  const validity = (vector as unknown as { validity?: { data?: unknown; offset?: unknown } }).validity;
  if (validity?.offset !== 0) return undefined;
  if (validity.data === null) return null;
  if (!(validity.data instanceof BigUint64Array)) return undefined;
  return new Uint8Array(validity.data.buffer, validity.data.byteOffset, validity.data.byteLength);
}

/** A numeric vector's values as the binding holds them (a typed array over DuckDB's memory; private in its typings). */
function itemsOf(vector: DuckDBVector): unknown {
  return (vector as unknown as { items?: unknown }).items;
}

const isValid = (bits: Uint8Array | null, i: number): boolean => bits === null || ((bits[i >> 3] as number) & (1 << (i & 7))) !== 0;

/** Timestamps one column of a read keeps the text of. */
const MEMO_MAX = 10_000;

/** 2^21: a BIGINT whose high 32 bits are within ±this (exclusive) is exact as a JS number. */
const SAFE_HIGH = 2 ** 21;
const TWO_32 = 2 ** 32;

/** The `r`-th int64 of a vector seen as 32-bit words, as a number while that is exact; undefined past it. */
function exactInt64(words: Int32Array, r: number): number | undefined {
  const high = words[2 * r + 1] as number;
  return high > -SAFE_HIGH && high < SAFE_HIGH ? high * TWO_32 + ((words[2 * r] as number) >>> 0) : undefined;
}

/**
 * How one column's vectors become cells, chosen once from the column's type: the numbers,
 * dates, timestamps and texts of a read straight from the vector's memory (a phase 3–5 read is
 * tens of thousands of rows of ~45 columns, and DuckDB's `getItem` allocates per cell: a
 * BigInt per BIGINT, a byte view and a decoder call per text, two BigInts per validity check);
 * any other type, or a vector not shaped as expected, through `getItem` and `columnCells`.
 */
function vectorCells(typeId: DuckDBTypeId): VectorCells {
  const slow = columnCells(typeId);
  const viaItems: VectorCells = (vector, count, rows, first, name) => {
    for (let r = 0; r < count; r++) (rows[first + r] as Row)[name] = slow(vector.getItem(r));
  };
  const dayText = typeId === DuckDBTypeId.DATE ? dayTexts() : undefined;
  // A read repeats few timestamps (a batch's `processed_at`): each one's text is made once.
  const stamps = typeId === DuckDBTypeId.TIMESTAMP || typeId === DuckDBTypeId.TIMESTAMP_TZ ? new Map<number, string>() : undefined;
  const keep = typeId === DuckDBTypeId.VARCHAR ? textKeeper() : undefined;
  return (vector, count, rows, first, name) => {
    const bits = validityBits(vector);
    if (bits === undefined) return viaItems(vector, count, rows, first, name);
    const items = itemsOf(vector);
    if (vector instanceof DuckDBBigIntVector && items instanceof BigInt64Array) {
      const words = new Int32Array(items.buffer, items.byteOffset, count * 2);
      for (let r = 0; r < count; r++) if (isValid(bits, r)) (rows[first + r] as Row)[name] = exactInt64(words, r) ?? bigintCell(items[r] as bigint);
      return;
    }
    if (
      (vector instanceof DuckDBIntegerVector && items instanceof Int32Array) ||
      (vector instanceof DuckDBDoubleVector && items instanceof Float64Array) ||
      (vector instanceof DuckDBFloatVector && items instanceof Float32Array)
    ) {
      for (let r = 0; r < count; r++) if (isValid(bits, r)) (rows[first + r] as Row)[name] = items[r] as number;
      return;
    }
    if (dayText && vector instanceof DuckDBDateVector && items instanceof Int32Array) {
      for (let r = 0; r < count; r++) if (isValid(bits, r)) (rows[first + r] as Row)[name] = dayText(items[r] as number);
      return;
    }
    if (stamps && (vector instanceof DuckDBTimestampVector || vector instanceof DuckDBTimestampTZVector) && items instanceof BigInt64Array) {
      const words = new Int32Array(items.buffer, items.byteOffset, count * 2);
      for (let r = 0; r < count; r++) {
        if (!isValid(bits, r)) continue;
        const micros = exactInt64(words, r);
        // ±infinity (int64's ends) and anything past ±2^53 µs take the long way.
        if (micros === undefined) {
          (rows[first + r] as Row)[name] = slow(vector.getItem(r));
          continue;
        }
        let text = stamps.get(micros);
        if (text === undefined) {
          text = microsToIso(items[r] as bigint);
          if (stamps.size < MEMO_MAX) stamps.set(micros, text);
        }
        (rows[first + r] as Row)[name] = text;
      }
      return;
    }
    if (keep && vector instanceof DuckDBVarCharVector) {
      const view = (vector as unknown as { dataView?: unknown; itemOffset?: unknown }).dataView;
      if (!(view instanceof DataView) || (vector as unknown as { itemOffset?: unknown }).itemOffset !== 0) return viaItems(vector, count, rows, first, name);
      const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
      for (let r = 0; r < count; r++) {
        if (!isValid(bits, r)) continue;
        // A string_t: its length, then up to 12 bytes in place, or a 4-byte prefix and a pointer.
        const at = r * 16;
        const length = view.getUint32(at, true);
        const text =
          length <= 12
            ? bytes.toString('utf8', at + 4, at + 4 + length)
            : textOf(bindings.get_data_from_pointer(view.buffer as ArrayBuffer, view.byteOffset + at + 8, length));
        (rows[first + r] as Row)[name] = keep(text);
      }
      return;
    }
    viaItems(vector, count, rows, first, name);
  };
}

const textOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

export interface BoundParams {
  values: Record<string, DuckDBValue>;
  types: Record<string, DuckDBType | undefined>;
}

/**
 * Named parameters for `$name` placeholders. Lists need an explicit type (an empty list
 * carries none): strings → VARCHAR[], integers → BIGINT[], other numbers → DOUBLE[].
 */
export function bindParams(params: QueryParams): BoundParams {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType | undefined> = {};
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) {
      const items = value as readonly (string | number)[];
      const allInts = items.every((v) => typeof v === 'number' && Number.isInteger(v));
      const allNumbers = items.every((v) => typeof v === 'number');
      const element = items.length > 0 && allInts ? BIGINT : items.length > 0 && allNumbers ? DOUBLE : VARCHAR;
      values[name] = listValue(element === BIGINT ? items.map((v) => BigInt(v)) : element === VARCHAR ? items.map(String) : items);
      types[name] = LIST(element);
    } else {
      values[name] = value as string | number | boolean | null;
    }
  }
  return { values, types };
}
