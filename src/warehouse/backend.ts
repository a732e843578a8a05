/**
 * What a warehouse backend gives phasegate. Each backend's folder exports two things:
 * - a `WarehouseDeclaration` (`declaration.ts`): its caps and how it is reached, static and
 *   cheap — the queue layer, `status` and the dashboard read it without loading a client;
 * - a `WarehouseBackend` (`backend.ts`): how to open it for the pipeline and for people's
 *   queries, loaded only when a warehouse is opened (it loads the client library).
 * `index.ts` lists both by the backend's configured name.
 */

import type { Config } from '../config/load-config.ts';
import type { RedisClient } from '../redis/connect.ts';
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
  openForQueries(config: Config, store: ObjectStore, opts: { redis?: RedisClient }): Promise<Warehouse>;
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

/**
 * The per-table caps a warehouse holds writers to: the table gates stay within them. A backend
 * declares the limits it has; an optional one left out means the warehouse has no such limit.
 */
export interface WarehouseCaps {
  /** Mutating DML (UPDATE, DELETE, MERGE) running at once per table: the most a gate commits at once. */
  readonly runningDmlPerTable: number;
  /** Mutating DML that may wait per table behind the running ones; the next one fails. @defaultValue undefined (no limit) */
  readonly queuedDmlPerTable?: number;
  /** DML statements per table per window. @defaultValue undefined (no limit) */
  readonly dmlPerWindow?: { readonly statements: number; readonly windowSeconds: number };
  /** Table update operations (loads, query jobs writing the table, DDL) per table per window. @defaultValue undefined (no limit) */
  readonly tableUpdatesPerWindow?: { readonly operations: number; readonly windowSeconds: number };
  /** Partitions one statement may modify. @defaultValue undefined (no limit) */
  readonly partitionsPerStatement?: number;
  /** Table modifications (loads, copies, query appends; not DML) per table per day. @defaultValue undefined (no daily quota) */
  readonly dailyModifications?: number;
  /** The caps in one line, for status pages: what the warehouse allows per table. */
  readonly summary: string;
}

/**
 * What phasegate knows of a backend without loading it: how to call it, its caps, how it is
 * reached. Imported eagerly by the registry, so it imports no client library.
 */
export interface WarehouseDeclaration {
  /** Its name in messages (`BigQuery`, `the embedded DuckDB`). */
  readonly label: string;
  readonly caps: WarehouseCaps;
  /**
   * Present when the warehouse is a file on this machine that one process at a time holds for
   * writing (the embedded DuckDB): the file's path. Other processes must not open it — they
   * read through the holder's read relay, only a process that holds it can land commits, and
   * a health check looks at the file rather than opening it. Absent for a service any process
   * may query (BigQuery). @defaultValue undefined
   */
  heldFile?(config: Config): string;
}
