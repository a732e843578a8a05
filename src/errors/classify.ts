/**
 * Every warehouse failure becomes one of four kinds, from BigQuery's `errors[].reason` and
 * message text. The BigQuery adapter and the embedded rules layer both raise BigQuery's own
 * payloads, so one table decides for both. Order matters: the first matching row wins.
 */
import { BIGQUERY_LIMITS as BQ, formatLimit } from '../limits/bigquery.ts';
import { BusyError } from './busy-error.ts';
import { ConflictError } from './conflict-error.ts';
import { PermanentError } from './permanent-error.ts';
import { TransientError } from './transient-error.ts';
import { WarehouseError, type WarehouseErrorKind } from './warehouse-error.ts';

/** The part of a BigQuery `ApiError` (or job `status.errorResult`) we read. */
export interface BigQueryErrorPayload {
  message?: string;
  code?: number;
  reason?: string;
  errors?: { reason?: string; message?: string; location?: string }[];
}

interface Rule {
  kind: WarehouseErrorKind;
  reason?: RegExp;
  text?: RegExp;
  why: string;
}

const RULES: readonly Rule[] = [
  { kind: 'conflict', text: /would affect rows in the streaming buffer/i, why: 'rows written by a streaming insert stay immutable for ~30–90 min' },
  {
    kind: 'busy',
    text: /Too many DML statements outstanding/i,
    why: `BigQuery queues at most ${BQ.queuedMutatingDmlPerTable} mutating DML per table; the next one fails`,
  },
  { kind: 'busy', text: /Could not serialize access to table .* due to concurrent update/i, why: 'concurrent DML on one partition; retry after 10–20 s' },
  {
    kind: 'busy',
    text: /too many table update operations/i,
    why: `at most ${BQ.tableMetadataUpdatesPerWindow.operations} table metadata updates per ${BQ.tableMetadataUpdatesPerWindow.windowSeconds} s per table`,
  },
  {
    kind: 'busy',
    text: /too many table dml insert operations/i,
    why: `at most ${BQ.dmlStatementsPerTableWindow.statements} DML statements per ${BQ.dmlStatementsPerTableWindow.windowSeconds} s per table`,
  },
  {
    kind: 'busy',
    text: /Transaction is aborted due to concurrent update against table/i,
    // cloud.google.com/bigquery/docs/troubleshoot-queries: another mutating DML (or an
    // open transaction) holds the table; nothing changed, so the same MERGE may run later.
    why: 'another mutating DML or transaction on the table; retry with backoff',
  },
  {
    kind: 'busy',
    text: /DML statement has been queued for too long/i,
    // cloud.google.com/bigquery/docs/data-manipulation-language: an interactive DML job
    // queued for more than 7 hours fails so; it never ran, the table's queue is backed up.
    why: 'the table’s DML queue is backed up; the statement never ran',
  },
  {
    // Before the rate-limit reasons and `quotaExceeded`: this quota is on the project's job
    // queue (1,000 interactive / 20,000 batch queries per project and region), which drains
    // by itself — not on this table, and not a daily budget that is gone until tomorrow.
    // Seen as HTTP 403 `quotaExceeded` with the `project_and_region` spelling.
    kind: 'transient',
    text: /exceeded quota for max number of jobs that can be queued per project/i,
    why: 'the project’s job queue is full; it drains as other jobs finish',
  },
  { kind: 'busy', reason: /^(rateLimitExceeded|jobRateLimitExceeded)$/, why: 'a rate limit; retry with backoff' },
  { kind: 'busy', text: /Exceeded rate limits/i, why: 'a rate limit; retry with backoff' },
  {
    kind: 'permanent',
    text: /Quota exceeded: Your table exceeded quota for imports or query appends per table/i,
    why: `the table's ${formatLimit(BQ.tableModificationsPerDay)} daily modifications (loads, copies, query appends) are used up`,
  },
  { kind: 'transient', reason: /^(backendError|internalError|jobBackendError|jobInternalError|timeout)$/, why: 'a BigQuery backend fault' },
  { kind: 'transient', text: /\b(ECONNRESET|ETIMEDOUT|ECONNREFUSED|EPIPE|EAI_AGAIN|socket hang up|network timeout)\b/i, why: 'the connection failed' },
  {
    kind: 'transient',
    // ioredis's own texts: a command in flight when its connection dropped, or sent while it
    // was down; a cluster without a slot map; Redis's replies while a failover or a restart
    // settles. The commit path reaches Redis between its warehouse calls (the gate, the quota,
    // the statuses), and a job that re-runs lands the same rows, so it is tried again.
    text: /^(Command aborted due to connection close|Connection is closed|Stream isn't writeable|Reached the max retries per request limit|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|READONLY)\b/m,
    why: 'Redis was unreachable for a moment (a restart or a failover)',
  },
  {
    kind: 'permanent',
    reason: /^(invalidQuery|invalid|notFound|duplicate|accessDenied|quotaExceeded|billingNotEnabled|stopped)$/,
    why: 'the same request fails again',
  },
  { kind: 'permanent', text: /schema|Provided Schema does not match|No such field|Unrecognized name/i, why: 'schema mismatch' },
];

const CLASSES = { conflict: ConflictError, busy: BusyError, transient: TransientError, permanent: PermanentError } as const;

/** Node's socket error codes (`err.code` is a string there, not an HTTP status). */
const NETWORK_CODES = /^(ECONNRESET|ETIMEDOUT|ECONNREFUSED|EPIPE|EAI_AGAIN|ENOTFOUND|ECONNABORTED|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT)$/;

function payloadOf(thrown: unknown): BigQueryErrorPayload {
  if (thrown === null || typeof thrown !== 'object') return { message: String(thrown) };
  // A job's `status` handed over as is: its `errorResult` is the failure, `errors` the details.
  const status = thrown as { errorResult?: BigQueryErrorPayload; errors?: BigQueryErrorPayload['errors']; message?: string };
  if (status.errorResult && status.message === undefined) return { ...status.errorResult, errors: status.errors ?? [status.errorResult] };
  return thrown as BigQueryErrorPayload;
}

/** Messages and string codes down the `cause` chain: fetch wraps the socket error ("fetch failed"). */
function causeTexts(thrown: unknown): string[] {
  const out: string[] = [];
  let cur: unknown = thrown;
  for (let depth = 0; depth < 5 && cur !== null && typeof cur === 'object'; depth++) {
    const c = cur as { code?: unknown; cause?: unknown; message?: unknown };
    if (typeof c.code === 'string' && NETWORK_CODES.test(c.code)) out.push(c.code);
    if (depth > 0 && typeof c.message === 'string') out.push(c.message);
    cur = c.cause;
  }
  return out;
}

/** Which kind a payload is; unknown errors with HTTP 5xx/408/429 are transient, else permanent. */
export function classifyKind(thrown: unknown): WarehouseErrorKind {
  const p = payloadOf(thrown);
  const reasons = [p.reason, ...(p.errors ?? []).map((e) => e.reason)].filter((r): r is string => !!r);
  const texts = [p.message, ...(p.errors ?? []).map((e) => e.message), ...causeTexts(thrown)].filter((t): t is string => !!t).join('\n');
  for (const rule of RULES) {
    if (rule.text?.test(texts)) return rule.kind;
    if (rule.reason && reasons.some((r) => rule.reason?.test(r))) return rule.kind;
  }
  const code = typeof p.code === 'number' ? p.code : undefined;
  if (code !== undefined && (code >= 500 || code === 408 || code === 429)) return 'transient';
  return 'permanent';
}

/** Normalises anything a warehouse call threw into our WarehouseError classes. */
export function classifyWarehouseError(thrown: unknown, table?: string): WarehouseError {
  if (thrown instanceof WarehouseError) return thrown;
  const p = payloadOf(thrown);
  const kind = classifyKind(thrown);
  const reason = p.reason ?? p.errors?.find((e) => e.reason)?.reason;
  const message = p.message ?? p.errors?.find((e) => e.message)?.message ?? 'warehouse error';
  return new CLASSES[kind](message, { cause: thrown, reason, table });
}

/**
 * Which busy case an error is, for the commit path's reaction (only the DML queue lowers
 * concurrency; `serialize` waits a random 10–20 s; the rest back off exponentially).
 */
export type BusyCause = 'dmlOutstanding' | 'serialize' | 'transactionAborted' | 'rateLimit';

export function busyCause(err: { message: string }): BusyCause {
  // BigQuery queues a bounded number of mutating DML per table (limits.ts); the next fails with this text. One
  // that waited in that queue for over 7 hours fails with the second: the same congestion.
  if (/Too many DML statements outstanding|DML statement has been queued for too long/i.test(err.message)) return 'dmlOutstanding';
  // Concurrent DML on one partition: BigQuery's advice is a random 10–20 s wait.
  if (/Could not serialize access/i.test(err.message)) return 'serialize';
  // Not the 10–20 s of `serialize`: an abandoned session's transaction holds the table until
  // it is rolled back, up to 24 h (cloud.google.com/bigquery/docs/troubleshoot-queries), so
  // this backs off exponentially instead of asking again every few seconds.
  if (/Transaction is aborted due to concurrent update/i.test(err.message)) return 'transactionAborted';
  return 'rateLimit';
}

/**
 * An error shaped like the Node client's `ApiError` for a failed job: BigQuery's text in
 * `message` and `errors[]`, and no HTTP `code`. The rules layer throws these so the same
 * classifier sees the same payloads as in production.
 */
export class BigQueryJobError extends Error {
  readonly errors: { reason: string; message: string }[];
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.reason = reason;
    this.errors = [{ reason, message }];
  }
}

/** BigQuery's exact texts, so the rules layer and tests say precisely what BigQuery says. */
export const BIGQUERY_TEXTS = {
  dmlOutstanding: (table: string) =>
    `Resources exceeded during query execution: Too many DML statements outstanding against table ${table}, limit is ${BQ.queuedMutatingDmlPerTable}.`,
  streamingBuffer: (table: string) => `UPDATE or DELETE statement over table ${table} would affect rows in the streaming buffer, which is not supported`,
  tableUpdateRate: (table: string) =>
    `Exceeded rate limits: too many table update operations for this table. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas (table ${table})`,
  dailyLoads: (table: string) =>
    `Quota exceeded: Your table exceeded quota for imports or query appends per table. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas (table ${table})`,
  // cloud.google.com/bigquery/docs/troubleshoot-quotas: the text BigQuery answers when a
  // table's DML statements (INSERT and mutating DML alike) pass their rate per 10 s.
  dmlRate: (table: string) =>
    `Exceeded rate limits: too many table dml insert operations for this table. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas (table ${table})`,
  // A statement that would modify more partitions than one job may (quotas, Partitioned tables).
  tooManyPartitions: (produced: number) =>
    `Too many partitions produced by query, allowed ${BQ.partitionsModifiedPerJob}, query produces at least ${produced} partitions`,
  serialize: (table: string) => `Could not serialize access to table ${table} due to concurrent update`,
  transactionAborted: (table: string) => `Transaction is aborted due to concurrent update against table ${table}.`,
  dmlQueuedTooLong: () => 'DML statement has been queued for too long',
  projectJobQueue: () =>
    'Quota exceeded: Your project_and_region exceeded quota for max number of jobs that can be queued per project. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
} as const;
