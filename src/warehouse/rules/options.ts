/**
 * Options of the BigQuery rules layer. Every duration is BigQuery (wall-clock) seconds; the
 * layer divides each by `timeScale`, so tests and demos can live through a 30-minute
 * streaming buffer or a 10-second rate window in a fraction of the time.
 *
 * Every limit defaults to BigQuery's own value, read from `../bigquery/limits.ts`.
 */
import { BIGQUERY_LIMITS as BQ } from '../../limits/bigquery.ts';

/** How long a DML statement holds its running slot, in BigQuery seconds. */
export interface DmlLatencyOptions {
  /**
   * Fixed cost of a DML job (scheduling, planning, commit).
   * @defaultValue 2
   */
  baseSeconds: number;
  /**
   * Added per thousand rows staged or affected.
   * @defaultValue 0.5
   */
  perThousandRowsSeconds: number;
  /**
   * Uniform relative jitter: 0.2 turns 2 s into 1.6–2.4 s.
   * @defaultValue 0.2
   */
  jitter: number;
}

export interface BigQueryRulesOptions {
  /**
   * How many times faster than BigQuery's clock the layer runs: every window and latency is
   * divided by it.
   * @defaultValue 1
   */
  timeScale?: number;
  /**
   * Mutating DML (MERGE/UPDATE/DELETE) running at once per table.
   * @defaultValue BigQuery's `runningMutatingDmlPerTable` (limits.ts)
   */
  maxRunningDml?: number;
  /**
   * Mutating DML waiting per table behind the running ones; the next one fails at once.
   * @defaultValue BigQuery's `queuedMutatingDmlPerTable` (limits.ts)
   */
  maxQueuedDml?: number;
  /** @defaultValue `{ baseSeconds: 2, perThousandRowsSeconds: 0.5, jitter: 0.2 }` */
  dmlLatency?: Partial<DmlLatencyOptions>;
  /**
   * Table metadata update operations (loads, query jobs writing the table, DDL) per window.
   * @defaultValue BigQuery's `tableMetadataUpdatesPerWindow.operations` (limits.ts)
   */
  tableOpsPerWindow?: number;
  /** @defaultValue BigQuery's `tableMetadataUpdatesPerWindow.windowSeconds` (limits.ts) */
  tableOpsWindowSeconds?: number;
  /**
   * DML statements (INSERT, MERGE, UPDATE, DELETE) per table per window.
   * @defaultValue BigQuery's `dmlStatementsPerTableWindow.statements` (limits.ts)
   */
  dmlStatementsPerWindow?: number;
  /** @defaultValue BigQuery's `dmlStatementsPerTableWindow.windowSeconds` (limits.ts) */
  dmlWindowSeconds?: number;
  /**
   * Partitions (slices) one statement may modify; a statement over more fails.
   * @defaultValue BigQuery's `partitionsModifiedPerJob` (limits.ts)
   */
  maxPartitionsPerJob?: number;
  /**
   * Load jobs per table per day, failed ones included (table modifications; DML is not one).
   * @defaultValue BigQuery's `tableModificationsPerDay` (limits.ts)
   */
  dailyLoadJobs?: number;
  /**
   * How long streamed rows stay in the streaming buffer, immune to UPDATE/DELETE/MERGE;
   * BigQuery keeps them ~30 min (rarely up to 90).
   * @defaultValue 1800
   */
  streamingBufferSeconds?: number;
  /**
   * Seed of the PRNG behind latency jitter, so a run is reproducible.
   * @defaultValue 1
   */
  seed?: number;
  /**
   * Project named in error texts (`project:dataset.table`).
   * @defaultValue 'phasegate-local'
   */
  projectId?: string;
}

export type ResolvedRulesOptions = Required<Omit<BigQueryRulesOptions, 'dmlLatency'>> & { dmlLatency: DmlLatencyOptions };

export const DEFAULT_RULES_OPTIONS = {
  timeScale: 1,
  maxRunningDml: BQ.runningMutatingDmlPerTable,
  maxQueuedDml: BQ.queuedMutatingDmlPerTable,
  dmlLatency: { baseSeconds: 2, perThousandRowsSeconds: 0.5, jitter: 0.2 },
  tableOpsPerWindow: BQ.tableMetadataUpdatesPerWindow.operations,
  tableOpsWindowSeconds: BQ.tableMetadataUpdatesPerWindow.windowSeconds,
  dmlStatementsPerWindow: BQ.dmlStatementsPerTableWindow.statements,
  dmlWindowSeconds: BQ.dmlStatementsPerTableWindow.windowSeconds,
  maxPartitionsPerJob: BQ.partitionsModifiedPerJob,
  dailyLoadJobs: BQ.tableModificationsPerDay,
  streamingBufferSeconds: 1800,
  seed: 1,
  projectId: 'phasegate-local',
} as const satisfies ResolvedRulesOptions;

/** BigQuery's quota day: 86,400 s, scaled like every other window. */
export const DAY_SECONDS = 86_400;

export function resolveRulesOptions(options: BigQueryRulesOptions = {}): ResolvedRulesOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as BigQueryRulesOptions;
  const resolved: ResolvedRulesOptions = {
    ...DEFAULT_RULES_OPTIONS,
    ...defined,
    dmlLatency: { ...DEFAULT_RULES_OPTIONS.dmlLatency, ...Object.fromEntries(Object.entries(options.dmlLatency ?? {}).filter(([, v]) => v !== undefined)) },
  };
  if (!(resolved.timeScale > 0)) throw new RangeError(`timeScale must be > 0, got ${resolved.timeScale}`);
  for (const key of ['maxRunningDml', 'tableOpsPerWindow', 'dmlStatementsPerWindow', 'maxPartitionsPerJob'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) throw new RangeError(`${key} must be an integer ≥ 1, got ${resolved[key]}`);
  }
  for (const key of ['maxQueuedDml', 'dailyLoadJobs'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 0) throw new RangeError(`${key} must be an integer ≥ 0, got ${resolved[key]}`);
  }
  return resolved;
}
