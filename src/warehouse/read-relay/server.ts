/**
 * The holder's side of the read relay. DuckDB lets one process open a file, so while a worker
 * (or `backfill --workers`, or the demo) holds it, `phasegate sql`, `conflicts`, `coverage` and
 * the dashboard cannot; this process answers their reads instead. It pops requests from one
 * Redis list per file (`BLPOP` on a connection of its own), runs each — one at a time, so
 * people's reads never crowd out the pipeline's — and pushes the reply to a key per request
 * that expires. A person's query runs on the guest connection, behind `phasegate sql`'s fence
 * (read-only statements, read-only transaction, external access off); the other reads are the
 * warehouse's own parameterized SQL over tables looked up in this process's registry. A
 * person's reply is bounded in rows, bytes and time; the pipeline's reads (a phase job's
 * inputs, a season of rolling-window history) have no size cliff: they stream in parts, with
 * at most PHASEGATE_READ_RELAY_MAX_BYTES of them in Redis at once, bounded in time.
 */

import { InputError } from '../../errors/input-error.ts';
import { TransientError } from '../../errors/transient-error.ts';
import { WarehouseError } from '../../errors/warehouse-error.ts';
import { log } from '../../log.ts';
import type { Registry } from '../../processors/registry.ts';
import type { TableSpec } from '../../processors/types.ts';
import { BlockingConnection } from '../../redis/blocking-connection.ts';
import type { RedisClient } from '../../redis/connect.ts';
import type { Keys } from '../../redis/keys.ts';
import { RepeatedErrors } from '../../redis/repeated-errors.ts';
import type { DuckDBWarehouse } from '../duckdb/duckdb-warehouse.ts';
import type { GuestReader } from '../duckdb/guest-reader.ts';
import type { EmulatedWarehouse } from '../types.ts';
import { overDeadline, type ReadBounds, tooManyBytes, tooManyRows } from './bounds.ts';
import { type OpArgs, parseRequest, type RelayOp, type RelayPresence, type RelayReply, type RelayRequest, toWireError } from './protocol.ts';

/** `timeoutMs`: the longest one read may run here, whatever deadline its request carries. */
export type ReadRelayBounds = ReadBounds;

export interface ReadRelayServerOptions {
  /** For replies and the heartbeat; the blocking pop gets a duplicate of it. */
  redis: RedisClient;
  keys: Pick<Keys, 'readRelayRequests' | 'readRelayReply' | 'readRelayServer'>;
  /** The DuckDB file this process holds: what readers name. */
  dbPath: string;
  /** The tables a request may name (`dataset.table`). */
  registry: Registry;
  /** The file's warehouse: people's queries (its guest connection) and the reports. */
  duck: DuckDBWarehouse;
  /**
   * The warehouse this process's own pipeline reads through — with BigQuery's rules on, the
   * rules layer over `duck` — so a phase job's reads from another process are what they would
   * be here: counted as the query jobs they would be on BigQuery, and a table's metadata with
   * its streaming buffer. @defaultValue `duck`
   */
  pipeline?: Pick<EmulatedWarehouse, 'describeTable' | 'readSlices' | 'presentSlices' | 'slicesWithRowsSince' | 'unitHoldings' | 'tableMetadata'>;
  bounds: ReadRelayBounds;
}

export interface ReadRelayServer {
  /** Stops advertising, stops the query in hand (its reader is told), stops popping. */
  close(): Promise<void>;
}

// One pop waits this long, then the loop goes round; close wakes it at once (CLIENT UNBLOCK).
const BLOCK_SECONDS = 5;
// The presence key outlives a few missed heartbeats, and a crashed holder stops being
// advertised within its TTL, after which readers fail at once instead of waiting.
const HEARTBEAT_MS = 5_000;
const PRESENCE_TTL_MS = 15_000;
// A reply whose reader gave up is gone after this; a reader that waits takes it at once.
const REPLY_TTL_MS = 60_000;
// A read is stopped this long before its reader stops waiting, so the reader hears why.
const REPLY_MARGIN_MS = 500;
// A large list of rows goes in parts of PHASEGATE_READ_RELAY_MAX_BYTES / this, and at most
// this many wait in Redis at once: a reply never holds more than the bound there.
const PARTS_IN_REDIS = 8;

function isNotFound(err: unknown): boolean {
  return err instanceof WarehouseError && err.reason === 'notFound';
}

/** A table nothing has committed to yet holds nothing: the reader creates no table here. */
async function orNothing<T>(read: Promise<T[]>): Promise<T[]> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

function beforeDeadline<T>(work: Promise<T>, deadline: number, timeoutMs: number): Promise<T> {
  // A read that loses the race still ends (a warehouse read cannot be cancelled): its failure
  // then has no one to go to, and an unhandled rejection would end the process.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(overDeadline(timeoutMs)), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function shuttingDown(): TransientError {
  return new TransientError('the process holding the DuckDB file is shutting down: read again once it has let go of the file', { reason: 'stopped' });
}

export async function serveReads(opts: ReadRelayServerOptions): Promise<ReadRelayServer> {
  const { redis, keys, dbPath, registry, duck, bounds } = opts;
  const pipeline = opts.pipeline ?? duck;
  const requestsKey = keys.readRelayRequests(dbPath);
  const serverKey = keys.readRelayServer(dbPath);
  const guest: GuestReader = await duck.openGuestReader();
  let stopping = false;
  const spec = (table: string): TableSpec => registry.tableSpec(table);

  const run = async (req: RelayRequest, deadline: number): Promise<unknown> => {
    const a = req.args;
    const op = req.op as RelayOp;
    switch (op) {
      case 'query': {
        const { sql, params } = a as OpArgs<'query'>;
        const result = await guest.query(sql, params ?? {}, { maxRows: bounds.maxRows, deadline });
        if (result.more) {
          throw tooManyRows(bounds.maxRows);
        }
        return result.rows;
      }
      case 'describeTable':
        return pipeline.describeTable(spec((a as OpArgs<'describeTable'>).table));
      case 'readSlices': {
        const { table, slices } = a as OpArgs<'readSlices'>;
        return orNothing(pipeline.readSlices(spec(table), slices));
      }
      case 'presentSlices': {
        const { table, slices } = a as OpArgs<'presentSlices'>;
        return orNothing(pipeline.presentSlices(spec(table), slices));
      }
      case 'slicesWithRowsSince': {
        const { table, slices, since, column } = a as OpArgs<'slicesWithRowsSince'>;
        const s = spec(table);
        // The column becomes an identifier in the SQL: only one the registry gives.
        if (!s.columns.some((c) => c.name === column)) throw new InputError(`read relay: ${table} has no column ${column}`);
        return orNothing(pipeline.slicesWithRowsSince(s, slices, new Date(since), column));
      }
      case 'unitHoldings': {
        const { table, slices, units } = a as OpArgs<'unitHoldings'>;
        return orNothing(pipeline.unitHoldings(spec(table), slices, units));
      }
      case 'tableMetadata':
        return pipeline.tableMetadata(spec((a as OpArgs<'tableMetadata'>).table));
      case 'gameHoldings': {
        const { table, slices } = a as OpArgs<'gameHoldings'>;
        return orNothing(duck.reports.gameHoldings(spec(table), slices));
      }
      case 'tableSummary': {
        const { table, range } = a as OpArgs<'tableSummary'>;
        return duck.reports.tableSummary(spec(table), range);
      }
      case 'samplePredictions': {
        const { predictions, actuals, range, limit } = a as OpArgs<'samplePredictions'>;
        return duck.reports.samplePredictions({ predictions: spec(predictions), actuals: spec(actuals), range, ...(limit === undefined ? {} : { limit }) });
      }
      case 'conflictSummary': {
        const { table, since } = a as OpArgs<'conflictSummary'>;
        return duck.reports.conflictSummary(spec(table), new Date(since));
      }
      case 'unresolvedConflicts': {
        const { table, since } = a as OpArgs<'unresolvedConflicts'>;
        return duck.reports.unresolvedConflicts(spec(table), new Date(since));
      }
    }
  };

  const push = async (key: string, json: string): Promise<void> => {
    await redis.multi().rpush(key, json).pexpire(key, REPLY_TTL_MS).exec();
  };

  const reply = async (id: string, body: RelayReply): Promise<void> => {
    let json = JSON.stringify(body);
    const bytes = Buffer.byteLength(json);
    if (bytes > bounds.maxBytes) {
      const error = tooManyBytes(bytes, bounds.maxBytes);
      json = JSON.stringify({ id, ok: false, error: toWireError(error) } satisfies RelayReply);
    }
    await push(keys.readRelayReply(dbPath, id), json);
  };

  /**
   * A value as one message; a list of rows that does not fit in one part, as parts read in
   * order. At most PARTS_IN_REDIS parts wait in Redis: the next waits until the reader has
   * taken one, so neither Redis nor this process holds a second copy of a large read as text.
   * `capBytes`: a person's query stops at the bound and says so; the pipeline's reads have none.
   */
  const replyValue = async (id: string, value: unknown, capBytes: number | undefined, deadline: number): Promise<void> => {
    if (!Array.isArray(value)) return reply(id, { id, ok: true, value });
    const key = keys.readRelayReply(dbPath, id);
    const partBytes = Math.max(1024, Math.floor(bounds.maxBytes / PARTS_IN_REDIS));
    const head = `{"id":${JSON.stringify(id)},"ok":true`;
    let part: string[] = [];
    let inPart = 0;
    // The reply's size as one message would have it (`{…,"value":[row,row]}`), as the bound
    // counted before replies came in parts: the envelope, each row and the commas between them.
    let total = Buffer.byteLength(`${head},"value":[]}`) - 1;
    let sent = 0;
    for (const row of value) {
      const text = JSON.stringify(row) ?? 'null';
      const n = Buffer.byteLength(text) + 1;
      total += n;
      if (capBytes !== undefined && total > capBytes) throw tooManyBytes(undefined, capBytes);
      if (inPart + n > partBytes && part.length > 0) {
        await push(key, `${head},"more":true,"rows":[${part.join(',')}]}`);
        sent += 1;
        part = [];
        inPart = 0;
        while ((await redis.llen(key)) >= PARTS_IN_REDIS) {
          if (stopping) throw shuttingDown();
          if (Date.now() >= deadline) throw overDeadline(bounds.timeoutMs);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      part.push(text);
      inPart += n;
    }
    await push(key, sent === 0 ? `${head},"value":[${part.join(',')}]}` : `${head},"more":false,"rows":[${part.join(',')}]}`);
  };

  const handle = async (text: string): Promise<void> => {
    const parsed = parseRequest(text);
    if ('error' in parsed) {
      if (parsed.id !== undefined) await reply(parsed.id, { id: parsed.id, ok: false, error: toWireError(parsed.error) });
      else log.warn(`read relay: dropped a request: ${parsed.error.message}`);
      return;
    }
    const req = parsed.request;
    if (stopping) {
      await reply(req.id, { id: req.id, ok: false, error: toWireError(shuttingDown()) });
      return;
    }
    const now = Date.now();
    // Its reader has stopped waiting (or will before an answer is back): running it would only load the warehouse.
    if (req.deadline - REPLY_MARGIN_MS <= now) return;
    const deadline = Math.min(req.deadline - REPLY_MARGIN_MS, now + bounds.timeoutMs);
    try {
      const value = await beforeDeadline(run(req, deadline), deadline, bounds.timeoutMs);
      await replyValue(req.id, value, req.op === 'query' ? bounds.maxBytes : undefined, deadline);
    } catch (err) {
      // A query interrupted at its deadline or by close fails with DuckDB's "Interrupted": say why.
      const failure = err instanceof InputError ? err : stopping ? shuttingDown() : Date.now() >= deadline ? overDeadline(bounds.timeoutMs) : err;
      await reply(req.id, { id: req.id, ok: false, error: toWireError(failure) });
    }
  };

  // Its own connection: a blocking pop would hold up every other command on a shared one.
  const reads = await BlockingConnection.open(redis, requestsKey, 'read relay: Redis connection');
  const since = new Date().toISOString();
  const heartbeatErrors = new RepeatedErrors('read relay: heartbeat');
  // Every beat writes the presence key anew, so a Redis that restarted without its data
  // advertises this holder again within HEARTBEAT_MS.
  const advertise = () =>
    redis.set(serverKey, JSON.stringify({ pid: process.pid, since } satisfies RelayPresence), 'PX', PRESENCE_TTL_MS).then(
      () => heartbeatErrors.ok(),
      (err) => heartbeatErrors.failed(err),
    );
  await advertise();
  const heartbeat = setInterval(() => void advertise(), HEARTBEAT_MS);
  heartbeat.unref();

  const loopErrors = new RepeatedErrors('read relay');
  const loop = (async () => {
    while (!stopping) {
      try {
        const popped = await reads.read(BLOCK_SECONDS * 1000, (conn) => conn.blpop(requestsKey, BLOCK_SECONDS));
        if (popped) await handle(popped[1]);
        loopErrors.ok();
      } catch (err) {
        if (stopping) return;
        loopErrors.failed(err);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  log.debug(`read relay: answering reads of ${dbPath}`);

  return {
    async close() {
      if (stopping) return;
      stopping = true;
      clearInterval(heartbeat);
      // First stop advertising, so new readers fail at once. Only this process can hold the
      // file, so the key cannot be another server's.
      await redis.del(serverKey).catch(() => undefined);
      // A person's query in hand must not hold up a worker's shutdown: its reader is told why.
      guest.interrupt();
      // A waiting pop wakes at once; a popped request is still answered (on the other connection).
      await reads.closeAfter(loop, redis);
    },
  };
}
