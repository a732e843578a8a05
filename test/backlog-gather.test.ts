/**
 * A phase 3–5 table's commit gathers while its phase has jobs waiting or running, and starts
 * once the phase runs dry (issue 24, point 3: downstream tables commit like the raw ones); a
 * raw table's gather adapts to its headroom, and is at least one window while its phase has
 * more jobs coming.
 */
import { expect } from 'chai';
import { tableLimits } from '../src/config/load-config.ts';
import { playerGameSummary } from '../src/processors/analytics/player-game-summary.ts';
import { nbacPlayerBoxscore } from '../src/processors/nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../src/processors/nbac/team-boxscore.ts';
import { playerRollingFeatures } from '../src/processors/precompute/player-rolling-features.ts';
import { tableId } from '../src/processors/types.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { phaseBacklog } from '../src/queues/commit/backlog-gather.ts';
import { ensureCommitJob, phaseJobFinished } from '../src/queues/commit/staging.ts';
import { commitJobId, JOB_NAMES, PHASES, TRACKER_GROUP } from '../src/queues/names.ts';
import { CASCADE_ROOTS, expectExactCascade } from './exact-cascade.ts';
import { openTestRuntime, runtimePerTest } from './helpers.ts';

describe('backlog gather of phase 3–5 tables', function () {
  this.timeout(30_000);
  // ×100: the 60 s backlog window is 600 ms, the 120 s upstream one 1,200 ms, the 2 s gather window 20 ms. No worker runs, so
  // a queued phase job stays waiting and a commit job stays where ensureCommitJob put it.
  const env = runtimePerTest({
    PHASEGATE_TIME_SCALE: '100',
    PHASEGATE_COMMIT_GATHER_SECONDS: '2',
    PHASEGATE_COMMIT_BACKLOG_GATHER_SECONDS: '60',
    PHASEGATE_COMMIT_UPSTREAM_GATHER_SECONDS: '120',
  });

  const queuePhaseJob = (phase: 2 | 3, processor: string) =>
    env.rt.queues
      .phase(phase)
      .add(processor, { processor, slice: '2024-01-02', targets: [], cascade: false, origin: 'backfill' }, { jobId: `${processor}-waiting` });

  /** A commit of `table` asked for while a job of an upstream phase still waits: the job that gathers, and the upstream one. */
  const gatheringBehind = async (table: string, phase: 2 | 3, processor: string) => {
    const seq = await env.rt.gate.currentSeq(table);
    const upstream = await queuePhaseJob(phase, processor);
    await ensureCommitJob(env.rt, table, seq, 1);
    return { job: await env.rt.queues.commit(table).getJob(commitJobId(seq)), upstream };
  };

  it('delays the commit by the backlog window while jobs of its phase wait, and starts it when the phase runs dry', async () => {
    const { rt } = env;
    const table = tableId(playerGameSummary.table);
    const seq = await rt.gate.currentSeq(table);
    const waiting = await queuePhaseJob(3, playerGameSummary.name);
    await ensureCommitJob(rt, table, seq, 1);
    const job = await rt.queues.commit(table).getJob(commitJobId(seq));
    expect(job?.opts.delay).to.equal(600);
    expect(await job?.getState()).to.equal('delayed');
    // Another staging into the same batch while the job still waits: still gathering.
    await ensureCommitJob(rt, table, seq, 2);
    expect(await job?.getState()).to.equal('delayed');
    // The phase ran dry: the next staging starts the commit.
    await waiting.remove();
    await ensureCommitJob(rt, table, seq, 3);
    expect(await job?.getState()).to.equal('waiting');
  });

  it('the last job of the phase finishing in another process starts the commit this one gathers; a hold wake-up stays', async () => {
    // A backlog window of 60 s real (6,000 s at ×100): only the run-dry check can start the
    // commit within the test. Two runtimes on one prefix are two worker processes.
    const wide = { PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_GATHER_SECONDS: '2', PHASEGATE_COMMIT_BACKLOG_GATHER_SECONDS: '6000' };
    const here = await openTestRuntime(wide);
    const there = await openTestRuntime({ ...wide, PHASEGATE_PREFIX: here.config.prefix });
    try {
      const table = tableId(playerGameSummary.table);
      const seq = await here.rt.gate.currentSeq(table);
      const waiting = await here.rt.queues
        .phase(3)
        .add(
          playerGameSummary.name,
          { processor: playerGameSummary.name, slice: '2024-01-02', targets: [], cascade: false, origin: 'backfill' },
          { jobId: 'pgs-waiting' },
        );
      await ensureCommitJob(here.rt, table, seq, 1);
      const queue = here.rt.queues.commit(table);
      const wake = await queue.add(JOB_NAMES.commit, { table }, { jobId: 'h99', delay: 60_000 });
      expect(await (await queue.getJob(commitJobId(seq)))?.getState()).to.equal('delayed');
      // The phase's last job ends in the other process, which asked for no commit itself.
      await waiting.remove();
      await phaseJobFinished(there.rt, 3);
      expect(await (await queue.getJob(commitJobId(seq)))?.getState(), 'the gathering commit').to.equal('waiting');
      expect(await wake.getState(), "held slices' wake-up").to.equal('delayed');
    } finally {
      await there.cleanup();
      await here.cleanup();
    }
  });

  it('jobs that stage together (their reads gathered): the last to finish starts the commit, not the window', async function () {
    this.timeout(120_000);
    // A backlog window of 10 minutes real: a commit that waited it out would not land in the test.
    const wide = await openTestRuntime({ PHASEGATE_TIME_SCALE: '1', PHASEGATE_COMMIT_BACKLOG_GATHER_SECONDS: '600' });
    try {
      const { rt } = wide;
      await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
      const dates = await rt.source.gameDates('2023-11-01', '2023-11-08');
      const record = await startCascadingBackfill(rt, { processors: CASCADE_ROOTS.map((p) => rt.registry.get(p)), dates, cascade: true });
      // Before: each of phase 3's jobs, staging while the others of its batch still ran, saw
      // more coming; the commits waited out the 600 s window.
      await expectExactCascade(rt, dates, await waitForCascade(rt, record, { pollMs: 200, timeoutMs: 90_000 }));
      // One statement per phase 3–5 table: the wave gathered whole, then committed.
      const commits = await rt.queues.commit(tableId(playerGameSummary.table)).getCompleted();
      expect(commits.filter((j) => (j.returnvalue as { slices?: number })?.slices).length).to.be.at.most(2);
    } finally {
      await wide.cleanup();
    }
  });

  it("gathers up to the upstream window while an upstream phase has jobs, so a wave's tail joins the next; dry everywhere, it starts", async () => {
    const { rt } = env;
    // Phase 3 has nothing left, but phase 2 still has a job: its commit will unlock more of phase 3.
    const { job, upstream } = await gatheringBehind(tableId(playerGameSummary.table), 2, nbacPlayerBoxscore.name);
    // The upstream window, 120 s at ×100.
    expect(job?.opts.delay).to.equal(1200);
    // A phase-3 job finishing while phase 2 still works leaves it gathering.
    await phaseJobFinished(rt, 3);
    expect(await job?.getState()).to.equal('delayed');
    await upstream.remove();
    await phaseJobFinished(rt, 3);
    expect(await job?.getState()).to.equal('waiting');
  });

  it('jobs that end in one turn share one run-dry check, made after that turn; one that ends once it began asks for the next', async () => {
    const { rt } = env;
    const { job, upstream } = await gatheringBehind(tableId(playerRollingFeatures.table), 3, playerGameSummary.name);
    await upstream.remove();
    const first = phaseJobFinished(rt, 3);
    // Ended in the same turn: the same check, which sees none of them running.
    expect(phaseJobFinished(rt, 3)).to.equal(first);
    // Another phase has its own.
    const other = phaseJobFinished(rt, 4);
    expect(other).to.not.equal(first);
    await new Promise((r) => setImmediate(r));
    // The check began: a job ending now is not covered by it.
    const next = phaseJobFinished(rt, 3);
    expect(next).to.not.equal(first);
    await Promise.all([first, next, other]);
    expect(await job?.getState()).to.equal('waiting');
  });

  it('a phase job finishing starts the gathers of the dry phases downstream of it too', async () => {
    const { rt } = env;
    const { job, upstream } = await gatheringBehind(tableId(playerRollingFeatures.table), 3, playerGameSummary.name);
    expect(await job?.getState()).to.equal('delayed');
    // Phase 3's last job ends; phase 4 has nothing waiting: the rolling features commit starts.
    await upstream.remove();
    await phaseJobFinished(rt, 3);
    expect(await job?.getState()).to.equal('waiting');
  });

  it("counts work upstream: a phase's jobs, an upstream table's commit, the tracker's unhandled events", async () => {
    const { rt } = env;
    expect((await phaseBacklog(rt, 4)).upstreamBusy, 'nothing anywhere').to.equal(false);
    // A raw table's gathering commit: its slices will unlock phase 3, then 4.
    const raw = await rt.queues.commit(tableId(nbacPlayerBoxscore.table)).add(JOB_NAMES.commit, { table: 'x' }, { jobId: 'c1', delay: 60_000 });
    expect((await phaseBacklog(rt, 4)).upstreamBusy, 'a raw commit waiting').to.equal(true);
    // A commit of the phase's own table is not work upstream of it.
    await raw.remove();
    await rt.queues.commit(tableId(playerRollingFeatures.table)).add(JOB_NAMES.commit, { table: 'x' }, { jobId: 'c1', delay: 60_000 });
    expect((await phaseBacklog(rt, 4)).upstreamBusy, "the phase's own table").to.equal(false);
    // A committed event no tracker has read yet, then read but not acknowledged, then acknowledged.
    const stream = rt.keys.events();
    // Another reader's group (the Pub/Sub relay's) that never reads holds nothing up.
    await rt.redis.xgroup('CREATE', stream, 'pubsub-relay', '0', 'MKSTREAM');
    await rt.redis.xgroup('CREATE', stream, TRACKER_GROUP, '0');
    const id = await rt.redis.xadd(stream, '*', 'type', 'committed');
    expect((await phaseBacklog(rt, 4)).upstreamBusy, 'an event not delivered').to.equal(true);
    await rt.redis.xreadgroup('GROUP', TRACKER_GROUP, 'test', 'COUNT', 10, 'STREAMS', stream, '>');
    expect((await phaseBacklog(rt, 4)).upstreamBusy, 'an event being handled').to.equal(true);
    await rt.redis.xack(stream, TRACKER_GROUP, id as string);
    expect((await phaseBacklog(rt, 4)).upstreamBusy, 'every event handled').to.equal(false);
  });

  it("counts the tracker's unhandled events only for the phases downstream of their processors: a phase's own commits and later ones do not hold it", async () => {
    const { rt } = env;
    const stream = rt.keys.events();
    await rt.redis.xgroup('CREATE', stream, TRACKER_GROUP, '0', 'MKSTREAM');
    const busyFor = async () => Promise.all(([3, 4, 5] as const).map(async (q) => (await phaseBacklog(rt, q)).upstreamBusy));
    // The rolling features (phase 4) committed a batch the tracker has not read: it brings
    // predictions (phase 5) work, not phase 3 or its own phase.
    const rolling = await rt.redis.xadd(stream, '*', 'type', 'committed', 'processor', playerRollingFeatures.name, 'slice', '2024-01-02');
    expect(await busyFor(), 'a phase 4 event not delivered').to.deep.equal([false, false, true]);
    // Being handled (delivered, not acknowledged): the same.
    await rt.redis.xreadgroup('GROUP', TRACKER_GROUP, 'test', 'COUNT', 10, 'STREAMS', stream, '>');
    expect(await busyFor(), 'a phase 4 event being handled').to.deep.equal([false, false, true]);
    // A raw table's event behind it holds every phase downstream of it.
    const raw = await rt.redis.xadd(stream, '*', 'type', 'committed', 'processor', nbacPlayerBoxscore.name, 'slice', '2024-01-03');
    expect(await busyFor(), 'a phase 2 event not delivered').to.deep.equal([true, true, true]);
    await rt.redis.xreadgroup('GROUP', TRACKER_GROUP, 'test', 'COUNT', 10, 'STREAMS', stream, '>');
    await rt.redis.xack(stream, TRACKER_GROUP, raw as string);
    // The raw event handled but after one still pending: it is looked at with those from the
    // oldest pending one on, which errs toward gathering.
    expect(await busyFor(), 'a phase 2 event handled after a pending one').to.deep.equal([true, true, true]);
    await rt.redis.xack(stream, TRACKER_GROUP, rolling as string);
    expect(await busyFor(), 'every event handled').to.deep.equal([false, false, false]);
    // An event naming no processor it knows may feed any phase.
    await rt.redis.xadd(stream, '*', 'type', 'committed', 'processor', 'no_such_processor');
    expect(await busyFor(), 'an event of an unknown processor').to.deep.equal([true, true, true]);
  });

  it('a raw table far from its caps commits at once when nothing more is coming, and gathers one window while its phase has jobs waiting', async () => {
    const { rt } = env;
    // A daily run's lone job: nothing else in phase 2.
    const lone = tableId(nbacTeamBoxscore.table);
    const loneSeq = await rt.gate.currentSeq(lone);
    await ensureCommitJob(rt, lone, loneSeq, 1);
    const now = await rt.queues.commit(lone).getJob(commitJobId(loneSeq));
    expect(now?.opts.delay ?? 0).to.equal(0);
    expect(await now?.getState()).to.equal('waiting');
    // A backfill's burst: more of phase 2 waits, so the first statement is not its first slice
    // alone. The window only (2 s at ×100), not the phase 3–5 backlog's 60 s.
    const table = tableId(nbacPlayerBoxscore.table);
    const seq = await rt.gate.currentSeq(table);
    await queuePhaseJob(2, nbacPlayerBoxscore.name);
    await ensureCommitJob(rt, table, seq, 1);
    const gathering = await rt.queues.commit(table).getJob(commitJobId(seq));
    expect(gathering?.opts.delay).to.equal(20);
    expect(await gathering?.getState()).to.equal('delayed');
    // A full batch starts it at once.
    await ensureCommitJob(rt, table, seq, tableLimits(rt.config, table).commitMaxSlices);
    expect(await gathering?.getState()).to.equal('waiting');
  });
});
