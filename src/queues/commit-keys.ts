/**
 * Redis keys of the commit path's safety parts — conflict records, circuit breakers, DML
 * throttles, notification windows and runs in progress — derived in this one place, under the same
 * `<prefix>:pg` namespace as `keys.ts` (the pending hash's own hold keys live with the gate).
 */
export interface CommitKeys {
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
}

export function commitKeysFor(prefix: string): CommitKeys {
  const base = `${prefix}:pg`;
  return {
    conflictEvents: () => `${base}:conflict-events`,
    conflictEpisodes: (table) => `${base}:conflict-episodes:${table}`,
    breaker: (table) => `${base}:breaker:${table}`,
    breakerRecent: (table) => `${base}:breaker:${table}:recent`,
    throttle: (table) => `${base}:throttle:${table}`,
    notifyWindow: (kind, subject) => `${base}:notify:${kind}:${subject}`,
    notifyDigest: (kind, subject) => `${base}:notify:${kind}:${subject}:digest`,
    notifyOnce: (kind, subject) => `${base}:notify-once:${kind}:${subject}`,
    runsOpen: () => `${base}:runs-open`,
  };
}
