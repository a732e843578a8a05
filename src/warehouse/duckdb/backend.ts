/**
 * The embedded DuckDB file as a configured backend (`PHASEGATE_WAREHOUSE=duckdb`, the default):
 * behind the BigQuery rules layer unless `PHASEGATE_BQ_RULES=false`; read through the holder's
 * read relay while another process holds the file.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../../config/load-config.ts';
import { ConfigError } from '../../errors/config-error.ts';
import { InputError } from '../../errors/input-error.ts';
import { keysFor } from '../../redis/keys.ts';
import type { WarehouseBackend } from '../backend.ts';
import { RelayWarehouse, readerRedis, relayReader } from '../read-relay/client.ts';
import { lockHolder } from '../read-relay/lock.ts';
import { BigQueryRulesWarehouse } from '../rules/bigquery-rules-warehouse.ts';
import type { Warehouse } from '../types.ts';
import { DuckDBWarehouse } from './duckdb-warehouse.ts';

/** The embedded DuckDB warehouse beneath a rules layer `open` built (the read relay serves from it). */
const DUCKDB_BENEATH = new WeakMap<Warehouse, DuckDBWarehouse>();

/** The embedded DuckDB warehouse an opened warehouse stands on: itself, or the one its rules layer wraps; undefined for any other. */
export function duckdbOf(warehouse: Warehouse): DuckDBWarehouse | undefined {
  return warehouse instanceof DuckDBWarehouse ? warehouse : DUCKDB_BENEATH.get(warehouse);
}

/** The BigQuery rules layer, when `warehouse` is one: what the pipeline's reads go through in the process holding the file. */
export function rulesOf(warehouse: Warehouse): BigQueryRulesWarehouse | undefined {
  return warehouse instanceof BigQueryRulesWarehouse ? warehouse : undefined;
}

/** What the configuration says about the DuckDB file and its instance. */
function duckdbOptions(config: Pick<Config, 'duckdbPath' | 'bigquery' | 'duckdbMemoryLimit' | 'duckdbThreads' | 'duckdbCheckpointThreshold'>) {
  return {
    path: config.duckdbPath,
    datasetPrefix: config.bigquery.datasetPrefix,
    memoryLimit: config.duckdbMemoryLimit,
    threads: config.duckdbThreads,
    checkpointThreshold: config.duckdbCheckpointThreshold,
  };
}

export const duckdbBackend: WarehouseBackend = {
  async open(config, store, rules) {
    const duck = await DuckDBWarehouse.open({ ...duckdbOptions(config), store });
    if (!config.bigqueryRules) return duck;
    const ruled = new BigQueryRulesWarehouse(duck, { timeScale: config.timeScale, ...rules });
    DUCKDB_BENEATH.set(ruled, duck);
    return ruled;
  },

  /**
   * The DuckDB file opened read-only with external access off — a query cannot read the
   * machine's files (`read_csv('/etc/passwd')`) or write anything. A DuckDB path with no
   * database is bad input, not an empty warehouse to create. While another process holds the
   * file (a worker), the query goes to that process's read relay, behind the same fence and
   * bounded (src/warehouse/read-relay); without `redis` the reader connects to `config.redisUrl` itself.
   */
  async openForQueries(config, store, opts) {
    if (!existsSync(config.duckdbPath)) {
      throw new InputError(`no DuckDB warehouse at ${config.duckdbPath} (nothing committed yet? run a backfill, or set PHASEGATE_DUCKDB_PATH)`);
    }
    try {
      return await DuckDBWarehouse.open({ ...duckdbOptions(config), store, readOnly: true });
    } catch (err) {
      const holder = lockHolder(err);
      if (!holder) throw err;
      const redis = opts.redis ?? readerRedis(config);
      return relayReader({ config, redis, keys: keysFor(config.prefix) }, { holder, ownsRedis: opts.redis === undefined });
    }
  },

  /**
   * The file as people's queries open it — read-only, or through the read relay of the worker
   * holding it. No file yet is no problem (the first commit creates it); a file that cannot be
   * opened is a line of the report, not a crash.
   */
  async openForDoctor(config, store) {
    if (!existsSync(config.duckdbPath)) {
      return { kind: 'absent', detail: `no database at ${config.duckdbPath} yet: the first commit creates it with every table` };
    }
    try {
      return { kind: 'open', warehouse: await this.openForQueries(config, store, {}) };
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
      const fix = /lock/i.test(message)
        ? 'a running worker holds the file (DuckDB allows one writing process): its start-up runs these checks, or stop it and run doctor again'
        : 'check PHASEGATE_DUCKDB_PATH points at a phasegate DuckDB file';
      return { kind: 'unavailable', problem: { detail: `cannot open ${config.duckdbPath}: ${message}`, fix } };
    }
  },

  /** The file's own schema facet; its `ensureTable` adds a missing column at the first commit. */
  adminOf(config, warehouse) {
    const admin = warehouse instanceof BigQueryRulesWarehouse || warehouse instanceof RelayWarehouse ? warehouse : duckdbOf(warehouse);
    if (!admin) throw new ConfigError('the duckdb backend was handed a warehouse it did not open');
    return { admin, summary: config.duckdbPath, addsMissingColumns: true };
  },
};
