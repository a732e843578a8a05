/** `phasegate backfill`: plan or enqueue, then (with --wait or --workers) follow it to a summary. */
import type { Command } from 'commander';
import { WarehouseHeldError } from '../../errors/warehouse-held-error.ts';
import type { BackfillRequest } from '../../queues/backfill/backfill.ts';
import { type CascadeProgress, cascadeProcessors, cascadeProgress, onlyMissing, startCascadingBackfill } from '../../queues/backfill/cascade.ts';
import { planBackfill } from '../../queues/backfill/plan.ts';
import type { PipelineContext } from '../../queues/context.ts';
import { PHASES } from '../../queues/names.ts';
import { describeStale, listStale, type StaleSlice } from '../../queues/runs/stale.ts';
import { landed } from '../../queues/status-store.ts';
import { createSource, defaultRegistry, type Runtime } from '../../runtime.ts';
import { type BackfillFlags, parseBackfillInput } from '../backfill-input.ts';
import { checkTableLimits, configFrom, type GlobalFlags, stopSignal, withRuntime } from '../common.ts';
import { otherHolder, pidOf } from '../held-warehouse.ts';
import { type WaitOutcome, waitForBackfill } from '../progress.ts';
import { watchBackfill } from '../render/backfill-view.ts';
import { summaryLines } from '../render/summary.ts';
import { plural, wrap } from '../render/text.ts';
import { backfillExitCode, collectSummary, tableOpsNow } from '../summary.ts';

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
    lines.push(`  ${p.name}: raw files present for ${present} of ${plural(req.dates.length, 'date')}${hint}`);
  }
  return lines;
}

/**
 * Downstream processors that need an input this backfill does not run and that has not
 * landed the dates: nothing in the run will produce it, so those slices end upstream_failed
 * (src/queues/runs/graph.ts). Said before anything is enqueued, with what to add.
 */
async function unmetInputs(ctx: PipelineContext, req: BackfillRequest): Promise<string[]> {
  const reached = cascadeProcessors(ctx, { processors: req.processors.map((p) => p.name), cascade: req.cascade ?? false });
  const runs = new Set(reached.map((p) => p.name));
  const notes: string[] = [];
  for (const def of reached) {
    if (def.kind !== 'transform' || req.processors.some((p) => p.name === def.name)) continue;
    for (const dep of def.dependsOn.filter((d) => !runs.has(d))) {
      const statuses = await ctx.statuses.getMany(dep, req.dates);
      const missing = statuses.filter((st) => !landed(st)).length;
      if (missing > 0)
        notes.push(
          `phasegate: note: ${def.name} also needs ${dep} (not in this backfill), which has not landed ${missing} of ${plural(req.dates.length, 'date')}: those slices will end upstream_failed unless it lands first (add it to --processors)`,
        );
    }
  }
  return notes;
}

async function dryRun(rt: Runtime, req: BackfillRequest, json: boolean, workers: number | undefined): Promise<void> {
  const plan = await planBackfill(rt, req, { concurrency: workers });
  const w = (s: string) => process.stdout.write(`${s}\n`);
  if (json) {
    w(JSON.stringify({ dryRun: true, dates: req.dates.length, ...plan }, null, 2));
    return;
  }
  w(`dry run: ${plural(plan.jobs, 'job')} over ${plural(req.dates.length, 'date')} for ${req.processors.map((p) => p.name).join(', ')} (nothing enqueued)`);
  for (const p of plan.processors) w(`  phase ${p.phase}  ${p.processor}: ${plural(p.jobs, 'job')}${p.queuedNow ? '' : ' (when its upstream lands)'}`);
  for (const t of plan.tables) {
    w(
      `  ${t.table}: ${plural(t.slices, 'slice')} → ~${plural(t.operations, 'DML statement')} (at least ${t.minOperations}: group commits of up to ${plural(rt.config.table.commitMaxSlices, 'slice')})`,
    );
    w(`    ${t.quota}`);
  }
  w(`  (estimate ${plan.assumptions}; about ${Math.ceil(plan.estimatedSeconds)} s)`);
  for (const line of await rawFilesPresent(rt, req)) w(line);
}

/**
 * `--workers N` with the table gates here, unless another process holds the embedded DuckDB
 * file: a phasegate worker serving its reads commits this backfill (phase work runs here, one
 * line says so); a holder serving none leaves nothing to commit it, which is an error (exit 1).
 */
async function commitsHere(rt: Runtime, backfillId: string): Promise<boolean> {
  const held = await otherHolder(rt);
  if (!held) return true;
  if (!held.serving) {
    throw new WarehouseHeldError(
      `${pidOf(held)} holds the DuckDB file ${held.file} and serves no reads (it is no phasegate worker with this PHASEGATE_PREFIX): ` +
        `nothing can commit from here; backfill ${backfillId} stays queued for a worker that holds the file (phasegate worker --phases commit)`,
      { pid: held.pid },
    );
  }
  process.stderr.write(`phasegate: ${pidOf(held)} holds the DuckDB file ${held.file} and commits there; this process runs phase work only\n`);
  return false;
}

export async function runBackfill(flags: BackfillFlags, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  // Everything (configuration, flags, processors, dates, files) is validated before Redis is touched.
  const registry = defaultRegistry();
  checkTableLimits(config, registry);
  const source = createSource(config);
  const { request, workers } = await parseBackfillInput({ registry, source }, flags);
  const wait = flags.wait === true || workers !== undefined;
  await withRuntime(
    config,
    async (rt) => {
      let req: BackfillRequest = request;
      // From the warehouse, not memory; with --cascade, downstream gaps are filled too.
      if (flags.onlyMissing) req = await onlyMissing(rt, req);
      if (flags.onlyStale) {
        // The stale slices of the named processors; a cascade carries each recompute down, so a
        // stale slice downstream of another is recomputed once, after it.
        const stale = await listStale(rt, { processors: req.processors.map((p) => p.name), ...request.staleRange });
        if (stale.length === 0) {
          process.stdout.write(
            flags.json ? `${JSON.stringify({ stale: 0 })}\n` : 'nothing stale: every landed slice was computed from its inputs as they are\n',
          );
          return;
        }
        const only: Record<string, string[]> = {};
        for (const s of stale) only[s.processor] = [...(only[s.processor] ?? []), s.slice];
        req = { ...req, processors: Object.keys(only).map((p) => rt.registry.get(p)), only, dates: [...new Set(stale.map((s) => s.slice))].sort() };
        process.stderr.write(`phasegate: ${stale.length} stale slice(s) to recompute, e.g. ${describeStale(stale[0] as StaleSlice)}\n`);
      }
      if (flags.onlyMissing && req.dates.length === 0) {
        // A resumed backfill that has nothing left is done, not an error.
        process.stdout.write(flags.json ? `${JSON.stringify({ missing: 0 })}\n` : 'nothing missing: every requested slice is already in the warehouse\n');
        return;
      }
      const columns = process.stderr.isTTY ? (process.stderr.columns ?? 80) - 1 : Number.MAX_SAFE_INTEGER;
      for (const note of await unmetInputs(rt, req)) for (const line of wrap(note, columns)) process.stderr.write(`${line}\n`);
      if (flags.dryRun) return dryRun(rt, req, flags.json === true, workers);
      const opsBefore = wait
        ? await tableOpsNow(rt, { processors: req.processors.map((p) => p.name), cascade: req.cascade ?? false })
        : new Map<string, number>();
      const started = Date.now();
      const record = await startCascadingBackfill(rt, req);
      if (flags.json && !wait) process.stdout.write(`${JSON.stringify(record)}\n`);
      else {
        const again = record.alreadyQueued > 0 ? ` (${record.alreadyQueued} already queued)` : '';
        process.stdout.write(`backfill ${record.id}: ${plural(record.added, 'job')} enqueued${again} over ${plural(req.dates.length, 'date')}\n`);
      }
      if (!wait) return;
      const signal = stopSignal();
      // After Ctrl-C, a dead Redis ends the wait and the summary instead of holding them (and
      // the command) until a second Ctrl-C; the close that follows has the same bound. So does
      // starting the workers: a worker's first command (its tracker's connection id) waits for
      // a Redis that died meanwhile as long as any other.
      const redisWatch = rt.stopWaitingOnSilentRedis(signal);
      let view: ReturnType<typeof watchBackfill> | undefined;
      let outcome: WaitOutcome;
      let cascade: CascadeProgress | undefined;
      let summary: Awaited<ReturnType<typeof collectSummary>>;
      try {
        try {
          // Said before the bars open: where this backfill commits, when it cannot here.
          const commitHere = workers === undefined || (await redisWatch.race(commitsHere(rt, record.id)));
          // On a terminal: a bar per processor the backfill reaches, until the cascade's last
          // phase. Opened before the workers start, so their first log lines land above the bars.
          view = !flags.json && process.stderr.isTTY === true ? watchBackfill(rt, record, { verbose: flags.verbose }) : undefined;
          if (workers !== undefined) await redisWatch.race(rt.startWorkers({ phases: PHASES, commit: commitHere, concurrency: workers }));
          // Until the run's whole graph is terminal: a cascade's downstream phases, the slices it
          // triggered beyond its dates, delayed and held commits, and its log rows.
          outcome = await redisWatch.race(waitForBackfill(rt, record, { bars: false, view, signal }));
          if (record.cascade && flags.json) cascade = await redisWatch.race(cascadeProgress(rt, record));
        } finally {
          await redisWatch.race(view?.stop() ?? Promise.resolve());
        }
        summary = await redisWatch.race(collectSummary(rt, record, { opsBefore, elapsedMs: Date.now() - started, failedFile: outcome.failedFile }));
      } finally {
        redisWatch.stop();
      }
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ ...outcome.progress, statuses: undefined, failedFile: outcome.failedFile, elapsedSeconds: summary.elapsedMs / 1000, tables: summary.tables })}\n`,
        );
        if (cascade) process.stdout.write(`${JSON.stringify({ cascade: cascade.perPhase, done: cascade.done })}\n`);
      } else for (const line of summaryLines(summary)) process.stdout.write(`${line}\n`);
      if (signal.aborted && !outcome.progress.done) {
        const where = workers !== undefined ? 'its queued jobs stay in Redis for any `phasegate worker`' : 'the workers go on with it';
        process.stderr.write(`phasegate: stopped waiting for backfill ${record.id} (${where}); follow it with: phasegate status --backfill ${record.id}\n`);
      } else if (outcome.logsPending)
        process.stderr.write(`phasegate: backfill ${record.id} ended; some of its log rows have not landed yet (a worker running commit gates lands them)\n`);
      const code = backfillExitCode(summary, signal.aborted);
      if (code !== 0) process.exitCode = code;
    },
    { registry, source },
  );
}
