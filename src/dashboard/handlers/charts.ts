/**
 * The two charts people would rather look at than read: commit throughput and queue depth,
 * over the last hour — drawn over the part of it the data covers, so a short run fills the
 * chart, with a bucket size that suits that span.
 */

import { tableId } from '../../processors/types.ts';
import { isCommitQueue } from '../../queues/names.ts';
import type { DashboardContext } from '../context.ts';
import { bucketize, readCommits } from '../data/commit-history.ts';
import type { SafeHtml } from '../html/escape.ts';
import { chart, fitRange, niceStep, PALETTE } from '../html/svg-chart.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
/** About this many bars across the fitted span: enough to see a burst, few enough to read. */
const BARS = 40;

function per(stepMs: number): string {
  return stepMs % MINUTE === 0 ? (stepMs === MINUTE ? 'min' : `${stepMs / MINUTE} min`) : `${stepMs / 1000} s`;
}

export async function throughputChart(c: DashboardContext, opts: { table?: string } = {}, now = Date.now()): Promise<SafeHtml> {
  const since = now - HOUR;
  const points = await readCommits(c.rt, { sinceMs: since });
  const tables = opts.table !== undefined ? [opts.table] : c.rt.registry.transforms().map((d) => tableId(d.table));
  const active = new Set(points.map((p) => p.table));
  const fitted = fitRange(
    points.map((p) => p.at),
    since,
    now,
  );
  const step = niceStep(fitted.to - fitted.from, BARS);
  const from = Math.floor(fitted.from / step) * step;
  // Only tables that committed in the hour get a series: seven empty legends say nothing.
  const series = tables
    .filter((t) => active.has(t))
    .map((table, i) => ({
      name: table,
      color: PALETTE[i % PALETTE.length] as string,
      points: bucketize(points, from, fitted.to + step, step, table)
        .filter((b) => b.rows > 0 || b.commits > 0)
        .map((b) => ({
          x: b.start,
          y: b.rows,
          label: `${new Date(b.start).toISOString().slice(11, 19)} ${table}: ${b.rows.toLocaleString('en-US')} rows, ${b.slices} dates in ${b.commits} commits`,
        })),
    }));
  return chart({
    title: opts.table !== undefined ? `Rows committed to ${opts.table}, last hour` : 'Commit throughput, last hour',
    unit: `rows / ${per(step)}`,
    from: since,
    to: now + step,
    series,
    bars: true,
    barSpan: step,
    empty: 'no commits in the last hour',
  });
}

/**
 * The span the depth chart covers: the last hour, or — BullMQ keeps no history of its counts,
 * and this process samples them only since the dashboard started — the time since then.
 */
export function depthSpan(startedAt: number, now: number): { from: number; title: string } {
  if (startedAt <= now - HOUR) return { from: now - HOUR, title: 'Queue depth, last hour' };
  const minutes = Math.floor((now - startedAt) / MINUTE);
  const ago = minutes < 1 ? 'under a minute ago' : minutes === 1 ? '1 minute ago' : `${minutes} minutes ago`;
  return { from: startedAt, title: `Queue depth since the dashboard started (${new Date(startedAt).toISOString().slice(11, 16)} UTC, ${ago})` };
}

export function depthChart(c: DashboardContext, now = Date.now()): SafeHtml {
  const span = depthSpan(c.depth.startedAt, now);
  const samples = c.depth.since(span.from);
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.depth)))];
  // Phase queues each get a line; the table gates are summed so the chart stays readable.
  const phase = names.filter((n) => !isCommitQueue(n));
  const series = phase.map((name, i) => ({
    name,
    color: PALETTE[i % PALETTE.length] as string,
    points: samples.map((s) => ({ x: s.at, y: s.depth[name] ?? 0 })),
  }));
  if (names.some(isCommitQueue)) {
    series.push({
      name: 'table gates',
      color: PALETTE[phase.length % PALETTE.length] as string,
      points: samples.map((s) => ({ x: s.at, y: Object.entries(s.depth).reduce((n, [k, v]) => (isCommitQueue(k) ? n + v : n), 0) })),
    });
  }
  return chart({
    title: span.title,
    unit: 'jobs waiting, delayed or running',
    from: span.from,
    to: now,
    series,
    empty: 'no sample yet: sampling starts when the dashboard starts',
  });
}
