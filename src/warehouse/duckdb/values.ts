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
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  type DuckDBResult,
  type DuckDBResultReader,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  LIST,
  listValue,
  VARCHAR,
} from '@duckdb/node-api';
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
    const made = new Map<number, string>();
    return (value) => {
      if (!(value instanceof DuckDBDateValue)) return toCell(value);
      let text = made.get(value.days);
      if (text === undefined) {
        text = value.toString();
        made.set(value.days, text);
      }
      return text;
    };
  }
  return toCell;
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
 * in column arrays, until the last row is made).
 */
export async function streamedRows(result: DuckDBResult): Promise<Row[]> {
  const build = rowBuilder(result);
  const rows: Row[] = [];
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) build(chunk.getColumns(), chunk.rowCount, rows);
  return rows;
}

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
