/**
 * Named query parameters in the REST shape of `configuration.query.queryParameters`. Values
 * only: identifiers never travel as parameters. Types are inferred from the JS value, and a
 * `YYYY-MM-DD` string is a DATE: every slice is one, and `date_col IN UNNEST(@slices)` must
 * compare DATE with DATE rather than rely on STRING → DATE coercion.
 */
import type { JobMetadata } from '@google-cloud/bigquery';
import { InputError } from '../../errors/input-error.ts';
import type { GuardedSlice } from '../../integrity/holdings.ts';
import type { ReportParam } from '../reports/report-sql.ts';
import type { QueryParams } from '../types.ts';

type QueryConfiguration = NonNullable<NonNullable<JobMetadata['configuration']>['query']>;
export type QueryParameter = NonNullable<QueryConfiguration['queryParameters']>[number];

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

type ScalarType = 'STRING' | 'DATE' | 'INT64' | 'FLOAT64' | 'BOOL';

function scalarType(value: string | number | boolean): ScalarType {
  if (typeof value === 'boolean') return 'BOOL';
  if (typeof value === 'number') return Number.isInteger(value) ? 'INT64' : 'FLOAT64';
  return DATE.test(value) ? 'DATE' : 'STRING';
}

function scalarValue(value: string | number | boolean): string {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return String(value);
}

/** One element type for a whole array: INT64 widens to FLOAT64, DATE falls back to STRING. */
function arrayType(values: readonly (string | number)[]): ScalarType {
  const types = new Set(values.map(scalarType));
  if (types.size === 0) return 'STRING';
  if ([...types].every((t) => t === 'INT64' || t === 'FLOAT64')) return types.has('FLOAT64') ? 'FLOAT64' : 'INT64';
  if ([...types].every((t) => t === 'DATE' || t === 'STRING')) return types.has('STRING') ? 'STRING' : 'DATE';
  throw new InputError('query parameter arrays must hold only numbers or only strings');
}

export function queryParameter(name: string, value: QueryParams[string]): QueryParameter {
  if (!PARAM_NAME.test(name)) throw new InputError(`not a valid query parameter name: ${JSON.stringify(name)}`);
  if (value === null) return { name, parameterType: { type: 'STRING' }, parameterValue: {} };
  if (Array.isArray(value)) {
    const items = value as readonly (string | number)[];
    return {
      name,
      parameterType: { type: 'ARRAY', arrayType: { type: arrayType(items) } },
      parameterValue: { arrayValues: items.map((v) => ({ value: scalarValue(v) })) },
    };
  }
  const scalar = value as string | number | boolean;
  return { name, parameterType: { type: scalarType(scalar) }, parameterValue: { value: scalarValue(scalar) } };
}

export function queryParameters(params: QueryParams = {}): QueryParameter[] {
  return Object.entries(params).map(([name, value]) => queryParameter(name, value));
}

/** A slice as a DATE parameter's value: `YYYY-MM-DD`, or bad input. */
function sliceDate(d: string): string {
  if (!DATE.test(d)) throw new InputError(`slice is not a YYYY-MM-DD date: ${JSON.stringify(d)}`);
  return d;
}

/** The batch slices as the `ARRAY<DATE>` the statements filter on, whatever they look like. */
export function dateArrayParameter(name: string, dates: readonly string[]): QueryParameter {
  for (const d of dates) sliceDate(d);
  return {
    name,
    parameterType: { type: 'ARRAY', arrayType: { type: 'DATE' } },
    parameterValue: { arrayValues: dates.map((value) => ({ value })) },
  };
}

/**
 * A report's typed parameters (`reports/report-sql.ts`) as query parameters of that type: a
 * DATE must be `YYYY-MM-DD` (a list of them is the `ARRAY<DATE>` slices compare with).
 */
export function reportParameters(params: Record<string, ReportParam>): QueryParameter[] {
  return Object.entries(params).map(([name, { type, value }]) => {
    if (!PARAM_NAME.test(name)) throw new InputError(`not a valid query parameter name: ${JSON.stringify(name)}`);
    if (typeof value !== 'string') {
      if (type === 'DATE') return dateArrayParameter(name, value);
      return { name, parameterType: { type: 'ARRAY', arrayType: { type } }, parameterValue: { arrayValues: value.map((v) => ({ value: v })) } };
    }
    if (type === 'DATE' && !DATE.test(value)) throw new InputError(`not a YYYY-MM-DD date: ${JSON.stringify(value)}`);
    return { name, parameterType: { type }, parameterValue: { value } };
  });
}

/**
 * A guarded commit's staged units (`CommitBatch.guard`) as `ARRAY<STRUCT<slice DATE, unit
 * STRING, n INT64>>`, one element per (slice, unit): the rows staging counted.
 */
export function guardStagedParameter(name: string, guard: readonly GuardedSlice[]): QueryParameter {
  const fields = [
    { name: 'slice', type: { type: 'DATE' } },
    { name: 'unit', type: { type: 'STRING' } },
    { name: 'n', type: { type: 'INT64' } },
  ];
  const arrayValues = guard.flatMap(({ slice, units }) => {
    const value = sliceDate(slice);
    return Object.entries(units).map(([unit, n]) => ({ structValues: { slice: { value }, unit: { value: unit }, n: { value: String(n) } } }));
  });
  return { name, parameterType: { type: 'ARRAY', arrayType: { type: 'STRUCT', structTypes: fields } }, parameterValue: { arrayValues } };
}
