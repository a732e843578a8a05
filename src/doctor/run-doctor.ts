/**
 * `phasegate doctor`: every check, in the order a person would fix them — Redis, the free space
 * where this machine writes (disk-checks.ts), the warehouse's prerequisites (BigQuery: credentials, bucket, datasets, permissions), each table
 * phasegate writes against the registry, then the first commit's prediction per table (BigQuery:
 * write access and a dry run of the commit statement). Also what a worker runs, quietly, before
 * it starts its table gates (`preflight`).
 */
import path from 'node:path';
import type { Config } from '../config/load-config.ts';
import { ConfigError } from '../errors/config-error.ts';
import type { Registry } from '../processors/registry.ts';
import type { TableSpec } from '../processors/types.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { TableDescription } from '../warehouse/admin.ts';
import { adminOf } from '../warehouse/index.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { blocking, type Check, fail, formatCheck, ok } from './check.ts';
import { cloudChecks } from './cloud-checks.ts';
import { clusterChecks } from './cluster-checks.ts';
import { diskChecks } from './disk-checks.ts';
import { firstCommitChecks } from './first-commit.ts';
import { redisChecks } from './redis-checks.ts';
import { tableChecks } from './table-checks.ts';

export interface DoctorTargets {
  config: Pick<Config, 'warehouse' | 'duckdbPath' | 'gce'>;
  registry: Registry;
  /** The warehouse; undefined when there is none to inspect (`openForDoctor` said why in its own line). */
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

/** The folders of this machine phasegate writes to: the embedded DuckDB file's, and the local object store's. */
function localFolders(t: DoctorTargets): { what: string; folder: string }[] {
  const folders: { what: string; folder: string }[] = [];
  if (t.config.warehouse === 'duckdb' && t.config.duckdbPath !== ':memory:')
    folders.push({ what: 'warehouse file', folder: path.dirname(t.config.duckdbPath) });
  if (t.store instanceof LocalObjectStore) folders.push({ what: 'object store', folder: t.store.root });
  return folders;
}

/**
 * What the warehouse's backend provides decides the checks (`WarehouseBackend.adminOf`): its
 * own line, a cloud project's prerequisites and the first commit's prediction where it has one,
 * then every table against the registry. No check asks which warehouse this is by name.
 */
export async function runDoctor(t: DoctorTargets): Promise<Check[]> {
  const checks: Check[] =
    t.redisUrl === undefined
      ? []
      : t.redisCluster
        ? await clusterChecks({ redisUrl: t.redisUrl, redisCluster: t.redisCluster.nodes, prefix: t.redisCluster.prefix })
        : await redisChecks(t.redisUrl);
  checks.push(...(await diskChecks(localFolders(t))));
  if (!t.warehouse) return checks;
  const specs = gatedSpecs(t.registry);
  const view = await adminOf(t.config, t.warehouse, t.store);
  const subject = `warehouse ${t.config.warehouse}`;
  if (view.problem) return [...checks, fail(subject, view.problem.detail, view.problem.fix, view.problem.blocksCommits)];
  if (view.summary !== undefined) checks.push(ok(subject, view.summary));
  const { admin, cloud } = view;
  if (cloud) {
    const datasets = [...new Set(specs.map((s) => admin.datasetOf(s)))].sort();
    const prerequisites = await cloudChecks({
      cloud,
      datasets,
      gce: t.config.gce.enabled ? { metadataHost: t.config.gce.metadataHost } : undefined,
      fetch: t.fetch,
    });
    checks.push(...prerequisites);
    // Without credentials every table read fails the same way: one line says it already.
    if (prerequisites.some((c) => c.subject === 'credentials' && c.status === 'fail')) return checks;
  }
  const seen = new Map<TableSpec, TableDescription | null>();
  checks.push(...(await tableChecks(admin, specs, { autoMigrates: view.addsMissingColumns, seen })));
  if (cloud) {
    // A dataset or bucket already failed says why those commits fail; a dry run there would
    // only say it again, once per table.
    const failed = new Set(checks.filter((c) => c.status === 'fail').map((c) => c.subject));
    const bucketFailed = [...failed].some((s) => s.startsWith('bucket') || s === 'bigquery jobs');
    const predictable = specs.filter((s) => !failed.has(`dataset ${admin.datasetOf(s)}`));
    if (!bucketFailed) checks.push(...(await firstCommitChecks(cloud, admin, predictable, seen)));
  }
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
