import type { Command } from 'commander';
import { tableId } from '../processors/types.ts';
import { type BackfillRecord, backfillProgress, getBackfill, listBackfills } from '../queues/backfill.ts';
import { cascadeProgress, phaseLines } from '../queues/cascade.ts';
import { conflictStatus, safetyLine } from '../queues/conflict-status.ts';
import type { PipelineContext } from '../queues/context.ts';
import { configFrom, exitOnError, type GlobalFlags, withRuntime } from './common.ts';

export async function queueCounts(ctx: PipelineContext) {
  const out: Record<string, Record<string, number>> = {};
  for (const phase of [1, 2, 3, 4, 5] as const) {
    out[`phase${phase}`] = await ctx.queues.phase(phase).getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
  }
  for (const table of ctx.registry.gatedTables()) {
    out[`commit-${table}`] = await ctx.queues.commit(table).getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
  }
  return out;
}

export async function tableGates(ctx: PipelineContext) {
  return Promise.all(
    ctx.registry.transforms().map(async (def) => {
      const table = tableId(def.table);
      return {
        table,
        pendingSlices: await ctx.gate.pendingCount(table),
        operationsToday: await ctx.gate.tableOpsToday(table),
        dailyBudget: ctx.config.table.dailyBudget,
      };
    }),
  );
}

async function describeBackfill(ctx: PipelineContext, record: BackfillRecord) {
  const progress = await backfillProgress(ctx, record);
  const failures: { processor: string; slice: string; status: string; error?: string | undefined; missingGames?: string[] | undefined }[] = [];
  for (const [p, list] of Object.entries(progress.statuses)) {
    list.forEach((s, i) => {
      if (s && (s.status === 'failed' || s.status === 'deferred' || s.status === 'waiting' || s.status === 'incomplete'))
        failures.push({ processor: p, slice: record.dates[i] as string, status: s.status, error: s.error, missingGames: s.missingGames });
    });
  }
  // Per phase too, with the processors a --cascade reaches (they are not in the record).
  const reached = await cascadeProgress(ctx, record);
  return {
    id: record.id,
    createdAt: record.createdAt,
    dates: record.dates.length,
    processors: record.processors,
    cascade: record.cascade,
    done: progress.done && reached.done,
    phases: reached.perPhase,
    counts: reached.perProcessor,
    attention: failures,
  };
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('queues, table gates and backfills (per processor: pending, running, staged, committed, incomplete, empty, waiting, deferred, failed)')
    .option('--backfill <id>', 'one backfill in detail')
    .option('--json', 'print JSON')
    .action(async (flags: { backfill?: string; json?: boolean }, cmd: Command) => {
      try {
        const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
        await withRuntime(config, async (rt) => {
          const backfills = flags.backfill ? [await getBackfill(rt, flags.backfill)] : await listBackfills(rt, 10);
          const report = {
            queues: flags.backfill ? undefined : await queueCounts(rt),
            tables: flags.backfill ? undefined : await tableGates(rt),
            // Breakers, slices waiting on the streaming buffer, deferred ones, conflicts met/resolved.
            conflicts: flags.backfill ? undefined : await conflictStatus(rt),
            backfills: await Promise.all(backfills.map((b) => describeBackfill(rt, b))),
          };
          if (flags.json) {
            process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
            return;
          }
          const w = (s: string) => process.stdout.write(`${s}\n`);
          if (report.queues) {
            w('queues:');
            for (const [q, c] of Object.entries(report.queues))
              w(`  ${q.padEnd(44)} waiting ${(c.waiting ?? 0) + (c.prioritized ?? 0)} · active ${c.active} · delayed ${c.delayed} · failed ${c.failed}`);
          }
          if (report.tables) {
            w('table gates:');
            for (const t of report.tables)
              w(`  ${t.table.padEnd(44)} pending slices ${t.pendingSlices} · operations today ${t.operationsToday}/${t.dailyBudget}`);
          }
          if (report.conflicts) {
            w('streaming buffer and breakers:');
            for (const s of report.conflicts) w(`  ${s.table.padEnd(44)} ${safetyLine(s)}`);
          }
          w(report.backfills.length ? 'backfills:' : 'no backfills yet');
          for (const b of report.backfills) {
            w(`  ${b.id} (${b.dates} dates${b.cascade ? ', cascade' : ''}, ${b.done ? 'finished' : 'running'})`);
            for (const line of phaseLines({ perPhase: b.phases })) w(`    ${line}`);
            for (const [p, c] of Object.entries(b.counts)) {
              w(
                `    ${p.padEnd(32)} pending ${c.pending} · running ${c.running} · staged ${c.staged} · committed ${c.committed} · incomplete ${c.incomplete} · empty ${c.empty} · waiting ${c.waiting} · deferred ${c.deferred} · failed ${c.failed}`,
              );
            }
            for (const f of b.attention.slice(0, flags.backfill ? 50 : 5)) w(`    ${f.status} ${f.processor} ${f.slice}: ${f.error ?? ''}`);
          }
        });
      } catch (err) {
        exitOnError(err);
      }
    });
}
