/**
 * BigQuery as the registry knows it before loading its client: BigQuery's per-table caps
 * (src/limits/bigquery.ts), reached as a service any process may query.
 */
import { BIGQUERY_LIMITS, limitsSummary } from '../../limits/bigquery.ts';
import type { WarehouseCaps, WarehouseDeclaration } from '../backend.ts';

/** BigQuery's per-table limits as caps: what the BigQuery backend and the rules layer over DuckDB hold writers to. */
export const BIGQUERY_CAPS: WarehouseCaps = {
  runningDmlPerTable: BIGQUERY_LIMITS.runningMutatingDmlPerTable,
  queuedDmlPerTable: BIGQUERY_LIMITS.queuedMutatingDmlPerTable,
  dmlPerWindow: BIGQUERY_LIMITS.dmlStatementsPerTableWindow,
  tableUpdatesPerWindow: BIGQUERY_LIMITS.tableMetadataUpdatesPerWindow,
  partitionsPerStatement: BIGQUERY_LIMITS.partitionsModifiedPerJob,
  dailyModifications: BIGQUERY_LIMITS.tableModificationsPerDay,
  summary: limitsSummary(),
};

export const bigQueryDeclaration: WarehouseDeclaration = {
  label: 'BigQuery',
  caps: BIGQUERY_CAPS,
};
