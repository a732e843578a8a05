/**
 * TableSpec → the BigQuery REST resources built from it: the target table (schema, day
 * partitioning on the slice, clustering) and the temporary external table a commit reads its
 * staged NDJSON through.
 */
import type { JobMetadata, TableMetadata } from '@google-cloud/bigquery';
import { BIGQUERY_LIMITS } from '../../limits/bigquery.ts';
import type { Column, TableSpec } from '../../processors/types.ts';
import type { DescribedColumn } from '../types.ts';
import { STAGING_TABLE, validateSpec } from './sql.ts';

export type TableFieldSchema = { name: string; type: string; mode: 'NULLABLE' | 'REQUIRED'; description?: string };

type QueryConfiguration = NonNullable<NonNullable<JobMetadata['configuration']>['query']>;
export type ExternalTableDefinitions = NonNullable<QueryConfiguration['tableDefinitions']>;

const MAX_CLUSTERING_COLUMNS = BIGQUERY_LIMITS.clusteringColumns;

export function targetFields(spec: TableSpec): TableFieldSchema[] {
  return spec.columns.map((c) => ({
    name: c.name,
    // Column types are GoogleSQL names (INT64, FLOAT64, BOOL…), which the REST API accepts.
    type: c.type,
    mode: c.nullable === false ? 'REQUIRED' : 'NULLABLE',
    ...(c.description ? { description: c.description } : {}),
  }));
}

/** A column `addColumns` appends: always NULLABLE, the only mode BigQuery adds to a table with rows. */
export function nullableField(c: Column): TableFieldSchema {
  return { name: c.name, type: c.type, mode: 'NULLABLE', ...(c.description ? { description: c.description } : {}) };
}

/**
 * `tables.get` answers legacy type names (INTEGER, FLOAT, BOOLEAN, RECORD) whichever names the
 * table was created with (cloud.google.com/bigquery/docs/reference/rest/v2/tables#TableFieldSchema);
 * the registry speaks GoogleSQL (INT64, FLOAT64, BOOL).
 */
const GOOGLE_SQL_TYPES: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL', RECORD: 'STRUCT' };

interface RestField {
  name?: string | null;
  type?: string | null;
  mode?: string | null;
}

/** A table's REST schema as the registry's vocabulary: GoogleSQL type names, REPEATED as ARRAY<…>. */
export function describeFields(fields: readonly RestField[]): DescribedColumn[] {
  return fields.map((f) => {
    const raw = String(f.type ?? 'STRING').toUpperCase();
    const type = GOOGLE_SQL_TYPES[raw] ?? raw;
    return { name: String(f.name ?? ''), type: f.mode === 'REPEATED' ? `ARRAY<${type}>` : type, nullable: f.mode !== 'REQUIRED' };
  });
}

/**
 * The staging schema: every column NULLABLE (the target's REQUIRED modes reject a missing
 * value at MERGE time with the column's name), and JSON columns as STRING because staged
 * NDJSON carries them as JSON text; the statement parses them (see `sql.ts`).
 */
export function stagingFields(spec: TableSpec): TableFieldSchema[] {
  return spec.columns.map((c) => ({ name: c.name, type: c.type === 'JSON' ? 'STRING' : c.type, mode: 'NULLABLE' }));
}

/** The `tables.insert` body (without tableReference, which the client adds). */
export function tableResource(spec: TableSpec): TableMetadata {
  validateSpec(spec);
  const clusterBy = spec.clusterBy ?? spec.primaryKey.slice(0, MAX_CLUSTERING_COLUMNS);
  return {
    schema: { fields: targetFields(spec) },
    // One partition per slice: a commit's MERGE reads and writes only its dates' partitions
    // (sql.ts, mergeStatement), at most partitionsModifiedPerJob of them (limits.ts).
    timePartitioning: { type: 'DAY', field: spec.sliceColumn },
    clustering: { fields: [...clusterBy] },
    // Readers (dashboards, ad-hoc queries) may scan without a slice filter.
    requirePartitionFilter: false,
  };
}

/**
 * The commit job's temporary external table over the staged objects. Nothing is loaded: a
 * load job would spend one of the table's daily modifications (limits.ts), a DML query job does not.
 */
export function stagingDefinition(spec: TableSpec, sourceUris: readonly string[]): ExternalTableDefinitions {
  return {
    [STAGING_TABLE]: {
      sourceUris: [...sourceUris],
      sourceFormat: 'NEWLINE_DELIMITED_JSON',
      schema: { fields: stagingFields(spec) },
      // A staged field the table does not have is a processor bug; fail rather than drop it.
      ignoreUnknownValues: false,
      maxBadRecords: 0,
    },
  };
}
