/**
 * The tracker's record of the jobs it added (downstream.ts `coveredSlices`): a request whose
 * slice already has a job added after the event needs nothing — except a look-back job parked
 * for its window, which a later request that finds the window complete must bring forward even
 * when that job was added after the request's event (the events of one commit are handled in
 * several lanes, in any order). Real Redis, no workers: the jobs are read as BullMQ stores them.
 */
import type { Job } from 'bullmq';
import { expect } from 'chai';
import { BackfillLookup, handleEvent } from '../src/queues/events/unlocks.ts';
import { phaseJobId } from '../src/queues/names.ts';
import type { Runtime } from '../src/runtime.ts';
import { openTestRuntime } from './helpers.ts';

const PGS = 'player_game_summary';
const ROLLING = 'player_rolling_features';

function committedEvent(slice: string) {
  return {
    type: 'committed' as const,
    processor: PGS,
    table: 'nba_analytics.player_game_summary',
    slice,
    rows: 200,
    batchId: 'b',
    committedAt: new Date().toISOString(),
  };
}

async function rollingJob(rt: Runtime, slice: string): Promise<Job> {
  const job = await rt.queues.phase(4).getJob(phaseJobId(ROLLING, slice));
  if (!job) throw new Error(`no ${ROLLING} job for ${slice}`);
  return job;
}

/** Ms until a delayed job is due, as BullMQ keeps it. */
const dueIn = (job: Job) => job.timestamp + (job.delay ?? 0) - Date.now();

describe('dependency tracker: the jobs it added answer later requests', function () {
  this.timeout(60_000);

  it('a job parked for its window is brought forward by an older event that finds the window complete; a covered request changes nothing', async () => {
    const env = await openTestRuntime({});
    try {
      const rt = env.rt;
      const lookup = new BackfillLookup(rt);
      const [early, late] = ['2023-11-01', '2023-11-03'];
      const wait = { debounceMs: 0, windowWaitMs: 600_000 };
      // Two commits' events, the early date's written first: handled in the other order.
      const earlyId = (await rt.redis.xadd(rt.keys.events(), '*', 'processor', PGS)) as string;
      const lateId = (await rt.redis.xadd(rt.keys.events(), '*', 'processor', PGS)) as string;
      await rt.statuses.set(PGS, early, { status: 'running' });
      await rt.statuses.set(PGS, late, { status: 'committed' });

      // The late date's window holds the early date, still running: its job is parked.
      expect(await handleEvent(rt, committedEvent(late), lateId, lookup, wait)).to.equal('done');
      const parked = await rollingJob(rt, late);
      expect(await parked.getState()).to.equal('delayed');
      expect(dueIn(parked)).to.be.above(500_000);

      // The early date commits; its (older) event refreshes the late date, whose job was added
      // after that event was written — and is parked: it must come forward, not count as covered.
      await rt.statuses.set(PGS, early, { status: 'committed' });
      expect(await handleEvent(rt, committedEvent(early), earlyId, lookup, wait)).to.equal('done');
      const forward = await rollingJob(rt, late);
      expect(dueIn(forward)).to.be.below(1_000);
      expect(forward.data.trigger).to.equal(parked.data.trigger);
      expect(await rollingJob(rt, early).then((j) => j.getState())).to.not.equal('delayed');

      // Both events again (a redelivery): each slice's job already answers them; nothing changes.
      const before = await Promise.all([early, late].map(async (d) => JSON.stringify((await rollingJob(rt, d)).asJSON())));
      expect(await handleEvent(rt, committedEvent(early), earlyId, lookup, wait)).to.equal('done');
      expect(await handleEvent(rt, committedEvent(late), lateId, lookup, wait)).to.equal('done');
      const after = await Promise.all([early, late].map(async (d) => JSON.stringify((await rollingJob(rt, d)).asJSON())));
      expect(after).to.deep.equal(before);
      const counts = await rt.queues.phase(4).getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed');
      expect(
        Object.values(counts).reduce((a, b) => a + b, 0),
        JSON.stringify(counts),
      ).to.equal(2);
    } finally {
      await env.cleanup();
    }
  });
});
