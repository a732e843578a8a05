/** GoogleSQL as the reports need it (see `reports/dialect.ts`): named `@` parameters, backquotes. */
import type { Dialect } from '../reports/dialect.ts';
import { quoteIdent } from './sql.ts';

export const BIGQUERY_DIALECT: Dialect = {
  quoteIdent,
  // Registry column types are GoogleSQL's own names.
  typeName: (type) => type,
  // Parameters carry their type (`params.ts`), so the text only names them.
  param: (name) => `@${name}`,
  inListParam: (expr, name) => `${expr} IN UNNEST(@${name})`,
  countIf: (condition) => `COUNTIF(${condition})`,
  anyTrue: (expr) => `LOGICAL_OR(${expr})`,
  allTrue: (expr) => `LOGICAL_AND(${expr})`,
  // A STRUCT, not the fields: ARRAY_AGG refuses NULL elements, a STRUCT of NULLs is none.
  firstRow: (fields, orderBy) =>
    `ARRAY_AGG(STRUCT(${fields.map(([expr, name]) => (expr === name ? name : `${expr} AS ${name}`)).join(', ')}) ORDER BY ${orderBy} LIMIT 1)[OFFSET(0)]`,
  distinctSample: (expr, limit) => `ARRAY_AGG(DISTINCT ${expr} IGNORE NULLS LIMIT ${limit})`,
};
