/**
 * Runs phase jobs: a scraper fetches raw files for a slice; a transform turns its inputs into
 * rows and stages them for its table's gate. Neither writes the warehouse.
 */
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { InputError } from '../errors/input-error.ts';
import { PhasegateError, toError } from '../errors/phasegate-error.ts';
import { log } from '../log.ts';
import { announceFinishedBackfills } from '../notify/backfill-finished.ts';
import type { Phase, ScraperDef, TransformDef } from '../processors/types.ts';
import type { PipelineContext } from './context.ts';
import { enqueueSlices } from './enqueue.ts';
import { type PhaseJobData, phaseQueueName } from './names.ts';
import { startRun } from './run-log.ts';
import { stageRows } from './staging.ts';

export interface PhaseJobResult {
  rows?: number;
  files?: number;
}

async function runScraper(ctx: PipelineContext, def: ScraperDef, job: Job<PhaseJobData>): Promise<PhaseJobResult> {
  const { slice } = job.data;
  const games = await ctx.source.games(slice);
  const files = await def.run({ slice, store: ctx.store, source: ctx.source });
  const written = new Set(
    files.map((f) =>
      f
        .split('/')
        .pop()
        ?.replace(/\.json$/, ''),
    ),
  );
  const missingGames = games.map((g) => g.gameId).filter((id) => !written.has(id));
  if (missingGames.length > 0) log.warn(`${def.name} ${slice}: source has no data for ${missingGames.join(', ')}`);
  // A scraper's output lands in the object store, not the warehouse: landed = committed.
  await ctx.statuses.update(def.name, slice, {
    status: 'committed',
    rows: files.length,
    committedAt: new Date().toISOString(),
    missingGames: missingGames.length > 0 ? missingGames : undefined,
    error: undefined,
    backfillId: job.data.backfillId,
  });
  const next = ctx.registry.dependents(def.name).filter((d) => job.data.cascade || job.data.targets.includes(d.name));
  for (const dep of next) {
    await enqueueSlices(ctx, dep, [slice], {
      backfillId: job.data.backfillId,
      targets: job.data.targets,
      cascade: job.data.cascade,
      origin: 'upstream',
      priority: job.opts.priority,
    });
  }
  return { files: files.length };
}

async function runTransform(ctx: PipelineContext, def: TransformDef, job: Job<PhaseJobData>): Promise<PhaseJobResult> {
  const { slice } = job.data;
  const warehouse = def.phase >= 3 ? await ctx.warehouse() : undefined;
  const rows = await def.run({
    slice,
    store: ctx.store,
    readTable: warehouse ? (spec, slices) => warehouse.readSlices(spec, slices) : undefined,
  });
  const entry = await stageRows(ctx, def, slice, rows, job.data.backfillId);
  await ctx.statuses.update(def.name, slice, { status: 'staged', rows: entry.rows, error: undefined, backfillId: job.data.backfillId });
  return { rows: entry.rows };
}

/** Marks a requested downstream processor failed when its upstream cannot produce the slice. */
async function failTargets(ctx: PipelineContext, data: PhaseJobData, reason: string): Promise<void> {
  for (const dep of ctx.registry.downstream(data.processor)) {
    if (data.cascade || data.targets.includes(dep.name)) {
      await ctx.statuses.set(dep.name, data.slice, { status: 'failed', error: `upstream ${data.processor} failed: ${reason}`, backfillId: data.backfillId });
    }
  }
}

export function phaseProcessor(ctx: PipelineContext) {
  return async (job: Job<PhaseJobData>): Promise<PhaseJobResult> => {
    const def = ctx.registry.get(job.data.processor);
    const attempt = job.attemptsMade + 1;
    await ctx.statuses.update(def.name, job.data.slice, { status: 'running', attempts: attempt, backfillId: job.data.backfillId });
    // One row per run in nba_orchestration.processing_run_log (run-log.ts).
    const run = await startRun(ctx, job, def.phase);
    try {
      const result = def.kind === 'scraper' ? await runScraper(ctx, def, job) : await runTransform(ctx, def, job);
      await run.finish('succeeded', { rows: result.rows ?? result.files });
      return result;
    } catch (thrown) {
      const err = toError(thrown);
      const retryable = err instanceof PhasegateError ? err.retryable : !(err instanceof SyntaxError);
      const last = !retryable || attempt >= (job.opts.attempts ?? 1);
      const reason = `${def.name} ${job.data.slice}: ${err.message}`;
      if (last) {
        await ctx.statuses.update(def.name, job.data.slice, { status: 'failed', error: reason, attempts: attempt });
        await failTargets(ctx, job.data, err.message);
      } else {
        await ctx.statuses.update(def.name, job.data.slice, { status: 'pending', error: reason, attempts: attempt });
      }
      log.warn(`phase job failed${last ? '' : ' (will retry)'}: ${reason}`);
      await run.finish(last ? 'failed' : 'retrying', { error: reason });
      if (last) await announceFinishedBackfills(ctx, [job.data.backfillId]);
      // Bad input fails at once: retrying a malformed file cannot help.
      if (err instanceof InputError || !retryable) throw new UnrecoverableError(reason);
      throw err;
    }
  };
}

export function startPhaseWorker(ctx: PipelineContext, phase: Phase, concurrency: number): Worker<PhaseJobData> {
  const worker = new Worker<PhaseJobData>(phaseQueueName(phase), phaseProcessor(ctx), {
    connection: ctx.redis,
    prefix: ctx.config.prefix,
    concurrency,
    // A job whose worker died is handed to another worker after this long.
    stalledInterval: ctx.config.jobs.stalledSeconds * 1000,
    lockDuration: ctx.config.jobs.stalledSeconds * 1000,
    maxStalledCount: 3,
  });
  worker.on('error', (err) => log.error(`phase${phase} worker: ${err.message}`));
  return worker;
}
