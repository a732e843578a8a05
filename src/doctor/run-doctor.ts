/**
 * `phasegate doctor`: every check, in the order a person would fix them — Redis, the
 * warehouse's prerequisites (BigQuery: credentials, bucket, datasets, permissions), then each
 * table phasegate writes against the registry. Also what a worker runs, quietly, before it
 * starts its table gates (`preflight`).
 */
import type { Config } from '../config/load-config.ts';
import { ConfigError } from '../errors/config-error.ts';
import type { Registry } from '../processors/registry.ts';
import type { TableSpec } from '../processors/types.ts';
import { GcsObjectStore } from '../storage/gcs-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { BigQueryWarehouse } from '../warehouse/bigquery/bigquery-warehouse.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { blocking, type Check, fail, formatCheck, ok } from './check.ts';
import { cloudChecks } from './cloud-checks.ts';
import { clusterChecks } from './cluster-checks.ts';
import { redisChecks } from './redis-checks.ts';
import { tableChecks } from './table-checks.ts';

export interface DoctorTargets {
  config: Pick<Config, 'warehouse' | 'duckdbPath' | 'gce'>;
  registry: Registry;
  /** The warehouse; undefined when the DuckDB file does not exist yet. */
  warehouse: Warehouse | undefined;
  store: ObjectStore;
  /** Checked when given (a worker is connected already and skips it). */
  redisUrl?: string | undefined;
  /** A Redis Cluster's seed nodes and the prefix, checked instead of `redisUrl`'s server when given. */
  redisCluster?: { nodes: NonNullable<Config['redisCluster']>; prefix: string } | undefined;
  /** For the metadata server (tests). @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/** Every table with a commit gate: the processors' targets, then phasegate's log tables. */
export function gatedSpecs(registry: Registry): TableSpec[] {
  return registry.gatedTables().map((t) => registry.tableSpec(t));
}

export async function runDoctor(t: DoctorTargets): Promise<Check[]> {
  const checks: Check[] =
    t.redisUrl === undefined
      ? []
      : t.redisCluster
        ? await clusterChecks({ redisUrl: t.redisUrl, redisCluster: t.redisCluster.nodes, prefix: t.redisCluster.prefix })
        : await redisChecks(t.redisUrl);
  const specs = gatedSpecs(t.registry);
  if (t.config.warehouse === 'bigquery') {
    if (!(t.warehouse instanceof BigQueryWarehouse) || !(t.store instanceof GcsObjectStore)) {
      return [...checks, fail('warehouse', 'bigquery needs the GCS store', 'set PHASEGATE_STORE=gcs and PHASEGATE_GCS_BUCKET', true)];
    }
    const datasets = [...new Set(specs.map((s) => t.warehouse?.datasetOf(s) ?? s.dataset))].sort();
    const cloud = await cloudChecks({
      warehouse: t.warehouse,
      store: t.store,
      datasets,
      gce: t.config.gce.enabled ? { metadataHost: t.config.gce.metadataHost } : undefined,
      fetch: t.fetch,
    });
    checks.push(...cloud);
    // Without credentials every table read fails the same way: one line says it already.
    if (cloud.some((c) => c.subject === 'credentials' && c.status === 'fail')) return checks;
    checks.push(...(await tableChecks(t.warehouse, specs)));
    return checks;
  }
  if (!t.warehouse) {
    checks.push(ok('warehouse duckdb', `no database at ${t.config.duckdbPath} yet: the first commit creates it with every table`));
    return checks;
  }
  checks.push(ok('warehouse duckdb', t.config.duckdbPath));
  checks.push(...(await tableChecks(t.warehouse, specs, { autoMigrates: true })));
  return checks;
}

/**
 * What a worker runs before starting its table gates. A failure that would make every commit
 * fail stops the worker with those lines; other failures and warnings are returned for the log.
 */
export async function preflight(t: DoctorTargets): Promise<Check[]> {
  const checks = await runDoctor(t);
  const stop = blocking(checks);
  if (stop.length > 0) {
    throw new ConfigError(
      `refusing to start the table gates; every commit would fail:\n${stop.map(formatCheck).join('\n')}\n(run phasegate doctor for the full report)`,
    );
  }
  return checks.filter((c) => c.status !== 'ok');
}
