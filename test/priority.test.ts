/**
 * Live work outranks backfill work on every queue (BullMQ priorities): a live job added while
 * a backfill runs starts before the backfill's remaining jobs, and the downstream jobs the
 * tracker queues keep their origin's priority.
 */
import type { Job } from 'bullmq';
import { expect } from 'chai';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { enqueueSlices } from '../src/queues/enqueue.ts';
import { BackfillLookup, handleEvent } from '../src/queues/events/unlocks.ts';
import { type PhaseJobData, PRIORITY, phaseJobId } from '../src/queues/names.ts';
import { committedEvent, openTestRuntime, until } from './helpers.ts';

describe('priorities: live work before backfill work', function () {
  this.timeout(120_000);

  it("a live job added during a running backfill starts before the backfill's remaining jobs", async () => {
    const env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '100' });
    try {
      const rt = env.rt;
      const scraper = rt.registry.get('nbac_player_boxscore_scraper');
      // Enough dates that many are still queued however fast the first ones run.
      const dates = await rt.source.gameDates('2023-11-01', '2023-12-31');
      const live = '2024-01-05';
      // One worker, one job at a time: the start order is the queue's order.
      await rt.startWorkers({ phases: [1], commit: false, concurrency: 1, tracker: false });
      const order: string[] = [];
      rt.workers[0]?.on('active', (job: Job<PhaseJobData>) => order.push(job.data.slice));

      const record = await startBackfill(rt, { processors: [scraper], dates });
      await until(async () => order.length >= 2, 'the backfill to be running', 60_000, 5);
      const startedBefore = order.length;
      await enqueueSlices(rt, scraper, [live], { targets: [], cascade: false, origin: 'live' });
      await until(async () => order.length === dates.length + 1, 'every job to start', 60_000);

      const at = order.indexOf(live);
      // Next to start: at most the one job the worker may have fetched as the live job arrived.
      expect(at, `start order ${order.join(' ')}`).to.be.within(startedBefore, startedBefore + 1);
      expect(order.length - 1 - at, 'backfill jobs still to run after the live one').to.be.above(10);
      expect((await rt.statuses.get(scraper.name, live))?.status).to.equal('committed');
      expect(record.priority).to.equal(PRIORITY.backfill);
    } finally {
      await env.cleanup();
    }
  });

  it("downstream jobs the tracker queues carry live priority for live commits and the backfill's for backfill commits", async () => {
    const env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '100' });
    try {
      const rt = env.rt;
      const date = '2023-11-03';
      const other = '2023-11-04';
      for (const d of [date, other]) {
        for (const p of ['nbac_player_boxscore', 'nbac_team_boxscore']) await rt.statuses.set(p, d, { status: 'committed' });
      }
      const lookup = new BackfillLookup(rt);
      const event = (slice: string, backfillId?: string) => committedEvent('nbac_team_boxscore', 'nba_raw.nbac_team_boxscore', slice, { backfillId });
      const id = await rt.redis.xadd(rt.keys.events(), '*', 'processor', 'nbac_team_boxscore');
      expect(await handleEvent(rt, event(date), id as string, lookup, { debounceMs: 0, windowWaitMs: 0 })).to.equal('done');

      const record = await startBackfill(rt, { processors: [rt.registry.get('nbac_team_boxscore')], dates: [other], cascade: true, priority: 7 });
      // As if its phase 2 job had run and committed (no workers run in this test).
      await rt.statuses.set('nbac_team_boxscore', other, { status: 'committed' });
      const id2 = await rt.redis.xadd(rt.keys.events(), '*', 'processor', 'nbac_team_boxscore');
      expect(await handleEvent(rt, event(other, record.id), id2 as string, lookup, { debounceMs: 0, windowWaitMs: 0 })).to.equal('done');

      const q = rt.queues.phase(3);
      for (const p of ['player_game_summary', 'team_offense_game_summary', 'team_defense_game_summary']) {
        const liveJob = await q.getJob(phaseJobId(p, date));
        const backfillJob = await q.getJob(phaseJobId(p, other));
        expect(liveJob?.opts.priority, p).to.equal(PRIORITY.live);
        expect(liveJob?.data.origin).to.equal('upstream');
        expect(backfillJob?.opts.priority, p).to.equal(7);
        expect(backfillJob?.data.backfillId).to.equal(record.id);
      }
      // A non-cascade backfill of the same table would have carried nothing down.
      const narrow = await startBackfill(rt, { processors: [rt.registry.get('nbac_team_boxscore')], dates: ['2023-11-05'], cascade: false });
      await rt.statuses.set('nbac_team_boxscore', '2023-11-05', { status: 'committed' });
      const id3 = await rt.redis.xadd(rt.keys.events(), '*', 'processor', 'nbac_team_boxscore');
      expect(await handleEvent(rt, event('2023-11-05', narrow.id), id3 as string, lookup, { debounceMs: 0, windowWaitMs: 0 })).to.equal('done');
      expect(await q.getJob(phaseJobId('team_offense_game_summary', '2023-11-05'))).to.equal(undefined);
    } finally {
      await env.cleanup();
    }
  });

  it("queues a backfill's roots in turns, a commit's worth of dates of each, so every root table's first commit is ready together", async () => {
    const env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_MAX_SLICES: '3' });
    try {
      const rt = env.rt;
      const dates = ['2023-11-01', '2023-11-02', '2023-11-03', '2023-11-04', '2023-11-05', '2023-11-06', '2023-11-07'];
      const [player, team] = ['nbac_player_boxscore', 'nbac_team_boxscore'];
      // No workers: the phase-2 queue keeps its jobs in the order they will start.
      await startBackfill(rt, { processors: [rt.registry.get(player), rt.registry.get(team)], dates });
      const queued = await rt.queues.phase(2).getJobs(['prioritized'], 0, -1, true);
      const order = queued.map((job: Job<PhaseJobData>) => `${job.data.processor === player ? 'P' : 'T'} ${job.data.slice.slice(-2)}`);
      expect(order).to.deep.equal([
        ...['P 01', 'P 02', 'P 03', 'T 01', 'T 02', 'T 03'],
        ...['P 04', 'P 05', 'P 06', 'T 04', 'T 05', 'T 06'],
        ...['P 07', 'T 07'],
      ]);
    } finally {
      await env.cleanup();
    }
  });
});
