/** Opens the configured warehouse: DuckDB (behind the BigQuery rules by default) or BigQuery. */
import type { Config } from '../config/index.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { BigQueryWarehouse } from './bigquery/bigquery-warehouse.ts';
import { DuckDBWarehouse } from './duckdb/duckdb-warehouse.ts';
import { BigQueryRulesWarehouse, type RulesOptions } from './rules/bigquery-rules-warehouse.ts';
import type { Warehouse } from './types.ts';

export async function openWarehouse(config: Config, store: ObjectStore, rules: Partial<RulesOptions> = {}): Promise<Warehouse> {
  if (config.warehouse === 'bigquery') {
    return new BigQueryWarehouse({
      projectId: config.bigquery.projectId ?? '',
      location: config.bigquery.location,
      datasetPrefix: config.bigquery.datasetPrefix,
      bucket: config.gcsBucket ?? '',
    });
  }
  const duck = await DuckDBWarehouse.open({ path: config.duckdbPath, store, datasetPrefix: config.bigquery.datasetPrefix });
  if (!config.bigqueryRules) return duck;
  return new BigQueryRulesWarehouse(duck, { timeScale: config.timeScale, ...rules });
}
