/**
 * How the dependency tracker asks for a downstream run without ever queueing the same work
 * twice and without ever missing a newer upstream commit.
 *
 * Every job the tracker adds carries a *trigger*: the completion stream's newest entry id at
 * the moment the job was added. Any commit whose event id is at or below the trigger landed
 * before the job existed, so the job — which reads its inputs only when it runs — sees it.
 * That is what makes duplicate deliveries and bursts harmless: an event is "covered" when a
 * job exists that has not started yet, or one whose trigger is at or past the event's id.
 * Only a job that started before the commit landed needs a second run.
 */

import type { Job } from 'bullmq';
import { TransientError } from '../../errors/transient-error.ts';
import type { TransformDef } from '../../processors/types.ts';
import { compareStreamIds } from '../../redis/stream-reply.ts';
import type { PipelineContext } from '../context.ts';
import { type PhaseJobData, phaseJobId } from '../names.ts';

/** A phase job added by the tracker: the usual payload plus the stream id it covers. */
export interface TrackedJobData extends PhaseJobData {
  /** Completion-stream id (`ms-seq`) of the newest event when the job was added. */
  trigger?: string | undefined;
}

export interface RunRequest {
  def: TransformDef;
  slice: string;
  /**
   * Id of the completion event asking for the run. Absent for a run no event of its own asks
   * for (settle.ts: a slice ready through an input that landed before the run): the stream's
   * head as this call reads it.
   */
  eventId?: string | undefined;
  backfillId?: string | undefined;
  targets: string[];
  cascade: boolean;
  priority: number;
  /** The run starts no later than this many ms from now (a debounce, or a look-back wait). */
  delayMs: number;
}

/**
 * - `enqueued`: a new job was added.
 * - `covered`: a job that will see the event's commit exists already (not started, or added later).
 * - `rescheduled`: a waiting delayed job was brought forward to `delayMs`.
 * - `busy`: a job that started before the commit is still running; ask again once it ends.
 */
export type RunOutcome = 'enqueued' | 'covered' | 'rescheduled' | 'busy';

const NOT_STARTED = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

/**
 * Hash slice → the last job the tracker added for a processor: its trigger and when it is due
 * to start (`<trigger> <ms>`). It outlives the job (BullMQ drops completed jobs after a while),
 * so a very late duplicate is still covered.
 */
export function triggerKey(ctx: Pick<PipelineContext, 'keys'>, processor: string): string {
  return ctx.keys.trigger(processor);
}

interface TriggerEntry {
  trigger: string;
  /** When the job is due to start; unknown (an entry written before the time was kept) is never. */
  dueAt: number;
}

function parseEntry(value: string | null | undefined): TriggerEntry | undefined {
  if (!value) return undefined;
  const [trigger = '', due] = value.split(' ');
  return { trigger, dueAt: due === undefined ? Number.POSITIVE_INFINITY : Number(due) };
}

const entryOf = (trigger: string, dueAt: number) => `${trigger} ${Math.round(dueAt)}`;

function covers(trigger: string | undefined, eventId: string): boolean {
  return trigger !== undefined && compareStreamIds(trigger, eventId) >= 0;
}

/**
 * Whether the slice's last job added by the tracker answers a request with nothing to do: it
 * was added (or moved up) after the event was written, so it started after the event's commit
 * or will — that job or a later one that replaced it — and it is due no later than the request
 * asks. A job parked for its window (`delayed` for the window wait) is not: a request that
 * finds the window complete brings it forward (`requestRun`).
 */
function answers(entry: TriggerEntry | undefined, eventId: string, delayMs: number, now: number): boolean {
  return entry !== undefined && covers(entry.trigger, eventId) && entry.dueAt <= now + delayMs;
}

/**
 * The slices whose `requestRun` would find nothing to do (`answers`), in one read. A look-back
 * commit asks for every later date of its window, and most were queued by an earlier event of
 * the same commit: three round trips each (the reads, the job, its state) before.
 */
export async function coveredSlices(
  ctx: PipelineContext,
  processor: string,
  requests: readonly { slice: string; delayMs: number }[],
  eventId: string,
): Promise<Set<string>> {
  if (requests.length === 0) return new Set();
  const entries = await ctx.redis.hmget(triggerKey(ctx, processor), ...requests.map((r) => r.slice));
  const now = Date.now();
  return new Set(requests.filter((r, i) => answers(parseEntry(entries[i]), eventId, r.delayMs, now)).map((r) => r.slice));
}

/** Ms until a delayed job runs. */
function remainingDelay(job: Job, now: number): number {
  return job.timestamp + (job.delay ?? job.opts.delay ?? 0) - now;
}

export async function requestRun(ctx: PipelineContext, req: RunRequest): Promise<RunOutcome> {
  const { def, slice } = req;
  const queue = ctx.queues.phase(def.phase);
  const jobId = phaseJobId(def.name, slice);
  // One round trip for what decides the usual case (no job for the slice yet): the stream's
  // head — read before the job's state: a job still waiting after this read starts after every
  // event up to `head`, so `head` is a trigger it truly covers — whether the job exists, and
  // the trigger of the last job the tracker added for the slice.
  const reads = await ctx.redis
    .pipeline()
    .xrevrange(ctx.keys.events(), '+', '-', 'COUNT', 1)
    .exists(queue.toKey(jobId))
    .hget(triggerKey(ctx, def.name), slice)
    .exec();
  const failed = reads?.find(([err]) => err);
  if (!reads || failed) throw failed?.[0] ?? new TransientError(`reading the state of ${jobId}: no reply`);
  const head = ((reads[0]?.[1] ?? []) as [string, string[]][])[0]?.[0] ?? '0-0';
  const eventId = req.eventId ?? head;
  const last = parseEntry(reads[2]?.[1] as string | null);
  if (answers(last, eventId, req.delayMs, Date.now())) return 'covered';
  const job = Number(reads[1]?.[1]) > 0 ? ((await queue.getJob(jobId)) as Job<TrackedJobData> | undefined) : undefined;
  if (job) {
    const state = await job.getState();
    if (NOT_STARTED.has(state)) {
      const now = Date.now();
      const remaining = state === 'delayed' ? remainingDelay(job, now) : 0;
      // A look-back job parked with a long wait is brought forward once its window is complete.
      const bringForward = remaining > req.delayMs;
      // It reads its inputs when it starts, which is after this commit. Its trigger moves up to
      // `head`, so a later delivery of an event it already covers does not run it again.
      const moveUp = !covers(job.data.trigger, head);
      if (moveUp) await job.updateData({ ...job.data, trigger: head }).catch(() => undefined);
      if (moveUp || bringForward) {
        const trigger = moveUp ? head : (job.data.trigger as string);
        await ctx.redis.hset(triggerKey(ctx, def.name), slice, entryOf(trigger, now + Math.min(remaining, req.delayMs)));
      }
      if (bringForward) {
        try {
          await job.changeDelay(req.delayMs);
          return 'rescheduled';
        } catch {
          // It left the delayed state meanwhile (promoted or started): look again next time.
          return 'busy';
        }
      }
      return 'covered';
    }
    if (covers(job.data.trigger, eventId)) return 'covered';
    if (state === 'active') return 'busy';
  }
  if (!job && covers(last?.trigger, eventId)) return 'covered';
  if (job) {
    // Finished (completed or failed) before this commit: clear the id so the work runs again.
    const removed = await job.remove().then(
      () => true,
      () => false,
    );
    if (!removed) return 'busy';
  }
  const trigger = head;
  await ctx.statuses.set(def.name, slice, { status: 'pending', backfillId: req.backfillId });
  const data: TrackedJobData = {
    processor: def.name,
    slice,
    backfillId: req.backfillId,
    targets: req.targets,
    cascade: req.cascade,
    origin: 'upstream',
    trigger,
  };
  // Same deterministic id as every other producer: a concurrent add of the same work is a no-op.
  await queue.add(def.name, data, { jobId, priority: req.priority, delay: req.delayMs });
  await ctx.redis.hset(triggerKey(ctx, def.name), slice, entryOf(trigger, Date.now() + req.delayMs));
  return 'enqueued';
}
