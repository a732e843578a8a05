/**
 * Fetch lanes: a phase that runs many jobs at once runs them in several BullMQ workers of at
 * most FETCH_LANE_JOBS each, so a burst of jobs — the dependents a group commit unlocks, added
 * together — is taken from the queue by every lane at once, not one round trip per job by one.
 */
import type { Job } from 'bullmq';
import { expect } from 'chai';
import { trivialRegistry } from '../scripts/bench/trivial-registry.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { datesIn } from '../src/processors/precompute/lookback.ts';
import { FETCH_LANE_JOBS, phaseWorkerLanes } from '../src/queues/defaults.ts';
import { enqueueSlices } from '../src/queues/enqueue.ts';
import { type PhaseJobData, phaseQueueName } from '../src/queues/names.ts';
import { openTestRuntime, until } from './helpers.ts';

describe('fetch lanes: a phase running many jobs at once takes them in several workers', function () {
  this.timeout(60_000);

  it('splits what a phase runs at once into even workers of at most FETCH_LANE_JOBS', () => {
    const config = (env: Record<string, string> = {}) => loadConfig({ PHASEGATE_DATA_DIR: '/tmp/unused', ...env });
    expect(FETCH_LANE_JOBS).to.equal(64);
    // Phases 1–2 at the usual concurrency: one worker.
    expect(phaseWorkerLanes(config(), 2, 12)).to.deep.equal([12]);
    // Phases 3–5 run a gathered read's 256 jobs at once: four workers of 64.
    expect(phaseWorkerLanes(config(), 3, 12)).to.deep.equal([64, 64, 64, 64]);
    // Without group reads, phase 3 runs what it is given.
    expect(phaseWorkerLanes(config({ PHASEGATE_READ_GATHER_MS: '0' }), 3, 12)).to.deep.equal([12]);
    // Shares differ by at most one and add up to the whole.
    expect(phaseWorkerLanes(config(), 2, 129)).to.deep.equal([43, 43, 43]);
    expect(phaseWorkerLanes(config({ PHASEGATE_READ_BATCH_JOBS: '300' }), 4, 1)).to.deep.equal([60, 60, 60, 60, 60]);
  });

  it('a burst of phase-3 jobs is taken by more than one of its four workers, all of them run', async () => {
    // bench:overhead's trivial processors: a phase-3 job that needs nothing but its slice.
    const { registry, down } = trivialRegistry();
    const env = await openTestRuntime({}, { registry });
    try {
      const rt = env.rt;
      await rt.startWorkers({ phases: [3], commit: false, concurrency: 4, tracker: false });
      const lanes = rt.workers.filter((w) => w.name === phaseQueueName(3));
      expect(lanes.map((w) => w.concurrency)).to.deep.equal([64, 64, 64, 64]);
      // Each lane is a worker of its own on the queue, as Redis sees its connections.
      await until(async () => (await rt.queues.phase(3).getWorkersCount()) === 4, 'four phase-3 workers in Redis', 10_000);

      const takenBy = new Map<string, number>();
      for (const [i, w] of lanes.entries()) w.on('active', (job: Job<PhaseJobData>) => takenBy.set(job.data.slice, i));
      const slices = datesIn({ start: '2001-01-01', end: '2001-04-30' });
      expect(slices).to.have.length(120);
      await enqueueSlices(rt, down, slices, { targets: [], cascade: false, origin: 'upstream' });
      await until(async () => takenBy.size === slices.length, 'every job of the burst to start', 30_000);
      const lanesUsed = new Set(takenBy.values());
      expect(lanesUsed.size, 'lanes that took jobs of the burst').to.be.at.least(2);
      // Every slice ran once and staged its row (no gate runs here, so it stays staged).
      await until(async () => (await rt.statuses.getMany(down.name, slices)).every((s) => s?.status === 'staged'), 'every slice to be staged', 30_000);
    } finally {
      await env.cleanup();
    }
  });
});
