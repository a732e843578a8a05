/**
 * Schedules as BullMQ job schedulers in the real Redis: `phasegate schedule set` twice keeps
 * one scheduler, a schedule outlives the worker that ran it, and the daily live run enqueues
 * yesterday's primary scrapers at live priority, cascaded.
 */
import { expect } from 'chai';
import type { Config } from '../src/config/load-config.ts';
import { PHASES, PRIORITY, phaseJobId, SCHEDULER_JOBS } from '../src/queues/names.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { runDailyLive, yesterday } from '../src/schedules/daily-live.ts';
import { listSchedules, removeSchedule, setSchedule } from '../src/schedules/store.ts';
import { openRuntimes, runCli, runtimePerTest, until } from './helpers.ts';

function cliEnv(config: Config): Record<string, string> {
  return { REDIS_URL: config.redisUrl, PHASEGATE_PREFIX: config.prefix, PHASEGATE_DATA_DIR: config.dataDir, PHASEGATE_LOG_LEVEL: 'error' };
}

/** A second runtime on the same prefix and folder: what a restarted worker process opens. */
async function reopen(config: Config): Promise<Runtime> {
  const rt = await openRuntime(config, { redisExplicit: true });
  openRuntimes.set(rt, 'schedules.test.ts reopen');
  return rt;
}

async function closeRuntime(rt: Runtime): Promise<void> {
  openRuntimes.delete(rt);
  await rt.close();
}

describe('schedules (BullMQ job schedulers)', function () {
  this.timeout(60_000);
  const env = runtimePerTest();

  it('a second `schedule set` of the same name updates the one scheduler instead of adding another', async () => {
    const first = await runCli(['schedule', 'set', 'daily-audit', '--cron', '0 9 * * *', '--tz', 'America/New_York', '--json'], cliEnv(env.config));
    expect(first.code, first.stderr).to.equal(0);
    expect(JSON.parse(first.stdout)).to.include({ name: 'daily-audit', registered: true, cron: '0 9 * * *', tz: 'America/New_York' });
    const second = await runCli(['schedule', 'set', 'daily-audit', '--cron', '30 10 * * *', '--tz', 'America/New_York'], cliEnv(env.config));
    expect(second.code, second.stderr).to.equal(0);
    const queue = env.rt.queues.scheduler();
    expect(await queue.getJobSchedulersCount()).to.equal(1);
    const [scheduler] = await queue.getJobSchedulers();
    expect(scheduler).to.include({ key: 'daily-audit', pattern: '30 10 * * *', tz: 'America/New_York' });
    // One scheduler, one job waiting for its next tick.
    const delayed = await queue.getDelayed();
    expect(delayed.map((j) => j.name)).to.deep.equal([SCHEDULER_JOBS.dailyAudit]);
    const list = await runCli(['schedule', 'list', '--json'], cliEnv(env.config));
    const views = JSON.parse(list.stdout) as { name: string; registered: boolean }[];
    expect(views.map((v) => [v.name, v.registered])).to.deep.equal([
      ['daily-live', false],
      ['daily-audit', true],
    ]);
  });

  it('refuses an unknown schedule, a bad cron pattern and an unknown time zone (exit 2), writing nothing', async () => {
    for (const args of [
      ['schedule', 'set', 'hourly-everything', '--cron', '0 * * * *'],
      ['schedule', 'set', 'daily-live', '--cron', 'every day please'],
      ['schedule', 'set', 'daily-live', '--cron', '0 6 * * *', '--tz', 'Mars/Olympus_Mons'],
    ]) {
      const run = await runCli(args, cliEnv(env.config));
      expect(run.code, `${args.join(' ')}: ${run.stdout}`).to.equal(2);
      expect(run.stderr.trim().split('\n')).to.have.length(1);
    }
    expect(await env.rt.queues.scheduler().getJobSchedulersCount()).to.equal(0);
  });

  it('a schedule lives in Redis: it keeps producing jobs after its worker restarts, and remove stops it', async () => {
    // Every second (a leading seconds field), so the test sees ticks on both sides of the restart.
    await setSchedule(env.rt, 'daily-live', { cron: '* * * * * *' });
    const queue = env.rt.queues.scheduler();
    const completed = async () => (await queue.getJobCounts('completed')).completed ?? 0;
    await env.rt.startWorkers({ phases: [], commit: false, concurrency: 1, tracker: false, scheduler: true });
    await until(async () => (await completed()) >= 1, 'a daily-live job run by the first worker', 20_000);
    const [done] = await queue.getCompleted();
    expect(done?.name).to.equal(SCHEDULER_JOBS.dailyLive);
    // The fixture knows no games for yesterday's real date: nothing to enqueue, and it says so.
    expect(done?.returnvalue).to.include({ date: yesterday(new Date(done?.timestamp ?? Date.now())), games: 0, added: 0 });

    // The worker's process goes away; the scheduler stays in Redis.
    await closeRuntime(env.rt);
    const rt = await reopen(env.config);
    try {
      const q = rt.queues.scheduler();
      expect(await q.getJobSchedulersCount()).to.equal(1);
      const before = (await q.getJobCounts('completed')).completed ?? 0;
      await rt.startWorkers({ phases: [], commit: false, concurrency: 1, tracker: false, scheduler: true });
      await until(async () => ((await q.getJobCounts('completed')).completed ?? 0) > before, 'a daily-live job run by the restarted worker', 20_000);
      expect((await listSchedules(rt)).find((s) => s.name === 'daily-live')).to.include({ registered: true, cron: '* * * * * *' });
      expect(await q.getJobSchedulersCount()).to.equal(1);

      expect(await removeSchedule(rt, 'daily-live')).to.equal(true);
      expect(await q.getJobSchedulersCount()).to.equal(0);
      expect(await removeSchedule(rt, 'daily-live')).to.equal(false);
    } finally {
      await closeRuntime(rt);
    }
  });

  it('a daily-audit tick runs the audit in two jobs on the worker holding the warehouse, and leaves its snapshot', async () => {
    await setSchedule(env.rt, 'daily-audit', { cron: '* * * * * *', tz: 'America/New_York' });
    await env.rt.startWorkers({ phases: PHASES, commit: true, concurrency: 1 });
    const queue = env.rt.queues.scheduler();
    const finished = await until(
      async () => (await queue.getCompleted()).find((j) => j.name === SCHEDULER_JOBS.auditFinish),
      'an audit-finish job run by the worker',
      30_000,
    );
    // The fixture knows no games in the real last 7 days: an empty window, judged at once.
    expect(finished.returnvalue).to.include({ dates: 0, logged: 0 });
    expect(finished.returnvalue.critical).to.deep.equal([]);
    expect(finished.returnvalue.runId).to.match(/^daily-audit-\d{4}-\d{2}-\d{2}-/);
    expect(await env.rt.redis.hget(env.rt.keys.coverageRun(), 'json')).to.include(finished.returnvalue.runId);
    await removeSchedule(env.rt, 'daily-audit');
  });

  it("the daily live run enqueues the date's primary scrapers at live priority, cascaded; the fallback scraper is the audit's", async () => {
    const result = await runDailyLive(env.rt, { date: '2024-01-10' });
    expect(result.games).to.be.greaterThan(0);
    expect(result.scrapers).to.deep.equal(['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper']);
    for (const scraper of result.scrapers) {
      const job = await env.rt.queues.phase(1).getJob(phaseJobId(scraper, '2024-01-10'));
      expect(job?.opts.priority, scraper).to.equal(PRIORITY.live);
      expect(job?.data).to.include({ cascade: true, origin: 'live', slice: '2024-01-10' });
      expect(job?.data.backfillId).to.equal(undefined);
    }
    const bdl = env.rt.registry.get('bdl_player_boxscore_scraper');
    expect(await env.rt.queues.of(bdl).getJob(phaseJobId(bdl.name, '2024-01-10'))).to.equal(undefined);
    // Yesterday in the schedule's time zone, not the machine's.
    expect(yesterday(new Date('2025-04-16T03:00:00Z'), 'America/Los_Angeles')).to.equal('2025-04-14');
    expect(yesterday(new Date('2025-04-16T03:00:00Z'))).to.equal('2025-04-15');
  });
});
