/**
 * Per table, everything the commit path's safety parts say right now — breaker, slices
 * waiting on the streaming buffer, deferred slices, conflicts met and resolved, a lowered
 * DML concurrency — from Redis only, for `phasegate status`, `phasegate conflicts` and the
 * dashboard (none of which may open the DuckDB file the workers hold).
 */
import { type BreakerView, readBreaker } from './breaker.ts';
import { readThrottle, type ThrottleView } from './commit-throttle.ts';
import { type ConflictTotals, readConflictTotals } from './conflict-log.ts';
import type { PipelineContext } from './context.ts';

export interface TableSafety {
  table: string;
  breaker: BreakerView;
  /** Slices held back, waiting for their next try. */
  waiting: number;
  /** When the earliest waiting slice is tried again (ISO-8601). */
  nextTryAt?: string | undefined;
  /** Slices deferred after the maximum wait: kept, retried by `phasegate retry --deferred`. */
  deferred: string[];
  conflicts: ConflictTotals;
  throttle: ThrottleView;
}

export async function tableSafety(ctx: PipelineContext, table: string): Promise<TableSafety> {
  const [breaker, held, conflicts, throttle] = await Promise.all([
    readBreaker(ctx, table),
    ctx.gate.held(table),
    readConflictTotals(ctx, table),
    readThrottle(ctx, table),
  ]);
  const waiting = held.filter((h) => Number.isFinite(h.dueMs));
  const next = waiting.length > 0 ? Math.min(...waiting.map((h) => h.dueMs)) : undefined;
  return {
    table,
    breaker,
    waiting: waiting.length,
    nextTryAt: next !== undefined ? new Date(next).toISOString() : undefined,
    deferred: held.filter((h) => !Number.isFinite(h.dueMs)).map((h) => h.field),
    conflicts,
    throttle,
  };
}

/** Every table phasegate MERGEs into (log tables never meet the streaming buffer). */
export async function conflictStatus(ctx: PipelineContext): Promise<TableSafety[]> {
  const tables = ctx.registry.gatedTables().filter((t) => !ctx.registry.isLogTable(t));
  return Promise.all(tables.map((t) => tableSafety(ctx, t)));
}

/** One line per table for the CLI. */
export function safetyLine(s: TableSafety): string {
  const parts = [`breaker ${s.breaker.state}${s.breaker.state === 'open' && s.breaker.reopensAt ? ` until ${s.breaker.reopensAt}` : ''}`];
  parts.push(`recent commits ${s.breaker.recentConflicts}/${s.breaker.recentCommits} conflicted`);
  parts.push(`conflicts met ${s.conflicts.met} · resolved ${s.conflicts.resolved}`);
  parts.push(`waiting ${s.waiting}${s.nextTryAt ? ` (next try ${s.nextTryAt})` : ''}`);
  parts.push(`deferred ${s.deferred.length}`);
  if (s.throttle.lowered) parts.push('DML concurrency lowered to 1');
  return parts.join(' · ');
}
