/**
 * The reader's side of the read relay: a `Warehouse` whose reads are answered by the process
 * holding the DuckDB file (see server.ts), so `phasegate sql`, `conflicts`, `coverage` and the
 * dashboard read through it without learning the relay. It only reads: writes are refused, and
 * `ensureTable` creates nothing (the holder answers a table that does not exist yet as holding
 * nothing). A read nobody answers fails with one line saying who holds the file.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/load-config.ts';
import { InputError } from '../../errors/input-error.ts';
import { PhasegateError, toError } from '../../errors/phasegate-error.ts';
import { WarehouseHeldError } from '../../errors/warehouse-held-error.ts';
import type { Holding } from '../../integrity/holdings.ts';
import { type Column, type Row, type TableSpec, tableId } from '../../processors/types.ts';
import { closeClient, connectRedis, duplicateClient, type RedisClient, type RedisTarget } from '../../redis/connect.ts';
import type { Keys } from '../../redis/keys.ts';
import type { WarehouseAdmin } from '../admin.ts';
import type {
  CommitBatch,
  CommitResult,
  GameHolding,
  PredictionSample,
  QueryParams,
  TableDescription,
  TableMetadata,
  TableSummary,
  Warehouse,
  WarehouseCapabilities,
  WarehouseReports,
} from '../types.ts';
import { describeHolder, type LockHolder, lockHolder } from './lock.ts';
import { fromWireError, type OpArgs, PROTOCOL_VERSION, type RelayOp, type RelayPresence, type RelayReply, type RelayRequest } from './protocol.ts';

export type RelayKeys = Pick<Keys, 'readRelayRequests' | 'readRelayReply' | 'readRelayServer'>;

export interface RelayClientOptions {
  /** For the request and the presence check; each wait for a reply takes a duplicate of it. */
  redis: RedisClient;
  keys: RelayKeys;
  /** The DuckDB file another process holds. */
  dbPath: string;
  /** Prefix of every dataset name, as the holder has it (`datasetOf`). @defaultValue '' */
  datasetPrefix?: string;
  /** How long one read waits for its reply, in ms. */
  timeoutMs: number;
  /** Who holds the file, as DuckDB's lock error named it: for the error when nobody answers. */
  holder?: LockHolder | undefined;
  /** Quit `redis` on close: a connection made for this reader alone. @defaultValue false */
  ownsRedis?: boolean;
}

/** What a reader needs to find the relay of its configured DuckDB file. */
export interface RelayContext {
  config: Pick<Config, 'duckdbPath' | 'bigquery' | 'readRelay'>;
  redis: RedisClient;
  keys: RelayKeys;
}

// The longest PHASEGATE_READ_RELAY_TIMEOUT_SECONDS allows, plus a minute: every request list
// outlives the deadline of any request in it, and one nobody serves is gone within the hour.
const REQUESTS_TTL_MS = 3_600_000 + 60_000;
// Beyond its own timeout a read gives Redis this long before it stops waiting on it.
const REDIS_SLACK_MS = 2_000;

export class RelayWarehouse implements Warehouse, WarehouseAdmin {
  /** It never writes: no quota to spend, no buffer to wait for. */
  readonly capabilities: WarehouseCapabilities = { countsAsDailyModification: () => false };
  private readonly opts: RelayClientOptions;
  /** The reports, each run by the holder (the view's DDL is a write, refused). */
  readonly reports: WarehouseReports = {
    gameHoldings: async (spec, slices) => (await this.ask('gameHoldings', { table: tableId(spec), slices: [...slices] })) as GameHolding[],
    ensureCoverageView: async (log, view) => this.refuse(`creating the view ${view} over ${tableId(log)}`),
    tableSummary: async (spec, range) => (await this.ask('tableSummary', { table: tableId(spec), range })) as TableSummary,
    samplePredictions: async ({ predictions, actuals, range, limit }) => {
      const args: OpArgs<'samplePredictions'> = {
        predictions: tableId(predictions),
        actuals: tableId(actuals),
        range,
        ...(limit === undefined ? {} : { limit }),
      };
      return (await this.ask('samplePredictions', args)) as PredictionSample[];
    },
    conflictSummary: async (spec, since) => (await this.ask('conflictSummary', { table: tableId(spec), since: since.toISOString() })) as Row[],
    unresolvedConflicts: async (spec, since) => (await this.ask('unresolvedConflicts', { table: tableId(spec), since: since.toISOString() })) as Row[],
  };

  constructor(opts: RelayClientOptions) {
    this.opts = opts;
  }

  /** The process serving reads of the file, when one is advertised. */
  async presence(): Promise<RelayPresence | undefined> {
    const text = await this.opts.redis.get(this.opts.keys.readRelayServer(this.opts.dbPath));
    return text ? (JSON.parse(text) as RelayPresence) : undefined;
  }

  /** One read through the holder: its value, or the holder's error rethrown as the same class. */
  private async ask<O extends RelayOp>(op: O, args: OpArgs<O>): Promise<unknown> {
    const { redis, keys, dbPath, timeoutMs, holder } = this.opts;
    const seconds = timeoutMs / 1000;
    const work = async (blocking: RedisClient): Promise<unknown> => {
      const presence = await this.presence();
      if (!presence) {
        throw new WarehouseHeldError(
          `the DuckDB file ${dbPath} is held by ${describeHolder(holder)} that does not answer queries (no phasegate worker with this PHASEGATE_PREFIX serves its reads)`,
          { pid: holder?.pid },
        );
      }
      const id = randomUUID();
      const request: RelayRequest<O> = { v: PROTOCOL_VERSION, id, deadline: Date.now() + timeoutMs, op, args };
      const requests = keys.readRelayRequests(dbPath);
      await redis.multi().rpush(requests, JSON.stringify(request)).pexpire(requests, REQUESTS_TTL_MS).exec();
      // A list of rows too large for one message comes in parts, in order, until the last.
      const rows: unknown[] = [];
      let parts = 0;
      for (;;) {
        const popped = await blocking.blpop(keys.readRelayReply(dbPath, id), Math.max(0.01, (request.deadline - Date.now()) / 1000));
        if (!popped) {
          const what = parts === 0 ? 'did not answer' : `did not finish its answer (${parts} parts, ${rows.length} rows so far)`;
          throw new WarehouseHeldError(
            `the process holding the DuckDB file ${dbPath} (PID ${presence.pid}) ${what} within ${seconds} s (PHASEGATE_READ_RELAY_TIMEOUT_SECONDS)`,
            { pid: presence.pid },
          );
        }
        const reply = JSON.parse(popped[1]) as RelayReply;
        if (!reply.ok) throw fromWireError(reply.error);
        if ('value' in reply) return reply.value;
        for (const row of reply.rows) rows.push(row);
        parts += 1;
        if (!reply.more) return rows;
      }
    };
    // Its own connection: a blocking pop would hold up every other command on a shared one.
    const blocking = duplicateClient(redis);
    // Its failures reach the commands waiting on it; the event would only print them again.
    blocking.on('error', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    const unreachable = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new WarehouseHeldError(`the DuckDB file ${dbPath} is held by ${describeHolder(holder)}, and Redis did not answer within ${seconds} s`)),
        timeoutMs + REDIS_SLACK_MS,
      );
    });
    const answer = work(blocking).catch((err: unknown) => {
      if (err instanceof PhasegateError) throw err;
      // Redis itself failed (unreachable, refused): the relay could not even be asked.
      throw new WarehouseHeldError(
        `the DuckDB file ${dbPath} is held by ${describeHolder(holder)}, and Redis could not be asked for its reads: ${toError(err).message}`,
        {
          pid: holder?.pid,
          cause: err,
        },
      );
    });
    // When Redis never answers, the wait is cut short below and its failure has no one to go to.
    answer.catch(() => undefined);
    try {
      return await Promise.race([answer, unreachable]);
    } finally {
      clearTimeout(timer);
      blocking.disconnect();
    }
  }

  private refuse(what: string): never {
    throw new InputError(`${what}: a read through the process holding the DuckDB file ${this.opts.dbPath} never writes`);
  }

  datasetOf(spec: Pick<TableSpec, 'dataset'>): string {
    return `${this.opts.datasetPrefix ?? ''}${spec.dataset}`;
  }

  /** Creates nothing: the holder's own gates create tables; its reads answer a missing one as holding nothing. */
  async ensureTable(_spec: TableSpec): Promise<void> {}

  async describeTable(spec: TableSpec): Promise<TableDescription | null> {
    return (await this.ask('describeTable', { table: tableId(spec) })) as TableDescription | null;
  }

  async addColumns(spec: TableSpec, _columns: readonly Column[]): Promise<void> {
    this.refuse(`adding columns to ${tableId(spec)}`);
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    this.refuse(`a commit to ${tableId(batch.table)}`);
  }

  async query(sql: string, params?: QueryParams): Promise<Row[]> {
    const args: OpArgs<'query'> = { sql, ...(params ? { params: params as OpArgs<'query'>['params'] } : {}) };
    return (await this.ask('query', args)) as Row[];
  }

  async readSlices(spec: TableSpec, slices: readonly string[]): Promise<Row[]> {
    return (await this.ask('readSlices', { table: tableId(spec), slices: [...slices] })) as Row[];
  }

  async presentSlices(spec: TableSpec, slices: readonly string[]): Promise<string[]> {
    return (await this.ask('presentSlices', { table: tableId(spec), slices: [...slices] })) as string[];
  }

  async slicesWithRowsSince(spec: TableSpec, slices: readonly string[], since: Date, column: string): Promise<string[]> {
    return (await this.ask('slicesWithRowsSince', { table: tableId(spec), slices: [...slices], since: since.toISOString(), column })) as string[];
  }

  async unitHoldings(spec: TableSpec, slices: readonly string[], units: readonly string[]): Promise<Holding[]> {
    return (await this.ask('unitHoldings', { table: tableId(spec), slices: [...slices], units: [...units] })) as Holding[];
  }

  async tableMetadata(spec: TableSpec): Promise<TableMetadata> {
    const meta = (await this.ask('tableMetadata', { table: tableId(spec) })) as TableMetadata;
    // The buffer's time came as JSON text (the holder's rules layer keeps one).
    const buffer = meta.streamingBuffer;
    return buffer ? { ...meta, streamingBuffer: { ...buffer, oldestEntryTime: new Date(buffer.oldestEntryTime) } } : meta;
  }

  async close(): Promise<void> {
    if (this.opts.ownsRedis) await closeClient(this.opts.redis);
  }
}

/** A reader through the relay of the configured DuckDB file. */
export function relayReader(ctx: RelayContext, extra: Pick<RelayClientOptions, 'holder' | 'ownsRedis'> = {}): RelayWarehouse {
  return new RelayWarehouse({
    redis: ctx.redis,
    keys: ctx.keys,
    dbPath: ctx.config.duckdbPath,
    datasetPrefix: ctx.config.bigquery.datasetPrefix,
    timeoutMs: ctx.config.readRelay.timeoutSeconds * 1000,
    ...extra,
  });
}

/**
 * For an open of the DuckDB file that failed: a reader through the relay of the process
 * holding it when the failure is DuckDB's file lock; any other failure is rethrown.
 */
export function relayOnLock(err: unknown, ctx: RelayContext): RelayWarehouse {
  const holder = lockHolder(err);
  if (!holder) throw err;
  return relayReader(ctx, { holder });
}

/**
 * A reader through the relay when some process advertises one for the configured file, else
 * undefined — for a reader that must never take the file itself (the dashboard).
 */
export async function advertisedRelay(ctx: RelayContext): Promise<RelayWarehouse | undefined> {
  const reader = relayReader(ctx);
  return (await reader.presence()) ? reader : undefined;
}

/** A Redis connection for a reader that has none (`phasegate sql`): it gives up instead of retrying forever. */
export function readerRedis(target: RedisTarget): RedisClient {
  const redis = connectRedis(target, { maxRetriesPerRequest: 1, connectTimeout: 5_000, lazyConnect: true });
  // Its failures reach the commands waiting on it; the event would only print them again.
  redis.on('error', () => undefined);
  return redis;
}
