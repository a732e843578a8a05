import type { Command } from 'commander';
import { InputError } from '../errors/input-error.ts';
import { defaultRegistry } from '../processors/registry.ts';
import type { ProcessorDef } from '../processors/types.ts';
import { type BackfillRequest, planBackfill } from '../queues/backfill.ts';
import { onlyMissing, phaseLines, startCascadingBackfill, waitForCascade } from '../queues/cascade.ts';
import type { PipelineContext } from '../queues/context.ts';
import { checkRange, readDatesFile, readFailedFile } from '../queues/dates.ts';
import { PHASES } from '../queues/names.ts';
import { createSource } from '../runtime.ts';
import { configFrom, exitOnError, type GlobalFlags, parsePositiveInt, stopSignal, withRuntime } from './common.ts';
import { summaryLines, waitForBackfill } from './progress.ts';

interface BackfillFlags {
  processors?: string;
  start?: string;
  end?: string;
  datesFile?: string;
  retryFailed?: string;
  dryRun?: boolean;
  wait?: boolean;
  workers?: string;
  priority?: string;
  cascade?: boolean;
  onlyMissing?: boolean;
  allowShrink?: boolean;
  allowMove?: boolean;
  json?: boolean;
}

/** Validates the flags and resolves the dates before anything touches Redis. */
export async function buildRequest(ctx: Pick<PipelineContext, 'registry' | 'source'>, flags: BackfillFlags): Promise<BackfillRequest> {
  const sources = [flags.start !== undefined || flags.end !== undefined, !!flags.datesFile, !!flags.retryFailed].filter(Boolean).length;
  if (sources !== 1) throw new InputError('give exactly one of --start/--end, --dates-file or --retry-failed');
  const priority = flags.priority !== undefined ? parsePositiveInt(flags.priority, '--priority') : undefined;
  if (flags.retryFailed) {
    const failed = await readFailedFile(flags.retryFailed);
    const processors = (flags.processors ? ctx.registry.parseList(flags.processors) : Object.keys(failed.processors).map((n) => ctx.registry.get(n))).filter(
      (p) => (failed.processors[p.name] ?? []).length > 0,
    );
    if (processors.length === 0) throw new InputError(`${flags.retryFailed}: no failed dates for the named processors`);
    const dates = [...new Set(processors.flatMap((p) => failed.processors[p.name] ?? []))].sort();
    return { processors, dates, priority, cascade: flags.cascade, only: failed.processors, allowShrink: flags.allowShrink, allowMove: flags.allowMove };
  }
  if (!flags.processors) throw new InputError('--processors: name at least one processor');
  const processors: ProcessorDef[] = ctx.registry.parseList(flags.processors);
  let dates: string[];
  if (flags.datesFile) dates = await readDatesFile(flags.datesFile);
  else {
    if (!flags.start || !flags.end) throw new InputError('--start and --end go together');
    checkRange(flags.start, flags.end);
    // Only days with games are slices: an empty day is not work.
    dates = await ctx.source.gameDates(flags.start, flags.end);
    if (dates.length === 0) throw new InputError(`no game dates between ${flags.start} and ${flags.end}`);
  }
  return { processors, dates, priority, cascade: flags.cascade, allowShrink: flags.allowShrink, allowMove: flags.allowMove };
}

/**
 * For a dry run without phase 1: on how many dates the requested phase-2 processors find raw
 * files, so a user sees before enqueueing that the raw folders are empty.
 */
async function rawFilesPresent(ctx: Pick<PipelineContext, 'store'>, req: BackfillRequest): Promise<string[]> {
  const lines: string[] = [];
  for (const p of req.processors) {
    if (p.kind !== 'transform' || !p.inputPrefix) continue;
    const upstreamRequested = p.dependsOn.some((d) => req.processors.some((q) => q.name === d));
    if (upstreamRequested) continue;
    let present = 0;
    for (const date of req.dates) if ((await ctx.store.list(p.inputPrefix(date))).length > 0) present += 1;
    const hint = present < req.dates.length ? ` (the other ${req.dates.length - present} end incomplete or empty: add their scraper to --processors)` : '';
    lines.push(`  ${p.name}: raw files present for ${present} of ${req.dates.length} dates${hint}`);
  }
  return lines;
}

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description('enqueue a backfill over a date range, a dates file, or a failed-dates file')
    .option('--processors <list>', 'comma-separated processor names')
    .option('--start <date>', 'first date (YYYY-MM-DD)')
    .option('--end <date>', 'last date (YYYY-MM-DD)')
    .option('--dates-file <file>', 'JSON array, {"dates": [...]}, or one date per line')
    .option('--retry-failed <file>', 'a failed-dates file written by --wait')
    .option('--dry-run', 'print the job count and estimated table operations; enqueue nothing')
    .option('--wait', 'show progress until every date is committed or failed')
    .option('--workers <n>', 'also run workers in this process with this phase concurrency (implies --wait)')
    .option('--priority <n>', 'BullMQ priority (lower runs first; live work is 1)', '10')
    .option('--cascade', 'carry the work down every dependent phase')
    .option('--only-missing', 'skip slices the warehouse already holds')
    .option('--allow-shrink', 'let a slice commit fewer games or rows than the warehouse holds for it (logged in the run log)')
    .option('--allow-move', 'let a commit move a game the warehouse holds under another date (logged in the run log)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: BackfillFlags, cmd: Command) => {
      try {
        const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
        // Everything (processors, dates, files) is validated before Redis is touched.
        const registry = defaultRegistry();
        const source = createSource(config);
        const request = await buildRequest({ registry, source }, flags);
        await withRuntime(
          config,
          async (rt) => {
            let req = request;
            // From the warehouse, not memory; with --cascade, downstream gaps are filled too.
            if (flags.onlyMissing) req = await onlyMissing(rt, req);
            if (flags.onlyMissing && req.dates.length === 0) {
              // A resumed backfill that has nothing left is done, not an error.
              process.stdout.write(flags.json ? `${JSON.stringify({ missing: 0 })}\n` : 'nothing missing: every requested slice is already in the warehouse\n');
              return;
            }
            const plan = await planBackfill(rt, req);
            if (flags.dryRun) {
              if (flags.json) process.stdout.write(`${JSON.stringify({ dryRun: true, dates: req.dates.length, ...plan }, null, 2)}\n`);
              else {
                process.stdout.write(
                  `dry run: ${plan.jobs} jobs over ${req.dates.length} dates for ${req.processors.map((p) => p.name).join(', ')} (nothing enqueued)\n`,
                );
                for (const t of plan.tables) {
                  process.stdout.write(
                    `  ${t.table}: ${t.slices} slices → ~${t.operations} table operations (group commits of up to ${rt.config.table.commitMaxSlices} slices); today ${t.usedToday} used of the daily budget ${t.dailyBudget}\n`,
                  );
                }
                for (const line of await rawFilesPresent(rt, req)) process.stdout.write(`${line}\n`);
              }
              return;
            }
            const record = await startCascadingBackfill(rt, req);
            if (flags.json && !flags.wait && !flags.workers) process.stdout.write(`${JSON.stringify(record)}\n`);
            else
              process.stdout.write(
                `backfill ${record.id}: enqueued ${record.added} jobs (${record.alreadyQueued} already queued) over ${req.dates.length} dates\n`,
              );
            if (flags.workers) await rt.startWorkers({ phases: PHASES, commit: true, concurrency: parsePositiveInt(flags.workers, '--workers') });
            if (flags.wait || flags.workers) {
              const signal = stopSignal();
              const outcome = await waitForBackfill(rt, record, { bars: !flags.json && process.stderr.isTTY === true, signal });
              if (flags.json) process.stdout.write(`${JSON.stringify({ ...outcome.progress, statuses: undefined, failedFile: outcome.failedFile })}\n`);
              else {
                for (const line of summaryLines(record, outcome.progress)) process.stdout.write(`${line}\n`);
                if (outcome.failedFile)
                  process.stdout.write(`failed dates written to ${outcome.failedFile} (retry: phasegate backfill --retry-failed ${outcome.failedFile})\n`);
              }
              // An incomplete slice is not a success: the exit code says something needs a look.
              let failed = Object.values(outcome.progress.perProcessor).some((c) => c.failed + c.deferred + c.incomplete > 0);
              if (record.cascade && outcome.progress.done) {
                // The requested phases are done; the cascade's downstream phases follow by events.
                const cascade = await waitForCascade(rt, record, { signal });
                if (flags.json) process.stdout.write(`${JSON.stringify({ cascade: cascade.perPhase, done: cascade.done })}\n`);
                else for (const line of phaseLines(cascade)) process.stdout.write(`  ${line}\n`);
                failed ||= Object.values(cascade.perPhase).some((c) => c.failed + c.incomplete > 0);
              }
              if (failed) process.exitCode = 1;
            }
          },
          { registry, source },
        );
      } catch (err) {
        exitOnError(err);
      }
    });
}
