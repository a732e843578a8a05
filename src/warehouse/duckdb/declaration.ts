/**
 * The embedded DuckDB as the registry knows it before loading DuckDB: a file one process holds.
 */
import type { WarehouseDeclaration } from '../backend.ts';
import { BIGQUERY_CAPS } from '../bigquery/declaration.ts';

export const duckdbDeclaration: WarehouseDeclaration = {
  label: 'the embedded DuckDB',
  // The embedded default stands in for BigQuery: its rules layer (src/warehouse/rules) enforces
  // BigQuery's limits, so the gates keep BigQuery's caps and a pipeline tried here behaves as it
  // will on BigQuery (the caps are shared settings: every process of a pipeline keeps the same).
  caps: BIGQUERY_CAPS,
  // DuckDB lets one process open a file for writing: that process is the workers'.
  heldFile: (config) => config.duckdbPath,
};
