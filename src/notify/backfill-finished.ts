/**
 * "Backfill finished with failures": announced once per backfill, when its last slice — of a
 * cascade, the last slice of every processor it reaches — reaches a final state and some ended
 * failed or deferred. Called wherever slices reach final states
 * (the commit path, a phase job's last failure); the Redis marker makes it once across processes.
 */
import { log } from '../log.ts';
import { type BackfillRecord, backfillProgress, getBackfill } from '../queues/backfill/backfill.ts';
import { cascadeProcessors, cascadeProgress } from '../queues/backfill/cascade.ts';
import type { PipelineContext } from '../queues/context.ts';
import type { SliceStatus } from '../queues/status-store.ts';
import { notifierFor } from './index.ts';

const SHOWN = 10;

export async function announceFinishedBackfills(ctx: PipelineContext, ids: Iterable<string | undefined>): Promise<void> {
  for (const id of new Set([...ids].filter((x): x is string => !!x))) {
    try {
      const record = await getBackfill(ctx, id);
      // A cascade is finished when every processor it reaches is, not just the requested ones;
      // a slice a failed upstream settled counts as ended, but only its own failure is listed.
      // The statuses the progress read are the ones listed: each processor's are read once.
      const statuses = new Map<string, (SliceStatus | undefined)[]>();
      const read = async (processor: string, slices: readonly string[]) => {
        const list = await ctx.statuses.getMany(processor, slices);
        statuses.set(processor, list);
        return list;
      };
      const done = record.cascade ? (await cascadeProgress(ctx, record, read)).done : await requestedDone(ctx, record, statuses);
      if (!done) continue;
      const processors = record.cascade ? cascadeProcessors(ctx, record).map((d) => d.name) : record.processors;
      const bad: string[] = [];
      for (const processor of processors) {
        const list = statuses.get(processor) ?? (await ctx.statuses.getMany(processor, record.dates));
        list.forEach((s, i) => {
          if (s?.status === 'failed' || s?.status === 'deferred') bad.push(`${processor} ${record.dates[i]} ${s.status}: ${s.error ?? ''}`);
        });
      }
      const total = processors.length * record.dates.length;
      if (bad.length === 0) continue;
      const marker = await ctx.redis.set(ctx.keys.notifyOnce('backfill-failed', id), '1', 'EX', 30 * 86_400, 'NX');
      if (marker !== 'OK') continue;
      const shown = bad.slice(0, SHOWN).map((b) => `• ${b.slice(0, 200)}`);
      if (bad.length > SHOWN) shown.push(`• … and ${bad.length - SHOWN} more`);
      await notifierFor(ctx).notify({
        kind: 'backfill-failed',
        subject: record.processors.join(','),
        title: `backfill ${id} finished: ${bad.length} of ${total} slices failed or deferred`,
        text: `${shown.join('\n')}\nSee \`phasegate status --backfill ${id}\`; deferred slices: \`phasegate retry --deferred\`.`,
      });
    } catch (err) {
      log.warn(`backfill ${id}: could not check for the finished notice: ${(err as Error).message}`);
    }
  }
}

/** Whether every requested processor's slices are final, keeping the statuses it read. */
async function requestedDone(ctx: PipelineContext, record: BackfillRecord, into: Map<string, (SliceStatus | undefined)[]>): Promise<boolean> {
  const progress = await backfillProgress(ctx, record);
  for (const [processor, list] of Object.entries(progress.statuses)) into.set(processor, list);
  return progress.done;
}
