/**
 * The tracker's record of the jobs it added (downstream.ts `coveredSlices`): a request whose
 * slice already has a job added after the event needs nothing — except a look-back job parked
 * for its window, which a later request that finds the window complete must bring forward even
 * when that job was added after the request's event (the events of one commit are handled in
 * several lanes, in any order). Real Redis, no workers: the jobs are read as BullMQ stores them.
 */
import type { Job } from 'bullmq';
import { expect } from 'chai';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { BackfillLookup, handleEvent } from '../src/queues/events/unlocks.ts';
import { phaseJobId } from '../src/queues/names.ts';
import type { Runtime } from '../src/runtime.ts';
import { committedEvent, openTestRuntime } from './helpers.ts';

const PGS = 'player_game_summary';
const ROLLING = 'player_rolling_features';

const pgsCommitted = (slice: string) => committedEvent(PGS, 'nba_analytics.player_game_summary', slice, { rows: 200 });

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
      expect(await handleEvent(rt, pgsCommitted(late), lateId, lookup, wait)).to.equal('done');
      const parked = await rollingJob(rt, late);
      expect(await parked.getState()).to.equal('delayed');
      expect(dueIn(parked)).to.be.above(500_000);

      // The early date commits; its (older) event refreshes the late date, whose job was added
      // after that event was written — and is parked: it must come forward, not count as covered.
      await rt.statuses.set(PGS, early, { status: 'committed' });
      expect(await handleEvent(rt, pgsCommitted(early), earlyId, lookup, wait)).to.equal('done');
      const forward = await rollingJob(rt, late);
      expect(dueIn(forward)).to.be.below(1_000);
      expect(forward.data.trigger).to.equal(parked.data.trigger);
      expect(await rollingJob(rt, early).then((j) => j.getState())).to.not.equal('delayed');

      // Both events again (a redelivery): each slice's job already answers them; nothing changes.
      const before = await Promise.all([early, late].map(async (d) => JSON.stringify((await rollingJob(rt, d)).asJSON())));
      expect(await handleEvent(rt, pgsCommitted(early), earlyId, lookup, wait)).to.equal('done');
      expect(await handleEvent(rt, pgsCommitted(late), lateId, lookup, wait)).to.equal('done');
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
  it("live work's jobs wait the debounce, so a burst of commits becomes one run; a backfill's, unlocked once its inputs have landed, start at once", async () => {
    const env = await openTestRuntime({});
    try {
      const rt = env.rt;
      const lookup = new BackfillLookup(rt);
      const timing = { debounceMs: 30_000, windowWaitMs: 600_000 };
      const [live, backfilled] = ['2023-11-03', '2023-11-04'];
      const record = await startBackfill(rt, { processors: [rt.registry.get('nbac_team_boxscore')], dates: [backfilled], cascade: true });
      for (const d of [live, backfilled]) for (const p of ['nbac_player_boxscore', 'nbac_team_boxscore']) await rt.statuses.set(p, d, { status: 'committed' });
      const event = (slice: string, backfillId?: string) => committedEvent('nbac_team_boxscore', 'nba_raw.nbac_team_boxscore', slice, { backfillId });
      for (const [slice, backfillId] of [
        [live, undefined],
        [backfilled, record.id],
      ] as const) {
        const id = (await rt.redis.xadd(rt.keys.events(), '*', 'processor', 'nbac_team_boxscore')) as string;
        expect(await handleEvent(rt, event(slice, backfillId), id, lookup, timing)).to.equal('done');
      }
      const q = rt.queues.phase(3);
      for (const p of ['player_game_summary', 'team_offense_game_summary']) {
        const liveJob = await q.getJob(phaseJobId(p, live));
        const backfillJob = await q.getJob(phaseJobId(p, backfilled));
        if (!liveJob || !backfillJob) throw new Error(`${p}: a job is missing`);
        expect(await liveJob.getState(), `${p} live`).to.equal('delayed');
        expect(dueIn(liveJob), `${p} live`).to.be.above(20_000);
        expect(await backfillJob.getState(), `${p} backfill`).to.equal('prioritized');
        expect(backfillJob.delay ?? 0, `${p} backfill`).to.equal(0);
      }
    } finally {
      await env.cleanup();
    }
  });
});
