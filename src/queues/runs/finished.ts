/**
 * A run's end, recorded once per run on the run-ends stream (src/queues/events/run-ends.ts),
 * and "Backfill finished with failures": announced once per backfill, when its last slice — of a
 * cascade, the last slice of every processor it reaches — reaches a final state and some ended
 * failed or deferred. Called wherever slices reach final states
 * (the commit path, a phase job's last failure); the Redis marker makes it once across processes.
 */
import { log } from '../../log.ts';
import { escapeMrkdwn } from '../../notify/mrkdwn.ts';
import { clipAtWord } from '../../terminal-text.ts';
import { type BackfillRecord, backfillProgress, getBackfill } from '../backfill/backfill.ts';
import { cascadeProgress } from '../backfill/cascade.ts';
import type { PipelineContext } from '../context.ts';
import { type RunEndEvent, recordRunEnd, runEndRecorded } from '../events/run-ends.ts';
import type { SliceStatus } from '../status-store.ts';

const SHOWN = 10;

export async function announceFinishedBackfills(ctx: PipelineContext, ids: Iterable<string | undefined>): Promise<void> {
  for (const id of new Set([...ids].filter((x): x is string => !!x))) {
    try {
      const once = ctx.keys.notifyOnce('backfill-failed', id);
      const [announced, ended] = await Promise.all([ctx.redis.exists(once), runEndRecorded(ctx.redis, ctx.keys, id)]);
      if (announced && ended) continue;
      const record = await getBackfill(ctx, id);
      const statuses = await finishedStatuses(ctx, record);
      if (!statuses) continue;
      if (!ended) await recordRunEnd(ctx.redis, ctx.keys, runEndOf(record, statuses));
      if (announced) continue;
      const processors = [...statuses.keys()];
      const bad: string[] = [];
      for (const [processor, list] of statuses) {
        list.forEach((s, i) => {
          if (s?.status === 'failed' || s?.status === 'deferred') bad.push(`${processor} ${record.dates[i]} ${s.status}: ${s.error ?? ''}`);
        });
      }
      const total = processors.length * record.dates.length;
      if (bad.length === 0) continue;
      const marker = await ctx.redis.set(once, '1', 'EX', 30 * 86_400, 'NX');
      if (marker !== 'OK') continue;
      // A failure reason is upstream text (a scraper's error body): inert in Slack mrkdwn.
      // Cut before escaping, so an escape is never cut in half; at a word, so a cut reads as one.
      const shown = bad.slice(0, SHOWN).map((b) => `• ${escapeMrkdwn(clipAtWord(b, 200))}`);
      if (bad.length > SHOWN) shown.push(`• … and ${bad.length - SHOWN} more`);
      await ctx.notifier.notify({
        kind: 'backfill-failed',
        subject: record.processors.join(','),
        title: `backfill ${id} finished: ${bad.length} of ${total === 1 ? '1 slice' : `${total} slices`} failed or deferred`,
        text: `${shown.join('\n')}\nSee \`phasegate status --backfill ${id}\`; deferred slices: \`phasegate retry --deferred\`.`,
      });
    } catch (err) {
      log.warn(`backfill ${id}: could not check for the finished notice: ${(err as Error).message}`);
    }
  }
}

/** The run-end entry of a finished run: its slices counted by final state. */
function runEndOf(record: BackfillRecord, statuses: Map<string, (SliceStatus | undefined)[]>): RunEndEvent {
  const counts: RunEndEvent['counts'] = {};
  for (const list of statuses.values()) for (const s of list) if (s) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return { type: 'run_finished', run: record.id, processors: record.processors, cascade: !!record.cascade, counts, finishedAt: new Date().toISOString() };
}

/** Dates read per look: the check stops at the first chunk with a slice still to end. */
const CHUNK = 128;
/**
 * Dates of the first look: the last date alone. A running backfill ends it last, so nearly
 * every commit's check is one date's statuses; a 128-date first look made the check the
 * commit path's largest read — 1,152 statuses and a run graph over them at every commit of a
 * cascade (9 processors; bench:scale profile, 853 dates).
 */
const FIRST_LOOK = 1;

/**
 * Every status of a finished backfill, per processor in date order; `undefined` while a slice
 * it reaches — for a cascade, downstream ones too, counting a slice an ended upstream settles
 * — is still to end. Called by every commit that ends slices, so it must not read the whole
 * backfill each time: it looks at the last date first (`FIRST_LOOK`), then the dates before
 * it a chunk at a time, and the first look with unfinished work ends it (a running backfill
 * ends slices roughly in date order, so that is mostly the first). Chunking is exact: a slice
 * is settled by its own date's upstream slices only.
 */
async function finishedStatuses(ctx: PipelineContext, record: BackfillRecord): Promise<Map<string, (SliceStatus | undefined)[]> | undefined> {
  const chunks: Map<string, (SliceStatus | undefined)[]>[] = [];
  for (let end = record.dates.length, size = FIRST_LOOK; end > 0; end -= size, size = CHUNK) {
    const part: BackfillRecord = { ...record, dates: record.dates.slice(Math.max(0, end - size), end) };
    const read = new Map<string, (SliceStatus | undefined)[]>();
    const done = record.cascade
      ? (
          await cascadeProgress(ctx, part, async (processor, slices) => {
            const list = await ctx.statuses.getMany(processor, slices);
            read.set(processor, list);
            return list;
          })
        ).done
      : await requestedDone(ctx, part, read);
    if (!done) return undefined;
    chunks.unshift(read);
  }
  const all = new Map<string, (SliceStatus | undefined)[]>();
  for (const chunk of chunks) {
    for (const [processor, list] of chunk) {
      const into = all.get(processor) ?? [];
      into.push(...list);
      all.set(processor, into);
    }
  }
  return all;
}

/** Whether every requested processor's slices are final, keeping the statuses it read. */
async function requestedDone(ctx: PipelineContext, record: BackfillRecord, into: Map<string, (SliceStatus | undefined)[]>): Promise<boolean> {
  const progress = await backfillProgress(ctx, record);
  for (const [processor, list] of Object.entries(progress.statuses)) into.set(processor, list);
  return progress.done;
}
