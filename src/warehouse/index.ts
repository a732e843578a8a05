/**
 * Opens the configured warehouse. A backend is its own folder exporting a `WarehouseBackend`,
 * plus one line below (and its name among `PHASEGATE_WAREHOUSE`'s values in config).
 */

import type { Config } from '../config/load-config.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { WarehouseBackend } from './backend.ts';
import { bigQueryBackend } from './bigquery/backend.ts';
import { duckdbBackend } from './duckdb/backend.ts';
import type { RulesOptions } from './rules/bigquery-rules-warehouse.ts';
import type { Warehouse } from './types.ts';

export { duckdbOf } from './duckdb/backend.ts';

const BACKENDS: Record<Config['warehouse'], WarehouseBackend> = {
  duckdb: duckdbBackend,
  bigquery: bigQueryBackend,
};

export function openWarehouse(config: Config, store: ObjectStore, rules: Partial<RulesOptions> = {}): Promise<Warehouse> {
  return BACKENDS[config.warehouse].open(config, store, rules);
}

/** The warehouse people's own queries run on (`phasegate sql`): see each backend's `openForQueries`. */
export function openQueryWarehouse(config: Config, store: ObjectStore, opts: { redis?: RedisClient } = {}): Promise<Warehouse> {
  return BACKENDS[config.warehouse].openForQueries(config, store, opts);
}
