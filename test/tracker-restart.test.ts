/**
 * The tracker stops mid-stream and another takes over: no downstream work is lost and none
 * is duplicated. Once by closing it and restarting under the same consumer name, once by
 * SIGKILL of a tracker in a child process, whose unacknowledged events a tracker with another
 * name claims after they sat idle.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { expect } from 'chai';
import { PROCESSORS, Registry } from '../src/processors/registry.ts';
import type { ProcessorContext, ProcessorDef } from '../src/processors/types.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { type DependencyTracker, startDependencyTracker } from '../src/queues/events/dependency-tracker.ts';
import { PHASES } from '../src/queues/names.ts';
import type { Runtime } from '../src/runtime.ts';
import { childEnv, openTestRuntime, TEST_REDIS_URL, type TestEnv, until } from './helpers.ts';

const START = '2023-11-01';
const END = '2023-11-14';
const ROOTS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
const DOWNSTREAM = ['player_game_summary', 'team_offense_game_summary', 'team_defense_game_summary', 'player_rolling_features', 'player_points_predictions'];
const ENV = {
  PHASEGATE_TIME_SCALE: '100',
  PHASEGATE_COMMIT_GATHER_SECONDS: '30',
  PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS: '100000',
  // 50 s of pipeline time at ×100: a dead consumer's events are claimed after 0.5 s.
  PHASEGATE_TRACKER_CLAIM_IDLE_SECONDS: '50',
};

function countingRegistry(): { registry: Registry; runs: Map<string, number> } {
  const runs = new Map<string, number>();
  const defs = PROCESSORS.map(
    (def): ProcessorDef =>
      def.kind !== 'transform'
        ? def
        : {
            ...def,
            run: async (ctx: ProcessorContext) => {
              runs.set(`${def.name}/${ctx.slice}`, (runs.get(`${def.name}/${ctx.slice}`) ?? 0) + 1);
              return def.run(ctx);
            },
          },
  );
  return { registry: new Registry(defs), runs };
}

async function committed(rt: Runtime, processor: string, dates: string[]): Promise<number> {
  return (await rt.statuses.getMany(processor, dates)).filter((s) => s?.status === 'committed').length;
}

/** Mid-stream: the tracker has unlocked some analytics, and predictions are not all in. */
async function midStream(rt: Runtime, dates: string[]): Promise<void> {
  await until(
    async () => (await committed(rt, 'player_game_summary', dates)) > 0 && (await committed(rt, 'player_points_predictions', dates)) < dates.length,
    'phase 3 to start landing',
    60_000,
    20,
  );
}

async function expectAllOnce(rt: Runtime, runs: Map<string, number>, dates: string[]): Promise<void> {
  for (const p of DOWNSTREAM) {
    expect(await committed(rt, p, dates), `${p} committed`).to.equal(dates.length);
    for (const d of dates) expect(runs.get(`${p}/${d}`) ?? 0, `${p} ${d} runs`).to.equal(1);
  }
  const w = await rt.warehouse();
  const [pgs] = await w.query('SELECT count(*) AS n FROM nba_analytics.player_game_summary');
  const [raw] = await w.query('SELECT count(*) AS n FROM nba_raw.nbac_player_boxscores WHERE seconds_played > 0');
  const [pred] = await w.query('SELECT count(*) AS n FROM nba_predictions.player_points_predictions');
  expect(Number(pgs?.n)).to.equal(Number(raw?.n));
  expect(Number(pred?.n)).to.equal(Number(raw?.n));
}

describe('dependency tracker: stopped mid-stream, restarted', function () {
  this.timeout(240_000);

  it('closed and restarted under the same name: resumes its pending events, loses none, duplicates none', async () => {
    const { registry, runs } = countingRegistry();
    const env: TestEnv = await openTestRuntime(ENV, { registry });
    let tracker: DependencyTracker | undefined;
    try {
      const rt = env.rt;
      const dates = await rt.source.gameDates(START, END);
      await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 4, tracker: false });
      tracker = await startDependencyTracker(rt, { consumer: 'tracker-a' });
      const record = await startCascadingBackfill(rt, { processors: ROOTS.map((p) => rt.registry.get(p)), dates, cascade: true });
      await midStream(rt, dates);
      await tracker.close();
      const acked = tracker.stats().acked;
      expect(acked).to.be.above(0);
      // Events keep arriving while no tracker runs: phase 3 commits already under way.
      await new Promise((r) => setTimeout(r, 500));
      tracker = await startDependencyTracker(rt, { consumer: 'tracker-a' });
      const progress = await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 180_000 });
      expect(progress.done).to.equal(true);
      await expectAllOnce(rt, runs, dates);
    } finally {
      await tracker?.close();
      await env.cleanup();
    }
  });

  it('killed (SIGKILL) in another process: a tracker with another name claims its events; none lost, none duplicated', async () => {
    const { registry, runs } = countingRegistry();
    const env: TestEnv = await openTestRuntime(ENV, { registry });
    let child: ChildProcess | undefined;
    let rescuer: DependencyTracker | undefined;
    try {
      const rt = env.rt;
      const dates = await rt.source.gameDates(START, END);
      await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 4, tracker: false });
      // The victim: nothing but a tracker, in its own process, on the same Redis prefix.
      const code = [
        "import { loadConfig } from './src/config/load-config.ts';",
        "import { openRuntime } from './src/runtime.ts';",
        "import { startDependencyTracker } from './src/queues/events/dependency-tracker.ts';",
        'const rt = await openRuntime(loadConfig(process.env), { redisExplicit: true });',
        "await startDependencyTracker(rt, { consumer: 'victim' });",
        "process.stdout.write('ready\\n');",
        'setInterval(() => {}, 1 << 30);',
      ].join('\n');
      child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        env: childEnv({
          ...ENV,
          REDIS_URL: TEST_REDIS_URL,
          PHASEGATE_PREFIX: env.config.prefix,
          PHASEGATE_DATA_DIR: env.dir,
          PHASEGATE_LOG_LEVEL: 'error',
        }),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const victim = child;
      await new Promise<void>((resolve, reject) => {
        victim.stdout?.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
        victim.on('exit', (code) => reject(new Error(`tracker process exited early (${code})`)));
      });

      const record = await startCascadingBackfill(rt, { processors: ROOTS.map((p) => rt.registry.get(p)), dates, cascade: true });
      await midStream(rt, dates);
      // Kill it while it holds delivered, unacknowledged events: the case a restart must cover.
      const holding = async () => Number(((await rt.redis.xpending(rt.keys.events(), 'dependency-tracker')) as unknown[])[0]) > 0;
      // Frozen first (SIGSTOP), and killed only once frozen while holding some: the tracker
      // acknowledges a commit's events within milliseconds, faster than a poll can catch.
      await until(
        async () => {
          victim.kill('SIGSTOP');
          if (await holding()) return true;
          victim.kill('SIGCONT');
          return false;
        },
        'the victim to hold unacknowledged events',
        60_000,
        1,
      );
      victim.kill('SIGKILL');
      await new Promise((r) => victim.once('exit', r));
      const pendingAtKill = (await rt.redis.xpending(rt.keys.events(), 'dependency-tracker')) as unknown[];

      rescuer = await startDependencyTracker(rt, { consumer: 'rescuer' });
      const progress = await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 180_000 });
      expect(progress.done, JSON.stringify(progress.perPhase)).to.equal(true);
      await expectAllOnce(rt, runs, dates);
      // Whatever the victim held was claimed and acknowledged by the rescuer.
      expect(Number(pendingAtKill[0])).to.be.above(0);
      const after = (await rt.redis.xpending(rt.keys.events(), 'dependency-tracker')) as unknown[];
      expect(Number(after[0])).to.equal(0);
    } finally {
      child?.kill('SIGKILL');
      await rescuer?.close();
      await env.cleanup();
    }
  });
});
