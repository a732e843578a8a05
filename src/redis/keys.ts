/**
 * Every Redis key phasegate itself owns (BullMQ owns its own under the same prefix), derived
 * in this one place and reached as `ctx.keys`: the pipeline's state (pending slices, statuses,
 * backfills, events), the table gate's batch and hold keys, and the commit path's safety parts
 * (conflict records, breakers, throttles, notification windows, runs in progress), and the
 * read relay's requests and replies.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

export interface Keys {
  /** Hash slice → PendingSlice JSON: staged rows waiting for a table's next commit. */
  pending(table: string): string;
  /** Counter naming the table's next commit job; bumped when a commit takes its batch. */
  commitSeq(table: string): string;
  /** JSON of the batch a commit job took, kept until it lands so a retry commits the same. */
  batch(table: string, jobId: string): string;
  /** Set of the slices a commit job has taken and not yet released (the table's batch in flight). */
  inflight(table: string): string;
  /** Sorted set slice → due time (ms): slices held back while their rows sit in the streaming buffer. */
  hold(table: string): string;
  /** Hash slice → JSON of a held slice's hold (first held, tries, last reason). */
  holdInfo(table: string): string;
  /** Hash slice → SliceStatus JSON for one processor. */
  status(processor: string): string;
  /**
   * Sorted set member → start (ms): the table's statements in its last rate window, counted as
   * BigQuery counts them (sliding), which the gate holds before each statement.
   */
  opsWindow(table: string): string;
  /** Hash: a backfill's definition. */
  backfill(id: string): string;
  /** Sorted set of backfill ids by creation time. */
  backfills(): string;
  /** Set of `<processor>/<slice>` a run triggered beyond its own dates (a look-back window's later dates); expiring. */
  runExtra(id: string): string;
  /** String (ISO time): the run was cancelled (`phasegate cancel`); nothing more is started for it. */
  runCancelled(id: string): string;
  /** Hash slice → JSON of the last commit of a processor's slice (when, rows, batch): what the warehouse holds after a failed re-run. */
  lastCommitted(processor: string): string;
  /**
   * Hash `<processor>/<slice>` → SliceStatus JSON: the last status each slice had in one
   * backfill (its own outcome, which a later run of the slice does not overwrite); expiring.
   */
  backfillStatuses(id: string): string;
  /** Per table per UTC day count of DML statements (group commits): shown, never capped — DML is not a table modification. */
  tableOps(table: string, day: string): string;
  /** Per table per UTC day count of table modifications (load, copy, query-append jobs), against the daily budget. */
  tableModifications(table: string, day: string): string;
  /** Stream of `committed` events (one per committed slice). */
  events(): string;
  /** Stream of run ends (one entry per finished backfill, cascade or audit): see run-ends.ts. */
  runEnds(): string;
  /** Hash slice → the stream id that triggered the tracker's last job for a processor. */
  trigger(processor: string): string;
  /** Hash date → the last audit's coverage of the date (JSON), for readers that must not open the warehouse. */
  coverage(): string;
  /** Hash: the last audit run (id, window, when, outcome). */
  coverageRun(): string;
  /** Marker that a coverage event (a game no source has, a digest line) was announced. */
  coverageAnnounced(eventId: string): string;

  /** Stream of conflict events (met, resolved, deferred) for every table; time-windowed reads. */
  conflictEvents(): string;
  /** Hash conflict id → 'open' | 'resolved' | 'deferred': every conflict a table met, and its end. */
  conflictEpisodes(table: string): string;
  /** Hash: a table's breaker (state, since, reopensAt, probe, trips). */
  breaker(table: string): string;
  /** List of a table's recent commit outcomes, newest first: `<ms>:<0|1>` (1 = met a conflict). */
  breakerRecent(table: string): string;
  /** Hash: a table's DML throttle (lowered, since, successes) and busy streak. */
  throttle(table: string): string;
  /** String: end (ms) of the notification window of one kind for one subject. */
  notifyWindow(kind: string, subject: string): string;
  /** List: events folded into the window's digest. */
  notifyDigest(kind: string, subject: string): string;
  /** Marker that a one-time announcement (a backfill finished) was made. */
  notifyOnce(kind: string, subject: string): string;
  /** Hash phase job id → JSON of its run in progress; a leftover entry is a run that was killed. */
  runsOpen(): string;
  /**
   * String (JSON, expiring with the sign-in) per dashboard session. Named by a digest of the
   * session id, so whoever can read Redis sees which sessions exist but cannot take one over.
   */
  dashboardSession(id: string): string;
  /** Counter of failed dashboard sign-ins of one client in the current window (expires with the window). */
  dashboardSignInFailures(client: string): string;
  /** List of the dashboard's audit entries (JSON), newest first, capped. */
  dashboardAudit(): string;

  /**
   * List of read requests (JSON) for the process holding one DuckDB file (its read relay),
   * oldest first; expires when nobody serves it. Named by a digest of the file's absolute path.
   */
  readRelayRequests(dbPath: string): string;
  /** List holding the one reply (JSON) to a read request, expiring soon after it is written. */
  readRelayReply(dbPath: string, requestId: string): string;
  /** String (JSON: pid, since): the process serving reads of one DuckDB file; expires unless its heartbeat renews it. */
  readRelayServer(dbPath: string): string;
  /**
   * Hash (`since`, `lostAt`: ISO times): when phasegate first wrote to this Redis under this
   * prefix, and when a worker found it had lost its data. A Redis that restarted without its
   * data has none, or a later one: what it counts (statuses, rows committed, DML today)
   * starts again from then.
   */
  redisEpoch(): string;
  /**
   * Hash variable → canonical value (JSON) of every shared setting (table caps, batch sizes,
   * time scale), plus `recordedAt` and `recordedBy`: the one set every worker on this prefix
   * must agree with. Written by the first process that starts table gates, or by
   * `phasegate config apply`.
   */
  sharedSettings(): string;
  /**
   * Hash queue → how many of its workers a process replaced because their wait for the next job
   * never ended (src/queues/fetch-loop-watch.ts), counted by every process on this prefix.
   */
  workersReplaced(): string;
}

export function keysFor(prefix: string): Keys {
  const base = `${prefix}:pg`;
  const digest = (value: string) => createHash('sha256').update(value).digest('base64url');
  return {
    pending: (table) => `${base}:pending:${table}`,
    commitSeq: (table) => `${base}:commit-seq:${table}`,
    batch: (table, jobId) => `${base}:batch:${table}:${jobId}`,
    inflight: (table) => `${base}:pending:${table}:inflight`,
    hold: (table) => `${base}:pending:${table}:hold`,
    holdInfo: (table) => `${base}:pending:${table}:hold-info`,
    opsWindow: (table) => `${base}:ops-window:${table}`,
    status: (processor) => `${base}:status:${processor}`,
    backfill: (id) => `${base}:backfill:${id}`,
    backfills: () => `${base}:backfills`,
    runExtra: (id) => `${base}:run-extra:${id}`,
    runCancelled: (id) => `${base}:run-cancelled:${id}`,
    lastCommitted: (processor) => `${base}:last-committed:${processor}`,
    backfillStatuses: (id) => `${base}:backfill-statuses:${id}`,
    tableOps: (table, day) => `${base}:table-ops:${table}:${day}`,
    tableModifications: (table, day) => `${base}:table-modifications:${table}:${day}`,
    events: () => `${base}:events`,
    trigger: (processor) => `${base}:events:trigger:${processor}`,
    runEnds: () => `${base}:run-ends`,
    coverage: () => `${base}:coverage:dates`,
    coverageRun: () => `${base}:coverage:last-run`,
    coverageAnnounced: (eventId) => `${base}:coverage:announced:${eventId}`,

    conflictEvents: () => `${base}:conflict-events`,
    conflictEpisodes: (table) => `${base}:conflict-episodes:${table}`,
    breaker: (table) => `${base}:breaker:${table}`,
    breakerRecent: (table) => `${base}:breaker:${table}:recent`,
    throttle: (table) => `${base}:throttle:${table}`,
    notifyWindow: (kind, subject) => `${base}:notify:${kind}:${subject}`,
    notifyDigest: (kind, subject) => `${base}:notify:${kind}:${subject}:digest`,
    notifyOnce: (kind, subject) => `${base}:notify-once:${kind}:${subject}`,
    runsOpen: () => `${base}:runs-open`,
    dashboardSession: (id) => `${base}:dashboard:session:${digest(id)}`,
    dashboardSignInFailures: (client) => `${base}:dashboard:sign-in-failures:${client}`,
    dashboardAudit: () => `${base}:dashboard:audit`,
    readRelayRequests: (dbPath) => `${base}:read-relay:${digest(path.resolve(dbPath))}:requests`,
    readRelayReply: (dbPath, requestId) => `${base}:read-relay:${digest(path.resolve(dbPath))}:reply:${requestId}`,
    readRelayServer: (dbPath) => `${base}:read-relay:${digest(path.resolve(dbPath))}:server`,
    redisEpoch: () => `${base}:epoch`,
    sharedSettings: () => `${base}:shared-settings`,
    workersReplaced: () => `${base}:workers-replaced`,
  };
}
