/**
 * Every queue the dashboard shows, with a name a person can read: the five phase queues and
 * one commit queue ("table gate") per target table in the registry.
 */
import type { Queue } from 'bullmq';
import { tableLimits } from '../../config/load-config.ts';
import { type Phase, tableId } from '../../processors/types.ts';
import type { PipelineContext } from '../../queues/context.ts';
import { commitQueueName, PHASES, phaseQueueName } from '../../queues/names.ts';
import { warehouseCaps } from '../../warehouse/index.ts';

export const PHASE_TITLES: Record<Phase, string> = { 1: 'scrape', 2: 'raw load', 3: 'analytics', 4: 'precompute', 5: 'predictions' };

export interface DashboardQueue {
  name: string;
  kind: 'phase' | 'commit';
  displayName: string;
  description: string;
  queue: Queue;
  /** The target table of a commit queue. */
  table?: string | undefined;
}

export function dashboardQueues(ctx: PipelineContext): DashboardQueue[] {
  const out: DashboardQueue[] = [];
  for (const phase of PHASES) {
    const processors = ctx.registry
      .all()
      .filter((p) => p.phase === phase)
      .map((p) => p.name);
    out.push({
      name: phaseQueueName(phase),
      kind: 'phase',
      displayName: `Phase ${phase} · ${PHASE_TITLES[phase]}`,
      description:
        processors.length > 0
          ? `Phase ${phase} jobs, one per (processor, date): ${processors.join(', ')}`
          : `Phase ${phase} jobs (no processors registered yet)`,
      queue: ctx.queues.phase(phase) as Queue,
    });
  }
  for (const def of ctx.registry.transforms()) {
    const table = tableId(def.table);
    const { concurrency, opsMax, opsWindowSeconds, dailyBudget, commitMaxSlices } = tableLimits(ctx.config, table);
    out.push({
      name: commitQueueName(table),
      kind: 'commit',
      displayName: `Table gate · ${table}`,
      description: `Group commits into ${table} from ${def.name}: up to ${commitMaxSlices} dates per statement, ≤ ${Math.min(warehouseCaps(ctx.config).runningDmlPerTable, concurrency)} at once, ≤ ${opsMax} per ${opsWindowSeconds} s; DML, so none of the ${dailyBudget} table modifications a day`,
      queue: ctx.queues.commit(table) as Queue,
      table,
    });
  }
  return out;
}

/**
 * Job states a queue is counted in (BullMQ 6 has no separate `paused` list: a paused queue
 * keeps its jobs waiting). Backfill jobs carry a priority, so they wait as `prioritized`.
 */
export const COUNTED_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'waiting-children'] as const;
export type CountedState = (typeof COUNTED_STATES)[number];

export interface QueueCounts {
  queue: DashboardQueue;
  counts: Record<CountedState, number>;
  paused: boolean;
}

export async function queueCounts(ctx: PipelineContext): Promise<QueueCounts[]> {
  return Promise.all(
    dashboardQueues(ctx).map(async (q) => {
      const [raw, paused] = await Promise.all([q.queue.getJobCounts(...COUNTED_STATES), q.queue.isPaused()]);
      const counts = Object.fromEntries(COUNTED_STATES.map((s) => [s, raw[s] ?? 0])) as Record<CountedState, number>;
      return { queue: q, counts, paused };
    }),
  );
}

/** Jobs still to run or running: what "depth" means on the charts. */
export function depthOf(counts: Record<CountedState, number>): number {
  return counts.waiting + counts.prioritized + counts.active + counts.delayed + counts['waiting-children'];
}
