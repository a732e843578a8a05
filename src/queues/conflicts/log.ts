/**
 * Every streaming-buffer conflict is recorded twice: as rows of
 * `nba_orchestration.streaming_conflict_log` (staged and landed by that table's own group
 * commit — many rows per INSERT, never a statement per row) for people and SQL, and as Redis
 * events for the dashboard and the benchmark, which must not open the DuckDB file the
 * workers hold.
 */
import { log } from '../../log.ts';
import { type ConflictType, type ResolutionMethod, streamingConflictLog } from '../../tables/streaming-conflict-log.ts';
import { stageAppendRows } from '../commit/staging.ts';
import type { PipelineContext } from '../context.ts';

/** One row of the conflict log, in the seed's column names (a type, so it is a `Row`). */
export type ConflictLogRow = {
  conflict_id: string;
  timestamp: string;
  processor_name: string;
  game_id: string | null;
  game_date: string;
  conflict_type: ConflictType;
  retry_attempt: number;
  max_retries: number | null;
  delay_seconds: number | null;
  resolved: boolean;
  resolution_time: string | null;
  resolution_method: ResolutionMethod | null;
  rows_affected: number | null;
  error_message: string | null;
  /** JSON text. */
  details: string;
};

export type ConflictEventKind = 'met' | 'resolved' | 'deferred';

/** A conflict event as kept in Redis (stream + per-table conflict hash). */
export interface ConflictEvent {
  table: string;
  processor: string;
  slice: string;
  conflictId: string;
  event: ConflictEventKind;
  type: ConflictType;
  attempt: number;
  method?: ResolutionMethod | undefined;
  at: string;
}

/** Stream cap: a week of a busy pipeline's conflicts; the log table keeps everything. */
const EVENTS_MAX_LEN = 100_000;

const EPISODE_STATE: Record<ConflictEventKind, string> = { met: 'open', resolved: 'resolved', deferred: 'deferred' };

/**
 * Stages the rows for the conflict log's group commit and records the events in Redis. A
 * failure to log is reported, never thrown: the data commit that met the conflict matters more.
 */
export async function logConflicts(ctx: PipelineContext, rows: readonly ConflictLogRow[], events: readonly ConflictEvent[]): Promise<void> {
  try {
    if (rows.length > 0) await stageAppendRows(ctx, streamingConflictLog.table, streamingConflictLog.name, rows);
  } catch (err) {
    log.error(`conflict log: could not stage ${rows.length} rows: ${(err as Error).message}`);
  }
  await recordConflictEvents(ctx, events);
}

export async function recordConflictEvents(ctx: Pick<PipelineContext, 'config' | 'redis' | 'keys'>, events: readonly ConflictEvent[]): Promise<void> {
  if (events.length === 0) return;
  const k = ctx.keys;
  const multi = ctx.redis.multi();
  for (const e of events) {
    const fields: string[] = [];
    for (const [name, value] of Object.entries(e)) if (value !== undefined) fields.push(name, String(value));
    multi.xadd(k.conflictEvents(), 'MAXLEN', '~', String(EVENTS_MAX_LEN), '*', ...fields);
    multi.hset(k.conflictEpisodes(e.table), e.conflictId, EPISODE_STATE[e.event]);
  }
  await multi.exec();
}

/** Conflicts a table has met since its keys were created, and how they stand. */
export interface ConflictTotals {
  table: string;
  /** Conflicts met (one per slice that met the buffer, however many tries it took). */
  met: number;
  resolved: number;
  deferred: number;
  /** Still waiting for their next try. */
  open: number;
}

/**
 * Per table: conflicts met and resolved, from Redis. For the benchmark ("every conflict
 * resolved") and anything that must not open the warehouse.
 */
export async function readConflictTotals(ctx: Pick<PipelineContext, 'config' | 'redis' | 'keys'>, table: string): Promise<ConflictTotals> {
  const states = await ctx.redis.hvals(ctx.keys.conflictEpisodes(table));
  const count = (s: string) => states.filter((v) => v === s).length;
  return { table, met: states.length, resolved: count('resolved'), deferred: count('deferred'), open: count('open') };
}

/** Conflicts of one table over a time window, as the dashboard shows them. */
export interface ConflictSummary {
  table: string;
  /** Conflicts with any event in the window. */
  total: number;
  /** Of those, resolved within the window. */
  resolved: number;
  /** Conflicts per type (`streaming_buffer`, …). */
  byType: Record<string, number>;
  /** How the ones that ended in the window ended (`auto_retry`, `manual`, `timeout`). */
  byResolution: Record<string, number>;
  /** The latest event (ISO-8601). */
  latestAt?: string | undefined;
}

/** Conflict summaries per table since `sinceMs` (epoch ms), from the Redis event stream. */
export async function readConflictSummaries(ctx: Pick<PipelineContext, 'config' | 'redis' | 'keys'>, sinceMs: number): Promise<ConflictSummary[]> {
  const key = ctx.keys.conflictEvents();
  const byTable = new Map<string, { ids: Set<string>; resolved: Set<string>; types: Map<string, Set<string>>; ends: Map<string, number>; latest: string }>();
  let start = `${Math.max(0, Math.floor(sinceMs))}-0`;
  for (;;) {
    const page = (await ctx.redis.xrange(key, start, '+', 'COUNT', 5000)) as [string, string[]][];
    for (const [, flat] of page) {
      const e: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) e[flat[i] as string] = flat[i + 1] as string;
      const table = e.table ?? '';
      const t = byTable.get(table) ?? { ids: new Set(), resolved: new Set(), types: new Map(), ends: new Map(), latest: '' };
      const id = e.conflictId ?? '';
      t.ids.add(id);
      const type = e.type ?? 'streaming_buffer';
      t.types.set(type, (t.types.get(type) ?? new Set()).add(id));
      if (e.event === 'resolved') t.resolved.add(id);
      if (e.event !== 'met' && e.method) t.ends.set(e.method, (t.ends.get(e.method) ?? 0) + 1);
      if ((e.at ?? '') > t.latest) t.latest = e.at ?? '';
      byTable.set(table, t);
    }
    if (page.length < 5000) break;
    const last = page.at(-1)?.[0] ?? '';
    start = `(${last}`;
  }
  return [...byTable.entries()]
    .map(([table, t]) => ({
      table,
      total: t.ids.size,
      resolved: t.resolved.size,
      byType: Object.fromEntries([...t.types].map(([k, v]) => [k, v.size])),
      byResolution: Object.fromEntries(t.ends),
      latestAt: t.latest || undefined,
    }))
    .sort((a, b) => a.table.localeCompare(b.table));
}
