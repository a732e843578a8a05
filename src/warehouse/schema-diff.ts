/**
 * A table as the registry declares it against the table as the warehouse holds it: what
 * `phasegate doctor` reports and `phasegate migrate` (or DuckDB's `ensureTable`) fixes. Pure,
 * so both warehouses and the doctor share one reading of "the same table".
 */

import { BIGQUERY_LIMITS } from '../limits/bigquery.ts';
import type { Column, TableSpec } from '../processors/types.ts';
import type { TableDescription } from './types.ts';

export type SchemaFinding =
  /** The table lacks a registry column: every commit naming it fails. `migrate` adds it (NULLABLE). */
  | { kind: 'missingColumn'; column: Column }
  /** Same name, another type: staged values cannot land (or land changed). Only a person can fix it. */
  | { kind: 'typeMismatch'; column: string; expected: string; actual: string }
  /** REQUIRED in the table, nullable in the registry: a commit with a NULL there fails. */
  | { kind: 'requiredInTable'; column: string }
  /** A REQUIRED column the registry does not know: every INSERT (which never names it) fails. */
  | { kind: 'unknownRequired'; column: string }
  /** Partitioned other than by the slice column per day: commits are not pruned to their partitions. */
  | { kind: 'partitioning'; expected: string; actual: string }
  /** Clustered other than the registry says: reads of a slice's keys scan more. */
  | { kind: 'clustering'; expected: string[]; actual: string[] };

const fold = (name: string) => name.toLowerCase();

/** The clustering a table gets from `ensureTable`: the spec's, or its key's first columns. */
export function expectedClustering(spec: TableSpec): string[] {
  return [...(spec.clusterBy ?? spec.primaryKey.slice(0, BIGQUERY_LIMITS.clusteringColumns))];
}

/** Registry columns the table does not have (names compare case-insensitively, as in both warehouses). */
export function missingColumns(spec: TableSpec, described: TableDescription): Column[] {
  const have = new Set(described.columns.map((c) => fold(c.name)));
  return spec.columns.filter((c) => !have.has(fold(c.name)));
}

export function diffTable(spec: TableSpec, described: TableDescription): SchemaFinding[] {
  const findings: SchemaFinding[] = missingColumns(spec, described).map((column) => ({ kind: 'missingColumn', column }));
  const declared = new Map(spec.columns.map((c) => [fold(c.name), c]));
  for (const actual of described.columns) {
    const want = declared.get(fold(actual.name));
    if (!want) {
      if (!actual.nullable) findings.push({ kind: 'unknownRequired', column: actual.name });
      continue;
    }
    if (actual.type !== want.type) findings.push({ kind: 'typeMismatch', column: want.name, expected: want.type, actual: actual.type });
    else if (!actual.nullable && want.nullable !== false) findings.push({ kind: 'requiredInTable', column: want.name });
  }
  if (described.partitioning !== undefined || described.clustering !== undefined) {
    const expected = `DAY(${spec.sliceColumn})`;
    const p = described.partitioning;
    const actual = p ? `${p.type}(${p.field ?? '_PARTITIONTIME'})` : 'not partitioned';
    if (fold(actual) !== fold(expected)) findings.push({ kind: 'partitioning', expected, actual });
    const clustering = expectedClustering(spec);
    const have = described.clustering ?? [];
    if (clustering.map(fold).join(',') !== have.map(fold).join(',')) findings.push({ kind: 'clustering', expected: clustering, actual: have });
  }
  return findings;
}
