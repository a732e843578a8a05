/**
 * The end of a backfill in a few aligned lines: per processor how its dates ended, per table
 * the rows it now holds from this run and the table operations it took, the elapsed time and
 * where the failed dates went.
 */
import { type Column, tableLines } from './table.ts';
import { formatCount, formatDuration, plural, wrap } from './text.ts';

export interface ProcessorOutcome {
  phase: number;
  processor: string;
  committed: number;
  incomplete: number;
  empty: number;
  /** Failed, deferred, upstream_failed and cancelled: every slice that needs a person or a retry. */
  failed: number;
  /** Of `failed`: ruled out by an input that ended without rows. */
  upstreamFailed: number;
  /** Of `failed`: cancelled before they ran. */
  cancelled: number;
  /** Still waiting on the streaming buffer. */
  waiting: number;
  /** Pending, running or staged: the run was stopped before they ended. */
  unfinished: number;
}

export interface TableOutcome {
  table: string;
  /** Rows of this run's slices that landed (committed, or the games an incomplete slice has). */
  rows: number;
  /** Table operations this run took: its DML statements (group commits), by the gate's counter. */
  operations: number;
  /** Table modifications (loads, copies, query appends) today, against the daily budget; a commit spends none. */
  modificationsToday: number;
  dailyBudget: number;
}

export interface BackfillSummary {
  id: string;
  dates: number;
  requested: number;
  elapsedMs: number;
  processors: ProcessorOutcome[];
  tables: TableOutcome[];
  failedFile?: string | undefined;
}

export function summaryLines(s: BackfillSummary): string[] {
  const cascaded = s.processors.length - s.requested;
  const lines = [`backfill ${s.id}: ${plural(s.dates, 'date')} × ${plural(s.requested, 'processor')}${cascaded > 0 ? ` (+${cascaded} by cascade)` : ''}`];
  const n = (k: keyof ProcessorOutcome) => (r: ProcessorOutcome) => formatCount(Number(r[k]));
  const columns: Column<ProcessorOutcome>[] = [
    { head: 'phase', value: (r) => String(r.phase), left: true },
    { head: 'processor', value: (r) => r.processor, left: true },
    { head: 'committed', value: n('committed') },
    { head: 'incomplete', value: n('incomplete') },
    { head: 'empty', value: n('empty') },
    { head: 'failed', value: n('failed') },
  ];
  lines.push(...tableLines(s.processors, columns));
  // Of the failed: those an upstream ruled out and those cancelled, named (no more columns past 80).
  const ruledOut = s.processors.filter((p) => p.upstreamFailed + p.cancelled > 0);
  if (ruledOut.length > 0) {
    const each = ruledOut.map(
      (p) =>
        `${p.processor} ${[p.upstreamFailed > 0 ? `${formatCount(p.upstreamFailed)} upstream_failed` : '', p.cancelled > 0 ? `${formatCount(p.cancelled)} cancelled` : ''].filter(Boolean).join(', ')}`,
    );
    lines.push(...wrap(`  of the failed: ${each.join('; ')}`, 79, 4));
  }
  // Only a run stopped before its end has these: a line, not two more columns past 80.
  const open = s.processors.filter((p) => p.waiting + p.unfinished > 0);
  if (open.length > 0) {
    const each = open.map((p) => `${p.processor} ${formatCount(p.waiting + p.unfinished)}${p.waiting > 0 ? ` (${formatCount(p.waiting)} waiting)` : ''}`);
    lines.push(...wrap(`  not finished: ${each.join(', ')}`, 79, 4));
  }
  if (s.tables.length > 0) {
    lines.push(
      ...tableLines(s.tables, [
        { head: 'table', value: (t) => t.table, left: true },
        { head: 'rows', value: (t) => formatCount(t.rows) },
        { head: 'DML stmts', value: (t) => formatCount(t.operations) },
        { head: 'budget used', value: (t) => `${formatCount(t.modificationsToday)}/${formatCount(t.dailyBudget)}` },
      ]),
      // BigQuery caps table modifications per day, not DML: a group commit spends none of it.
      "  (DML stmts: this run's group commits; budget: today's loads/copies, not DML)",
    );
  }
  lines.push(`elapsed ${formatDuration(s.elapsedMs)}`);
  if (s.failedFile) lines.push(`failed dates written to ${s.failedFile}`, `  retry: phasegate backfill --retry-failed ${s.failedFile}`);
  return lines;
}
