/** What workers and the CLI share: one bundle of the process's long-lived parts. */

import type { Config } from '../config/load-config.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { Registry } from '../processors/registry.ts';
import type { BoxscoreSource, SourceClients } from '../processors/types.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { Keys } from '../redis/keys.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { Warehouse } from '../warehouse/types.ts';
import type { TableGateStore } from './commit/table-gate.ts';
import type { QueueSet } from './queue-set.ts';
import type { StatusStore } from './status-store.ts';

export interface PipelineContext {
  config: Config;
  redis: RedisClient;
  keys: Keys;
  registry: Registry;
  store: ObjectStore;
  /** Opened lazily: a process that only enqueues never opens the warehouse. */
  warehouse: () => Promise<Warehouse>;
  /**
   * Whether this process may open the warehouse itself. With the embedded DuckDB file only the
   * process running the table gates does (or one that opened it already): a process running
   * only phase work reads through the holder's read relay, whichever process started first.
   * @defaultValue it may
   */
  opensWarehouse?: () => boolean;
  /** The schedule and the primary source's box scores (the fixture or the scraper service). */
  source: BoxscoreSource;
  /** The other sources' clients (`SourceDef.client`), one each per pipeline. */
  clients: SourceClients;
  statuses: StatusStore;
  gate: TableGateStore;
  queues: QueueSet;
  /** The process's notifier (log, webhook): one per context, closed with it. */
  notifier: Notifier;
}
