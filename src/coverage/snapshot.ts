/**
 * The last audit's per-date coverage, kept in Redis so the dashboard can draw it without
 * opening the warehouse (with the embedded DuckDB, the worker process holds the file).
 */
import type { PipelineContext } from '../queues/context.ts';
import type { DateCoverage } from './report.ts';

export interface CoverageRunInfo {
  runId: string;
  start: string;
  end: string;
  finishedAt: string;
  critical: number;
  findings: number;
}

export async function saveSnapshot(ctx: Pick<PipelineContext, 'redis' | 'keys'>, run: CoverageRunInfo, dates: readonly DateCoverage[]): Promise<void> {
  const multi = ctx.redis.multi();
  if (dates.length > 0) multi.hset(ctx.keys.coverage(), ...dates.flatMap((d) => [d.date, JSON.stringify(d)]));
  multi.hset(ctx.keys.coverageRun(), { json: JSON.stringify(run) });
  await multi.exec();
}

export async function readSnapshot(
  ctx: Pick<PipelineContext, 'redis' | 'keys'>,
  range?: { start: string; end: string },
): Promise<{ run: CoverageRunInfo | undefined; dates: DateCoverage[] }> {
  const [all, run] = await Promise.all([ctx.redis.hgetall(ctx.keys.coverage()), ctx.redis.hget(ctx.keys.coverageRun(), 'json')]);
  const dates = Object.entries(all)
    .filter(([d]) => !range || (d >= range.start && d <= range.end))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, json]) => JSON.parse(json) as DateCoverage);
  return { run: run ? (JSON.parse(run) as CoverageRunInfo) : undefined, dates };
}
