/**
 * What a warehouse backend gives phasegate: how to open it for the pipeline and for people's
 * queries. Each backend's folder exports one; `index.ts` lists them by their configured name.
 */

import type { Config } from '../config/load-config.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { RulesOptions } from './rules/bigquery-rules-warehouse.ts';
import type { Warehouse } from './types.ts';

export interface WarehouseBackend {
  /** The warehouse the pipeline writes (`rules`: overrides for the BigQuery rules layer, where a backend has one). */
  open(config: Config, store: ObjectStore, rules: Partial<RulesOptions>): Promise<Warehouse>;
  /**
   * The warehouse people's own queries run on (`phasegate sql`): it must refuse to write and
   * reach nothing but the warehouse. `redis`: a connection a backend may read through.
   */
  openForQueries(config: Config, store: ObjectStore, opts: { redis?: RedisClient }): Promise<Warehouse>;
}
