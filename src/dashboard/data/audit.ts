/**
 * The audit log: every state-changing action taken through the dashboard (retries, Bull Board
 * changes, and Bull Board changes refused on a table gate) — who, from where, what, when and
 * how it ended. A capped Redis list, newest first, shown on the failures page.
 */
import type { Request, Response } from 'express';
import { log } from '../../log.ts';
import type { RedisClient } from '../../redis/connect.ts';
import type { Keys } from '../../redis/keys.ts';
import { authOf, clientOf } from '../context.ts';

/** How many entries are kept. */
export const AUDIT_MAX_ENTRIES = 1000;

export interface AuditEntry {
  /** ISO time. */
  at: string;
  /** The credential: `bearer token`, `user ops`, `token session`, … */
  who: string;
  /** The client address (through a trusted proxy: the forwarded one). */
  client: string;
  /** What was done, e.g. `retry slices`, `bull-board PUT /api/queues/:queueName/pause`. */
  action: string;
  /** What it was done to (queue, job, backfill, slices). */
  target?: string | undefined;
  /** Its outcome: `ok`, counts, or `refused (403): why`. */
  outcome: string;
}

/** Where the log lives: the runtime's Redis, under the dashboard's keys. */
export interface AuditStore {
  rt: { redis: RedisClient };
  keys: Pick<Keys, 'dashboardSession' | 'dashboardSignInFailures' | 'dashboardAudit'>;
}

export async function recordAudit(store: AuditStore, entry: Omit<AuditEntry, 'at'> & { at?: string }): Promise<void> {
  const full: AuditEntry = { at: entry.at ?? new Date().toISOString(), ...entry };
  const key = store.keys.dashboardAudit();
  await store.rt.redis
    .multi()
    .lpush(key, JSON.stringify(full))
    .ltrim(key, 0, AUDIT_MAX_ENTRIES - 1)
    .exec();
  log.info(`dashboard audit: ${full.who} (${full.client}) ${full.action}${full.target ? ` ${full.target}` : ''}: ${full.outcome}`);
}

/**
 * Records an action of the signed-in requester of `req`, after it was done. A failed write is
 * logged (with the entry) rather than turning the done action into a 500.
 */
export async function auditRequest(store: AuditStore, req: Request, res: Response, what: Pick<AuditEntry, 'action' | 'target' | 'outcome'>): Promise<void> {
  const entry = { who: authOf(res)?.who ?? 'unknown', client: clientOf(req), ...what };
  try {
    await recordAudit(store, entry);
  } catch (err) {
    log.error(`dashboard audit: could not record ${JSON.stringify(entry)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The newest `limit` entries, newest first (entries that do not parse are skipped). */
export async function readAudit(store: AuditStore, limit = 50): Promise<AuditEntry[]> {
  const raw = await store.rt.redis.lrange(store.keys.dashboardAudit(), 0, Math.max(0, limit - 1));
  const out: AuditEntry[] = [];
  for (const r of raw) {
    try {
      const e = JSON.parse(r) as Partial<AuditEntry>;
      if (typeof e.at === 'string' && typeof e.who === 'string' && typeof e.action === 'string' && typeof e.outcome === 'string') {
        out.push({
          at: e.at,
          who: e.who,
          client: String(e.client ?? ''),
          action: e.action,
          target: typeof e.target === 'string' ? e.target : undefined,
          outcome: e.outcome,
        });
      }
    } catch {
      // skipped
    }
  }
  return out;
}
