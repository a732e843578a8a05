/** Opens the configured warehouse: DuckDB (behind the BigQuery rules by default) or BigQuery. */
import { existsSync } from 'node:fs';
import type { Config } from '../config/index.ts';
import { InputError } from '../errors/input-error.ts';
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

/**
 * The warehouse people's own queries run on (`phasegate sql`): BigQuery as configured, or the
 * DuckDB file opened read-only with external access off — a query cannot read the machine's
 * files (`read_csv('/etc/passwd')`) or write anything. A DuckDB path with no database is bad
 * input, not an empty warehouse to create.
 */
export async function openQueryWarehouse(config: Config, store: ObjectStore): Promise<Warehouse> {
  if (config.warehouse === 'bigquery') return openWarehouse({ ...config, bigqueryRules: false }, store);
  if (!existsSync(config.duckdbPath)) {
    throw new InputError(`no DuckDB warehouse at ${config.duckdbPath} (nothing committed yet? run a backfill, or set PHASEGATE_DUCKDB_PATH)`);
  }
  return DuckDBWarehouse.open({ path: config.duckdbPath, store, datasetPrefix: config.bigquery.datasetPrefix, readOnly: true });
}
