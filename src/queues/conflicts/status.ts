/**
 * Per table, everything the commit path's safety parts say right now — breaker, slices
 * waiting on the streaming buffer, deferred slices, conflicts met and resolved, a lowered
 * DML concurrency — from Redis only, for `phasegate status`, `phasegate conflicts` and the
 * dashboard (none of which may open the DuckDB file the workers hold).
 */

import { readThrottle, type ThrottleView } from '../commit/throttle.ts';
import type { PipelineContext } from '../context.ts';
import { type BreakerView, readBreaker } from './breaker.ts';
import { type ConflictTotals, readConflictTotals } from './log.ts';

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

/** 0.031 → "3.1 %". */
function formatShare(share: number): string {
  const pct = share * 100;
  return `${pct > 0 && pct < 10 ? pct.toFixed(1) : Math.round(pct)} %`;
}

/** One line per table for the CLI. */
export function safetyLine(s: TableSafety): string {
  // A breaker that never moved has no time of its own (readBreaker says the epoch): no "since".
  const at = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');
  const since = Date.parse(s.breaker.since) > 0 ? ` since ${at(s.breaker.since)}` : '';
  const until = s.breaker.state === 'open' && s.breaker.reopensAt ? ` until ${at(s.breaker.reopensAt)}` : '';
  const parts = [`breaker ${s.breaker.state}${since}${until}`];
  parts.push(`recent commits ${s.breaker.recentConflicts}/${s.breaker.recentCommits} conflicted`);
  parts.push(`conflicts met ${s.conflicts.met} · resolved ${s.conflicts.resolved}`);
  // A commit conflicts when the buffer held back more than the configured share of its slices;
  // the share over all recent commits is what conflicts cost the table.
  if (s.breaker.recentSlices > 0) parts.push(`${formatShare(s.breaker.heldShare)} of ${s.breaker.recentSlices} recent slices held back`);
  parts.push(`waiting ${s.waiting}${s.nextTryAt ? ` (next try ${s.nextTryAt})` : ''}`);
  parts.push(`deferred ${s.deferred.length}`);
  if (s.throttle.lowered) parts.push('DML concurrency lowered to 1');
  return parts.join(' · ');
}
