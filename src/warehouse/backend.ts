/**
 * What a warehouse backend gives phasegate: how to open it for the pipeline and for people's
 * queries. Each backend's folder exports one; `index.ts` lists them by their configured name.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config/load-config.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { AdminProblem, AdminView } from './admin.ts';
import type { RulesOptions } from './rules/bigquery-rules-warehouse.ts';
import type { Warehouse } from './types.ts';

/**
 * What opening a warehouse for the doctor found: the warehouse (its facet from `adminOf`), or
 * nothing yet — fine, the first commit creates it (`detail` says so) — or a warehouse that
 * cannot be opened now.
 */
export type DoctorOpening = { kind: 'open'; warehouse: Warehouse } | { kind: 'absent'; detail: string } | { kind: 'unavailable'; problem: AdminProblem };

export interface WarehouseBackend {
  /** The warehouse the pipeline writes (`rules`: overrides for the BigQuery rules layer, where a backend has one). */
  open(config: Config, store: ObjectStore, rules: Partial<RulesOptions>): Promise<Warehouse>;
  /**
   * The warehouse people's own queries run on (`phasegate sql`): it must refuse to write and
   * reach nothing but the warehouse. `redis`: a connection a backend may read through.
   */
  openForQueries(config: Config, store: ObjectStore, opts: { redis?: Redis }): Promise<Warehouse>;
  /**
   * The warehouse as `phasegate doctor` inspects it, creating nothing: opened as people's
   * queries open it, or absent (nothing committed yet), or unavailable with the reason.
   */
  openForDoctor(config: Config, store: ObjectStore): Promise<DoctorOpening>;
  /**
   * The schema facet of a warehouse this backend opened (`open`, `openForQueries`), with what
   * the backend declares for the doctor: whether it adds missing columns itself, and — for a
   * cloud warehouse — the project, credentials and bucket its first commit depends on.
   */
  adminOf(config: Pick<Config, 'duckdbPath'>, warehouse: Warehouse, store: ObjectStore): AdminView;
}
