/** BigQuery as a configured backend (`PHASEGATE_WAREHOUSE=bigquery`). */
import type { Config } from '../../config/load-config.ts';
import type { WarehouseBackend } from '../backend.ts';
import { BigQueryWarehouse } from './bigquery-warehouse.ts';

function open(config: Config): BigQueryWarehouse {
  return new BigQueryWarehouse({
    projectId: config.bigquery.projectId ?? '',
    location: config.bigquery.location,
    datasetPrefix: config.bigquery.datasetPrefix,
    bucket: config.gcsBucket ?? '',
  });
}

export const bigQueryBackend: WarehouseBackend = {
  open: async (config) => open(config),
  // query() itself accepts one SELECT or WITH only; the credentials decide the rest.
  openForQueries: async (config) => open(config),
};
