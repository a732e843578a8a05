/**
 * Opens the configured warehouse. A backend is its own folder exporting a `WarehouseBackend`,
 * plus one line below (and its name among `PHASEGATE_WAREHOUSE`'s values in config).
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config/load-config.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { AdminView } from './admin.ts';
import type { DoctorOpening, WarehouseBackend } from './backend.ts';
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
export function openQueryWarehouse(config: Config, store: ObjectStore, opts: { redis?: Redis } = {}): Promise<Warehouse> {
  return BACKENDS[config.warehouse].openForQueries(config, store, opts);
}

/** The configured warehouse as `phasegate doctor` inspects it, creating nothing (see each backend's `openForDoctor`). */
export function openForDoctor(config: Config, store: ObjectStore): Promise<DoctorOpening> {
  return BACKENDS[config.warehouse].openForDoctor(config, store);
}

/** The schema facet of a warehouse the configured backend opened, for the doctor and migrate (see `WarehouseBackend.adminOf`). */
export function adminOf(config: Pick<Config, 'warehouse' | 'duckdbPath'>, warehouse: Warehouse, store: ObjectStore): AdminView {
  return BACKENDS[config.warehouse].adminOf(config, warehouse, store);
}
