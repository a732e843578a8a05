/**
 * TableSpec → the BigQuery REST resources built from it: the target table (schema, day
 * partitioning on the slice, clustering) and the temporary external table a commit reads its
 * staged NDJSON through.
 */
import type { JobMetadata, TableMetadata } from '@google-cloud/bigquery';
import type { TableSpec } from '../../processors/types.ts';
import { STAGING_TABLE, validateSpec } from './sql.ts';

export type TableFieldSchema = { name: string; type: string; mode: 'NULLABLE' | 'REQUIRED'; description?: string };

type QueryConfiguration = NonNullable<NonNullable<JobMetadata['configuration']>['query']>;
export type ExternalTableDefinitions = NonNullable<QueryConfiguration['tableDefinitions']>;

// BigQuery clusters on at most four columns.
const MAX_CLUSTERING_COLUMNS = 4;

export function targetFields(spec: TableSpec): TableFieldSchema[] {
  return spec.columns.map((c) => ({
    name: c.name,
    // Column types are GoogleSQL names (INT64, FLOAT64, BOOL…), which the REST API accepts.
    type: c.type,
    mode: c.nullable === false ? 'REQUIRED' : 'NULLABLE',
    ...(c.description ? { description: c.description } : {}),
  }));
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
    // One partition per slice: a commit's DELETE and MERGE touch only its dates' partitions,
    // and BigQuery allows 50 (not 5) metadata updates per 10 s on partitioned tables.
    timePartitioning: { type: 'DAY', field: spec.sliceColumn },
    clustering: { fields: [...clusterBy] },
    // Readers (dashboards, ad-hoc queries) may scan without a slice filter.
    requirePartitionFilter: false,
  };
}

/**
 * The commit job's temporary external table over the staged objects. Nothing is loaded:
 * a load job would count against the 1,500 loads per table per day, a query job does not.
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
