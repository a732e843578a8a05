/** DuckDB's SQL as the reports need it (see `reports/dialect.ts`): `$name` parameters bound as text and cast. */
import type { Dialect } from '../reports/dialect.ts';
import { DUCKDB_TYPES, quoteIdent } from './sql.ts';

export const DUCKDB_DIALECT: Dialect = {
  quoteIdent,
  typeName: (type) => DUCKDB_TYPES[type],
  // Report parameters are bound as VARCHAR (lists as VARCHAR[]) and cast to the column's type here.
  param: (name, type) => `CAST($${name} AS ${DUCKDB_TYPES[type]})`,
  inListParam: (expr, name, type) => `${expr} IN (SELECT unnest(CAST($${name} AS ${DUCKDB_TYPES[type]}[])))`,
  // count_if is a HUGEINT in DuckDB; a filtered count stays a BIGINT, like COUNTIF.
  countIf: (condition) => `count(*) FILTER (WHERE ${condition})`,
  anyTrue: (expr) => `bool_or(${expr})`,
  allTrue: (expr) => `bool_and(${expr})`,
  firstRow: (fields, orderBy) => `first({${fields.map(([expr, name]) => `'${name}': ${expr}`).join(', ')}} ORDER BY ${orderBy})`,
  distinctSample: (expr, limit) => `(array_agg(DISTINCT ${expr} ORDER BY ${expr}) FILTER (WHERE ${expr} IS NOT NULL))[1:${limit}]`,
};
