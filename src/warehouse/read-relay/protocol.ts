/**
 * What travels between a reader and the process holding the DuckDB file: a request (one read
 * of the `Warehouse` seam, named by op, with its arguments) and its reply (the value, or an
 * error with its class). Requests come from anyone who can write to Redis, so the holder
 * checks every field: tables are named by `dataset.table` and looked up in its own registry,
 * values only ever become query parameters, and lists and texts are capped.
 */
import { z } from 'zod';
import { InputError } from '../../errors/input-error.ts';
import { PermanentError } from '../../errors/permanent-error.ts';
import { toError } from '../../errors/phasegate-error.ts';
import { TransientError } from '../../errors/transient-error.ts';
import { WarehouseError } from '../../errors/warehouse-error.ts';

/**
 * The wire format's version: a holder refuses a request of another one instead of misreading it.
 * 2: a list of rows may come in parts (`RelayReply`).
 */
export const PROTOCOL_VERSION = 2;

// Bounds of a request itself (the reply's are settings): a person's query is a few KB, a
// coverage scan names a season of dates; anything far beyond is not a read worth relaying.
const MAX_SQL_CHARS = 100_000;
const MAX_LIST = 10_000;

const ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an identifier');
const table = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'dataset.table');
const list = z.array(z.string().max(256)).max(MAX_LIST);
const instant = z.iso.datetime();
const range = z.object({ start: z.string().max(32), end: z.string().max(32) });
const param = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.union([z.string(), z.number()])).max(MAX_LIST)]);

/** Every read the relay answers, by op: its arguments as they travel. */
export const OP_ARGS = {
  query: z.object({ sql: z.string().min(1).max(MAX_SQL_CHARS), params: z.record(ident, param).optional() }),
  describeTable: z.object({ table }),
  readSlices: z.object({ table, slices: list }),
  presentSlices: z.object({ table, slices: list }),
  slicesWithRowsSince: z.object({ table, slices: list, since: instant, column: ident }),
  unitHoldings: z.object({ table, slices: list, units: list }),
  tableMetadata: z.object({ table }),
  gameHoldings: z.object({ table, slices: list }),
  tableSummary: z.object({ table, range }),
  samplePredictions: z.object({ predictions: table, actuals: table, range, limit: z.number().int().min(1).max(1000).optional() }),
  conflictSummary: z.object({ table, since: instant }),
  unresolvedConflicts: z.object({ table, since: instant }),
} as const;

export type RelayOp = keyof typeof OP_ARGS;
export type OpArgs<O extends RelayOp> = z.infer<(typeof OP_ARGS)[O]>;

const OPS = Object.keys(OP_ARGS) as [RelayOp, ...RelayOp[]];

const envelope = z.object({
  v: z.literal(PROTOCOL_VERSION),
  /** Names the reply key (`Keys.readRelayReply`): the holder derives it, a request never names a key. */
  id: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  /** Epoch ms after which the reader no longer waits: an older request is dropped unanswered. */
  deadline: z.number().int().positive(),
  op: z.enum(OPS),
  args: z.unknown(),
});

export interface RelayRequest<O extends RelayOp = RelayOp> {
  v: typeof PROTOCOL_VERSION;
  id: string;
  deadline: number;
  op: O;
  args: OpArgs<O>;
}

/** A request as the holder popped it: checked, or what is wrong with it (with its id when that was readable, to reply to). */
export type ParsedRequest = { request: RelayRequest } | { error: InputError; id?: string | undefined };

export function parseRequest(text: string): ParsedRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: new InputError('read relay: a request that is not JSON') };
  }
  const head = envelope.safeParse(json);
  const v = (json as { v?: unknown } | null)?.v;
  if (!head.success && typeof v === 'number' && v !== PROTOCOL_VERSION) {
    const id = envelope.shape.id.safeParse((json as { id?: unknown }).id);
    return {
      id: id.success ? id.data : undefined,
      error: new InputError(
        `read relay: the reader speaks version ${v} of the relay, this holder version ${PROTOCOL_VERSION}: run the same phasegate release on every machine`,
      ),
    };
  }
  if (!head.success) {
    const issue = head.error.issues[0];
    const id = envelope.shape.id.safeParse((json as { id?: unknown } | null)?.id);
    return {
      id: id.success ? id.data : undefined,
      error: new InputError(`read relay: a malformed request (${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'})`),
    };
  }
  const args = OP_ARGS[head.data.op].safeParse(head.data.args);
  if (!args.success) {
    const issue = args.error.issues[0];
    return { id: head.data.id, error: new InputError(`read relay: ${head.data.op}: ${issue?.path.join('.') || 'arguments'}: ${issue?.message ?? 'invalid'}`) };
  }
  return { request: { ...head.data, args: args.data } as RelayRequest };
}

/** What the holder advertises while it serves (`Keys.readRelayServer`). */
export interface RelayPresence {
  pid: number;
  since: string;
}

/** An error as it travels: its class (so the reader rethrows the same kind), message, and BigQuery reason. */
export interface WireError {
  kind: 'input' | 'transient' | 'permanent';
  message: string;
  reason?: string | undefined;
  table?: string | undefined;
}

/**
 * One message on a request's reply key: the whole value; or, for a list of rows too large for
 * one message, a part of it (`more` until the last); or the error that ended the read — which
 * may follow parts already sent, and then ends the read just the same.
 */
export type RelayReply =
  | { id: string; ok: true; value: unknown }
  | { id: string; ok: true; rows: unknown[]; more: boolean }
  | { id: string; ok: false; error: WireError };

export function toWireError(thrown: unknown): WireError {
  const err = toError(thrown);
  if (thrown instanceof InputError) return { kind: 'input', message: err.message };
  if (thrown instanceof WarehouseError) {
    return { kind: thrown.retryable ? 'transient' : 'permanent', message: err.message, reason: thrown.reason, table: thrown.table };
  }
  return { kind: 'permanent', message: err.message };
}

export function fromWireError(wire: WireError): Error {
  if (wire.kind === 'input') return new InputError(wire.message);
  const options = { reason: wire.reason, table: wire.table };
  return wire.kind === 'transient' ? new TransientError(wire.message, options) : new PermanentError(wire.message, options);
}
