/**
 * The warehouse the doctor inspects: BigQuery as configured, or the DuckDB file opened
 * read-only (nothing is created, a missing file is reported as such). A DuckDB file a running
 * worker holds cannot be opened by another process: that is a line of the report, not a crash.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config/load-config.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { openQueryWarehouse, openWarehouse } from '../warehouse/index.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { type Check, fail, messageOf } from './check.ts';

export async function openForDoctor(config: Config, store: ObjectStore): Promise<{ warehouse: Warehouse | undefined; checks: Check[] }> {
  if (config.warehouse === 'bigquery') return { warehouse: await openWarehouse({ ...config, bigqueryRules: false }, store), checks: [] };
  if (!existsSync(config.duckdbPath)) return { warehouse: undefined, checks: [] };
  try {
    return { warehouse: await openQueryWarehouse(config, store), checks: [] };
  } catch (err) {
    const message = messageOf(err);
    const fix = /lock/i.test(message)
      ? 'a running worker holds the file (DuckDB allows one writing process): its start-up runs these checks, or stop it and run doctor again'
      : 'check PHASEGATE_DUCKDB_PATH points at a phasegate DuckDB file';
    return { warehouse: undefined, checks: [fail('warehouse duckdb', `cannot open ${config.duckdbPath}: ${message}`, fix)] };
  }
}
