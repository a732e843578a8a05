/**
 * The warehouse backends by their configured name. A backend is its own folder exporting a
 * `WarehouseDeclaration` and a `WarehouseBackend`, plus one line below (and its name among
 * `PHASEGATE_WAREHOUSE`'s values in config).
 *
 * Cheap to import: the declarations (caps, how a backend is reached) are read without loading
 * any client library, so `status`, the queue layer and the dashboard never load DuckDB or
 * BigQuery's client; a backend's module loads only when a warehouse is opened.
 */

import type { Config } from '../config/load-config.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { AdminView } from './admin.ts';
import type { DoctorOpening, WarehouseBackend, WarehouseCaps, WarehouseDeclaration } from './backend.ts';
import { bigQueryDeclaration } from './bigquery/declaration.ts';
import { duckdbDeclaration } from './duckdb/declaration.ts';
import type { RulesOptions } from './rules/bigquery-rules-warehouse.ts';
import type { Warehouse } from './types.ts';

interface RegisteredBackend {
  declaration: WarehouseDeclaration;
  /** Loads the backend (and its client library): only when a warehouse is opened. */
  load(): Promise<WarehouseBackend>;
}

const BACKENDS: Record<Config['warehouse'], RegisteredBackend> = {
  duckdb: { declaration: duckdbDeclaration, load: async () => (await import('./duckdb/backend.ts')).duckdbBackend },
  bigquery: { declaration: bigQueryDeclaration, load: async () => (await import('./bigquery/backend.ts')).bigQueryBackend },
};

/** What the configured backend declares (its caps, how it is reached), without loading it. */
export function warehouseDeclaration(config: Pick<Config, 'warehouse'>): WarehouseDeclaration {
  return BACKENDS[config.warehouse].declaration;
}

/** The configured backend's per-table caps: what the table gates stay within. */
export function warehouseCaps(config: Pick<Config, 'warehouse'>): WarehouseCaps {
  return warehouseDeclaration(config).caps;
}

export async function openWarehouse(config: Config, store: ObjectStore, rules: Partial<RulesOptions> = {}): Promise<Warehouse> {
  return (await BACKENDS[config.warehouse].load()).open(config, store, rules);
}

/** The warehouse people's own queries run on (`phasegate sql`): see each backend's `openForQueries`. */
export async function openQueryWarehouse(config: Config, store: ObjectStore, opts: { redis?: RedisClient } = {}): Promise<Warehouse> {
  return (await BACKENDS[config.warehouse].load()).openForQueries(config, store, opts);
}

/** The configured warehouse as `phasegate doctor` inspects it, creating nothing (see each backend's `openForDoctor`). */
export async function openForDoctor(config: Config, store: ObjectStore): Promise<DoctorOpening> {
  return (await BACKENDS[config.warehouse].load()).openForDoctor(config, store);
}

/** The schema facet of a warehouse the configured backend opened, for the doctor and migrate (see `WarehouseBackend.adminOf`). */
export async function adminOf(config: Pick<Config, 'warehouse' | 'duckdbPath'>, warehouse: Warehouse, store: ObjectStore): Promise<AdminView> {
  return (await BACKENDS[config.warehouse].load()).adminOf(config, warehouse, store);
}
