/**
 * What the report SQL (`report-sql.ts`) needs to know of a warehouse's SQL: only where the
 * statements differ in syntax, never in meaning. A warehouse declares one `Dialect`; a new
 * backend writes one of these instead of a copy of every report.
 */
import type { ColumnType } from '../../processors/types.ts';

export interface Dialect {
  /** Quotes a plain identifier after checking it; anything else is refused (InputError). */
  quoteIdent(name: string): string;
  /** The type name a registry column type is cast to (`STRING` is `VARCHAR` in DuckDB). */
  typeName(type: ColumnType): string;
  /** A scalar parameter of the given type where a value goes (`@since`, `CAST($since AS TIMESTAMPTZ)`). */
  param(name: string, type: ColumnType): string;
  /** `expr` is one of the values of the list parameter `name`, of element type `type` (`expr IN UNNEST(@slices)`). */
  inListParam(expr: string, name: string, type: ColumnType): string;
  /** How many rows of a group satisfy `condition`, as a 64-bit integer (`COUNTIF`). */
  countIf(condition: string): string;
  /** TRUE when `expr` is TRUE on some row of the group (NULLs ignored). */
  anyTrue(expr: string): string;
  /** TRUE when `expr` is TRUE on every row of the group (NULLs ignored). */
  allTrue(expr: string): string;
  /**
   * The fields of the group's first row in `orderBy` (e.g. `event_time DESC`), as one struct
   * whose fields are read as `alias.field`; NULL fields are kept as they are.
   */
  firstRow(fields: readonly (readonly [expr: string, name: string])[], orderBy: string): string;
  /** Up to `limit` distinct non-NULL values of `expr` in the group, as a list. */
  distinctSample(expr: string, limit: number): string;
}
