/** BigQuery as a configured backend (`PHASEGATE_WAREHOUSE=bigquery`). */
import type { Config } from '../../config/load-config.ts';
import { ConfigError } from '../../errors/config-error.ts';
import { GcsObjectStore } from '../../storage/gcs-store.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { AdminView, CloudProject } from '../admin.ts';
import type { WarehouseBackend } from '../backend.ts';
import type { Warehouse } from '../types.ts';
import { BigQueryWarehouse } from './bigquery-warehouse.ts';
import { colocated, sameLocation } from './locations.ts';

function open(config: Config): BigQueryWarehouse {
  return new BigQueryWarehouse({
    projectId: config.bigquery.projectId ?? '',
    location: config.bigquery.location,
    datasetPrefix: config.bigquery.datasetPrefix,
    bucket: config.gcsBucket ?? '',
  });
}

/** The project, credentials and bucket a first BigQuery commit depends on, as the doctor checks them. */
function cloudOf(warehouse: BigQueryWarehouse, bucket: GcsObjectStore): CloudProject {
  return {
    projectId: warehouse.projectId,
    location: warehouse.location,
    bucket,
    principal: () => warehouse.principal(),
    datasetLocation: (dataset) => warehouse.datasetLocation(dataset),
    sameLocation,
    colocated,
    missingProjectPermissions: (permissions) => warehouse.missingProjectPermissions(permissions),
    missingTablePermissions: (spec, permissions) => warehouse.missingTablePermissions(spec, permissions),
    dryRun: () => warehouse.dryRun(),
    dryRunCommit: (spec, stagedKey) => warehouse.dryRunCommit(spec, stagedKey),
    dryRunGateRead: (spec) => warehouse.dryRunGateRead(spec),
  };
}

function adminOf(_config: unknown, warehouse: Warehouse, store: ObjectStore): AdminView {
  if (!(warehouse instanceof BigQueryWarehouse)) throw new ConfigError('the bigquery backend was handed a warehouse it did not open');
  // BigQuery's query jobs read the staged objects from a bucket: no other store can feed them.
  if (!(store instanceof GcsObjectStore)) {
    return {
      admin: warehouse,
      problem: { detail: 'bigquery needs the GCS store', fix: 'set PHASEGATE_STORE=gcs and PHASEGATE_GCS_BUCKET', blocksCommits: true },
    };
  }
  return { admin: warehouse, cloud: cloudOf(warehouse, store) };
}

export const bigQueryBackend: WarehouseBackend = {
  open: async (config) => open(config),
  // query() itself accepts one SELECT or WITH only; the credentials decide the rest.
  openForQueries: async (config) => open(config),
  // Nothing is created by opening: every check below asks the APIs.
  openForDoctor: async (config) => ({ kind: 'open', warehouse: open(config) }),
  adminOf,
};
