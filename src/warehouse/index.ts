/** Opens the configured warehouse: DuckDB (behind the BigQuery rules by default) or BigQuery. */
import { existsSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Config } from '../config/load-config.ts';
import { InputError } from '../errors/input-error.ts';
import { keysFor } from '../redis/keys.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { BigQueryWarehouse } from './bigquery/bigquery-warehouse.ts';
import { DuckDBWarehouse } from './duckdb/duckdb-warehouse.ts';
import { readerRedis, relayReader } from './read-relay/client.ts';
import { lockHolder } from './read-relay/lock.ts';
import { BigQueryRulesWarehouse, type RulesOptions } from './rules/bigquery-rules-warehouse.ts';
import type { Warehouse } from './types.ts';

/** The embedded DuckDB warehouse beneath a rules layer `openWarehouse` built (the read relay serves from it). */
const DUCKDB_BENEATH = new WeakMap<Warehouse, DuckDBWarehouse>();

/** The embedded DuckDB warehouse an `openWarehouse` result stands on: itself, or the one its rules layer wraps; undefined for BigQuery. */
export function duckdbOf(warehouse: Warehouse): DuckDBWarehouse | undefined {
  return warehouse instanceof DuckDBWarehouse ? warehouse : DUCKDB_BENEATH.get(warehouse);
}

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
  const ruled = new BigQueryRulesWarehouse(duck, { timeScale: config.timeScale, ...rules });
  DUCKDB_BENEATH.set(ruled, duck);
  return ruled;
}

/**
 * The warehouse people's own queries run on (`phasegate sql`): BigQuery as configured, or the
 * DuckDB file opened read-only with external access off — a query cannot read the machine's
 * files (`read_csv('/etc/passwd')`) or write anything. A DuckDB path with no database is bad
 * input, not an empty warehouse to create. While another process holds the file (a worker),
 * the query goes to that process's read relay, behind the same fence and bounded
 * (src/warehouse/read-relay); without `redis` the reader connects to `config.redisUrl` itself.
 */
export async function openQueryWarehouse(config: Config, store: ObjectStore, opts: { redis?: Redis } = {}): Promise<Warehouse> {
  if (config.warehouse === 'bigquery') return openWarehouse({ ...config, bigqueryRules: false }, store);
  if (!existsSync(config.duckdbPath)) {
    throw new InputError(`no DuckDB warehouse at ${config.duckdbPath} (nothing committed yet? run a backfill, or set PHASEGATE_DUCKDB_PATH)`);
  }
  try {
    return await DuckDBWarehouse.open({ path: config.duckdbPath, store, datasetPrefix: config.bigquery.datasetPrefix, readOnly: true });
  } catch (err) {
    const holder = lockHolder(err);
    if (!holder) throw err;
    const redis = opts.redis ?? readerRedis(config.redisUrl);
    return relayReader({ config, redis, keys: keysFor(config.prefix) }, { holder, ownsRedis: opts.redis === undefined });
  }
}
