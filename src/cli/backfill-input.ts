/**
 * `backfill`'s flags and files, all checked before the first Redis write: a bad one is one
 * line naming it (exit 2), never a backfill recorded and then refused half-way.
 */
import { InputError } from '../errors/input-error.ts';
import type { ProcessorDef } from '../processors/types.ts';
import type { BackfillRequest } from '../queues/backfill/backfill.ts';
import { checkRange, readDatesFile, readFailedFile } from '../queues/backfill/dates.ts';
import type { PipelineContext } from '../queues/context.ts';
import { parsePositiveInt } from './common.ts';

export interface BackfillFlags {
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
  onlyStale?: boolean;
  allowShrink?: boolean;
  allowMove?: boolean;
  verbose?: boolean;
  json?: boolean;
}

/**
 * BullMQ keeps a job's priority in 21 bits (its PRIORITY_LIMIT, 2^21 − 1) and refuses a larger
 * one in addBulk — after the backfill and its pending statuses were written.
 */
export const MAX_PRIORITY = 2 ** 21 - 1;

export interface BackfillInput {
  request: BackfillRequest & { staleRange?: { start?: string | undefined; end?: string | undefined } };
  /** Phase concurrency of the workers this process runs (`--workers`). */
  workers: number | undefined;
}

function parsePriority(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = parsePositiveInt(value, '--priority');
  if (n > MAX_PRIORITY) throw new InputError(`--priority: "${value}" is above BullMQ's highest priority ${MAX_PRIORITY} (lower runs first; live work is 1)`);
  return n;
}

/** Validates every flag and resolves the dates before anything touches Redis. */
export async function parseBackfillInput(ctx: Pick<PipelineContext, 'registry' | 'source'>, flags: BackfillFlags): Promise<BackfillInput> {
  const sources = [flags.start !== undefined || flags.end !== undefined, !!flags.datesFile, !!flags.retryFailed].filter(Boolean).length;
  if (flags.onlyStale) return staleInput(ctx, flags, sources);
  if (sources !== 1) throw new InputError('give exactly one of --start/--end, --dates-file or --retry-failed');
  const priority = parsePriority(flags.priority);
  const workers = flags.workers !== undefined ? parsePositiveInt(flags.workers, '--workers') : undefined;
  // With --dry-run, --workers N only says what to estimate for (N phase jobs at once in one process).
  if (flags.dryRun && flags.wait) throw new InputError('--dry-run enqueues nothing: leave out --wait');
  const common = { priority, cascade: flags.cascade, allowShrink: flags.allowShrink, allowMove: flags.allowMove };
  if (flags.retryFailed) {
    const failed = await readFailedFile(flags.retryFailed);
    const named = flags.processors
      ? ctx.registry.parseList(flags.processors)
      : Object.keys(failed.processors).map((n) => retryProcessor(ctx, n, flags.retryFailed ?? ''));
    const processors = named.filter((p) => (failed.processors[p.name] ?? []).length > 0);
    if (processors.length === 0) throw new InputError(`${flags.retryFailed}: no failed dates for the named processors`);
    const dates = [...new Set(processors.flatMap((p) => failed.processors[p.name] ?? []))].sort();
    // The retry runs the graph the original run did: its cascade unless the flag says otherwise.
    const cascade = flags.cascade ?? failed.cascade === true;
    return { request: { processors, dates, only: failed.processors, ...common, cascade }, workers };
  }
  if (!flags.processors) throw new InputError('--processors: name at least one processor (phasegate processors lists them)');
  const processors: ProcessorDef[] = ctx.registry.parseList(flags.processors);
  let dates: string[];
  if (flags.datesFile) dates = await readDatesFile(flags.datesFile);
  else {
    if (!flags.start || !flags.end) throw new InputError('--start and --end go together');
    checkRange(flags.start, flags.end);
    // Only days with games are slices: an empty day is not work.
    dates = await ctx.source.gameDates(flags.start, flags.end);
    if (dates.length === 0)
      throw new InputError(
        `no game dates between ${flags.start} and ${flags.end} in the schedule; for dates it does not cover, list them in a file and use --dates-file`,
      );
  }
  return { request: { processors, dates, ...common }, workers };
}

/**
 * `--only-stale`: which slices is known only once Redis is read (the action fills `only` and
 * `dates` from the stale list); here the flags are checked: a range narrows it, the named
 * processors narrow it, and nothing else goes with it.
 */
async function staleInput(ctx: Pick<PipelineContext, 'registry' | 'source'>, flags: BackfillFlags, sources: number): Promise<BackfillInput> {
  if (flags.datesFile || flags.retryFailed || flags.onlyMissing)
    throw new InputError('--only-stale takes its slices from the stale ones: leave out --dates-file, --retry-failed and --only-missing');
  if (sources === 1) {
    if (!flags.start || !flags.end) throw new InputError('--start and --end go together');
    checkRange(flags.start, flags.end);
  }
  const processors = flags.processors ? ctx.registry.parseList(flags.processors) : ctx.registry.transforms();
  const workers = flags.workers !== undefined ? parsePositiveInt(flags.workers, '--workers') : undefined;
  if (flags.dryRun && (flags.wait || workers !== undefined)) throw new InputError('--dry-run enqueues nothing: leave out --wait and --workers');
  return {
    request: { processors, dates: [], cascade: true, priority: parsePriority(flags.priority), staleRange: { start: flags.start, end: flags.end } },
    workers,
  };
}

/** A processor a failed-dates file names: one that no longer exists is the file's fault, so it is named. */
function retryProcessor(ctx: Pick<PipelineContext, 'registry'>, name: string, file: string): ProcessorDef {
  if (!ctx.registry.has(name)) throw new InputError(`names processor "${name}", which phasegate does not have (phasegate processors lists them)`, { file });
  return ctx.registry.get(name);
}
