/** `phasegate status`: queues, table gates, breakers and backfills, from Redis only. */
import type { Queue } from 'bullmq';
import type { Command } from 'commander';
import type { Config } from '../../config/load-config.ts';
import { tableId } from '../../processors/types.ts';
import { type BackfillRecord, getBackfill, listBackfills } from '../../queues/backfill/backfill.ts';
import { cascadeProgress, phaseLines } from '../../queues/backfill/cascade.ts';
import { tableQuota } from '../../queues/commit/table-quota.ts';
import { conflictStatus, safetyLine, type TableSafety } from '../../queues/conflicts/status.ts';
import type { PipelineContext } from '../../queues/context.ts';
import { countsRestartedLine, readRedisEpoch } from '../../queues/redis-epoch.ts';
import { describeStale } from '../../queues/runs/stale.ts';
import { datesNow, outcomeReader } from '../../queues/runs/views.ts';
import { landed, RETRIED_STATES, SLICE_STATES, type SliceState } from '../../queues/status-store.ts';
import { redact } from '../../redact.ts';
import { configFrom, type GlobalFlags, withRuntime } from '../common.ts';
import { tableLines } from '../render/table.ts';
import { formatCount, plural } from '../render/text.ts';

const COUNTED = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;

/** Every queue phasegate works: the phases, sources with a queue of their own, the table gates. */
function allQueues(ctx: PipelineContext): Queue[] {
  const queues = new Map<string, Queue>();
  const add = (q: Queue) => queues.set(q.name, q);
  for (const phase of [1, 2, 3, 4, 5] as const) add(ctx.queues.phase(phase) as Queue);
  for (const def of ctx.registry.all()) add(ctx.queues.of(def) as Queue);
  for (const table of ctx.registry.gatedTables()) add(ctx.queues.commit(table) as Queue);
  return [...queues.values()];
}

export async function queueCounts(ctx: PipelineContext): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const q of allQueues(ctx)) out[q.name] = await q.getJobCounts(...COUNTED);
  return out;
}

/**
 * Rows each table holds from phasegate's commits, from the slice statuses (the rows of each
 * slice's latest commit): `status` never opens the DuckDB file a worker holds.
 */
async function committedRows(ctx: PipelineContext, processor: string): Promise<number> {
  let rows = 0;
  for (const s of (await ctx.statuses.all(processor)).values()) if (landed(s)) rows += s.rows ?? 0;
  return rows;
}

export async function tableGates(ctx: PipelineContext) {
  return Promise.all(
    ctx.registry.transforms().map(async (def) => {
      const table = tableId(def.table);
      const quota = await tableQuota(ctx, table);
      return {
        table,
        pendingSlices: await ctx.gate.pendingCount(table),
        dmlToday: quota.dmlToday,
        modificationsToday: quota.modificationsToday,
        dailyBudget: quota.dailyBudget,
        rows: await committedRows(ctx, def.name),
      };
    }),
  );
}

interface Attention {
  processor: string;
  slice: string;
  status: string;
  error?: string | undefined;
  missingGames?: string[] | undefined;
}

/**
 * A run as `status` shows it: per phase and processor *this run's outcome* (what the dashboard's
 * grid counts: src/queues/runs/views.ts), *the dates' state now* in one line (landed, stale, a
 * failed re-run over kept rows, what needs a look), and every slice that needs a look.
 */
async function describeBackfill(ctx: PipelineContext, record: BackfillRecord) {
  const outcome = await cascadeProgress(ctx, record, outcomeReader(ctx, record.id));
  const now = await datesNow(ctx, outcome.graph);
  const attention: Attention[] = [];
  for (const [processor, cells] of outcome.graph.cells)
    for (const [slice, cell] of cells) {
      const s = cell.status;
      if (RETRIED_STATES.has(cell.state) || cell.state === 'waiting')
        attention.push({ processor, slice, status: cell.state, error: s?.error && redact(s.error), missingGames: s?.missingGames });
    }
  // The dates' state now read the stale ones already: listed from it, not read again.
  for (const stale of now.staleSlices) attention.push({ processor: stale.processor, slice: stale.slice, status: 'stale', error: redact(describeStale(stale)) });
  attention.sort((a, b) => a.slice.localeCompare(b.slice) || a.processor.localeCompare(b.processor));
  return {
    id: record.id,
    createdAt: record.createdAt,
    dates: record.dates.length,
    processors: record.processors,
    cascade: record.cascade,
    done: outcome.done,
    phases: outcome.perPhase,
    counts: outcome.perProcessor,
    now,
    attention,
  };
}

/** For JSON: a breaker that never moved has no time of its own, so readBreaker's epoch is left out. */
function jsonSafety(s: TableSafety) {
  return Date.parse(s.breaker.since) > 0 ? s : { ...s, breaker: { ...s.breaker, since: undefined } };
}

/**
 * `status` reads Redis only, and a Redis that is paused (CLIENT PAUSE), forking a large
 * snapshot or overloaded answers nothing at all: past this it says so instead of hanging.
 */
const STATUS_DEADLINE_MS = 10_000;

export async function runStatus(flags: { backfill?: string; json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `Redis at ${redact(config.redisUrl)} did not answer within ${STATUS_DEADLINE_MS / 1000} s (paused by CLIENT PAUSE, busy with a long command or a snapshot, or overloaded): nothing to show yet, try again`,
          ),
        ),
      STATUS_DEADLINE_MS,
    );
    timer.unref();
  });
  try {
    await Promise.race([showStatus(config, flags), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function showStatus(config: Config, flags: { backfill?: string; json?: boolean }): Promise<void> {
  await withRuntime(config, async (rt) => {
    const backfills = flags.backfill ? [await getBackfill(rt, flags.backfill)] : await listBackfills(rt, 10);
    const oldest = await rt.redis.zrange(rt.keys.backfills(), '0', '0', 'WITHSCORES');
    const countsNote = countsRestartedLine(await readRedisEpoch(rt.redis, rt.keys), oldest[1] === undefined ? undefined : Number(oldest[1]));
    const report = {
      countsNote,
      queues: flags.backfill ? undefined : await queueCounts(rt),
      tables: flags.backfill ? undefined : await tableGates(rt),
      // Breakers, slices waiting on the streaming buffer, deferred ones, conflicts met/resolved.
      conflicts: flags.backfill ? undefined : await conflictStatus(rt),
      backfills: await Promise.all(backfills.map((b) => describeBackfill(rt, b))),
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...report, conflicts: report.conflicts?.map(jsonSafety) }, null, 2)}\n`);
      return;
    }
    const w = (s: string) => process.stdout.write(`${s}\n`);
    if (report.countsNote) w(`note: ${report.countsNote}`);
    if (report.queues) {
      const rows = Object.entries(report.queues).map(([name, c]) => ({ name, c }));
      // The section's name heads its first column; the rows sit two columns in.
      const lines = tableLines(
        rows,
        [
          { head: 'queues', value: (r) => `  ${r.name}`, left: true },
          { head: 'waiting', value: (r) => String((r.c.waiting ?? 0) + (r.c.prioritized ?? 0)) },
          { head: 'active', value: (r) => String(r.c.active ?? 0) },
          { head: 'delayed', value: (r) => String(r.c.delayed ?? 0) },
          { head: 'failed', value: (r) => String(r.c.failed ?? 0) },
        ],
        '',
      );
      for (const l of lines) w(l);
    }
    if (report.tables) {
      const lines = tableLines(
        report.tables,
        [
          { head: 'table gates', value: (t) => `  ${t.table}`, left: true },
          { head: 'pending slices', value: (t) => String(t.pendingSlices) },
          { head: 'DML today', value: (t) => formatCount(t.dmlToday) },
          { head: 'modifications today', value: (t) => `${formatCount(t.modificationsToday)}/${formatCount(t.dailyBudget)}` },
          { head: 'rows committed', value: (t) => formatCount(t.rows) },
        ],
        '',
      );
      for (const l of lines) w(l);
    }
    if (report.conflicts) {
      w('streaming buffer and breakers:');
      const width = Math.max(...report.conflicts.map((s) => s.table.length));
      for (const s of report.conflicts) w(`  ${s.table.padEnd(width)}  ${safetyLine(s)}`);
    }
    w(report.backfills.length ? 'backfills:' : 'no backfills yet');
    for (const b of report.backfills) {
      w(`  ${b.id} (${plural(b.dates, 'date')}${b.cascade ? ', cascade' : ''}, ${b.done ? 'finished' : 'running'})`);
      w("    this run's outcome (as the dashboard's grid):");
      for (const line of phaseLines({ perPhase: b.phases })) w(`    ${line}`);
      const rows = Object.entries(b.counts).map(([processor, c]) => ({ processor, ...c }));
      const state = (s: SliceState) => ({ head: s, value: (r: Record<SliceState, number>) => String(r[s]) });
      for (const l of tableLines(rows, [{ head: 'processor', value: (r) => r.processor, left: true }, ...SLICE_STATES.map(state)], '    ')) w(l);
      const n = b.now;
      w(
        `    the dates' state now: ${formatCount(n.landed)} of ${formatCount(n.total)} slices landed (${formatCount(n.stale)} stale, ${formatCount(n.rerunFailed)} kept after a failed re-run), ${formatCount(n.needLook)} need a look, ${formatCount(n.inProgress)} in progress`,
      );
      // With --backfill every slice that needs a look; in the overview the first few and how to see the rest.
      const shown = flags.backfill ? b.attention : b.attention.slice(0, 5);
      for (const f of shown) w(`    ${f.status} ${f.processor} ${f.slice}: ${f.error ?? ''}`);
      if (shown.length < b.attention.length) w(`    … and ${formatCount(b.attention.length - shown.length)} more: phasegate status --backfill ${b.id}`);
    }
  });
}
