/**
 * Issue 21, point 4: one set of caps. The first process to start table gates records the
 * shared settings (table caps and limits, batch sizes, time scale) in Redis; a worker whose
 * environment differs refuses to start naming the setting and both values, changing nothing;
 * `phasegate config show` shows the set and the difference, `phasegate config apply` replaces
 * it and the gates' caps follow.
 */
import { expect } from 'chai';
import { type Config, loadConfig } from '../src/config/load-config.ts';
import { SHARED_SETTINGS, sharedDifferences, sharedTexts } from '../src/config/shared-settings.ts';
import { SharedSettingsError } from '../src/errors/shared-settings-error.ts';
import { openRuntime } from '../src/runtime.ts';
import { openRuntimes, runCli, runtimePerTest, TEST_REDIS_URL } from './helpers.ts';

const TABLE = 'nba_raw.nbac_player_boxscores';
const OVERRIDE = `{"${TABLE}":{"concurrency":2}}`;

/** The environment of a `phasegate` child on the test runtime's pipeline, with the test runtime's shared settings. */
function cliEnv(config: Config, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: config.redisUrl,
    PHASEGATE_PREFIX: config.prefix,
    PHASEGATE_DATA_DIR: config.dataDir,
    PHASEGATE_TIME_SCALE: String(config.timeScale),
    PHASEGATE_WORKER_DOCTOR: 'false',
    PHASEGATE_LOG_LEVEL: 'error',
    ...extra,
  };
}

/** A configuration like the test runtime's (time scale 200) with `extra` on top. */
function configWith(extra: Record<string, string>): Config {
  return loadConfig({ REDIS_URL: TEST_REDIS_URL, PHASEGATE_TIME_SCALE: '200', PHASEGATE_LOG_LEVEL: 'error', PHASEGATE_WORKER_DOCTOR: 'false', ...extra });
}

describe('shared settings: one set of caps per pipeline (issue 21, point 4)', function () {
  this.timeout(60_000);

  describe('declarations', () => {
    it('shares the table caps, limits, batch sizes, gather window and time scale, and compares values, not texts', () => {
      expect(SHARED_SETTINGS.map(({ setting }) => setting.env)).to.deep.equal([
        'PHASEGATE_TIME_SCALE',
        'PHASEGATE_TABLE_CONCURRENCY',
        'PHASEGATE_TABLE_OPS_MAX',
        'PHASEGATE_TABLE_OPS_WINDOW_SECONDS',
        'PHASEGATE_TABLE_DAILY_BUDGET',
        'PHASEGATE_COMMIT_MAX_SLICES',
        'PHASEGATE_COMMIT_MAX_ROWS',
        'PHASEGATE_COMMIT_GATHER_SECONDS',
        'PHASEGATE_COMMIT_BACKLOG_GATHER_SECONDS',
        'PHASEGATE_COMMIT_UPSTREAM_GATHER_SECONDS',
        'PHASEGATE_TABLE_LIMITS',
      ]);
      const a = configWith({ PHASEGATE_TABLE_LIMITS: `{"${TABLE}":{"concurrency":2,"opsMax":3}}` });
      const b = configWith({ PHASEGATE_TIME_SCALE: '200.0', PHASEGATE_TABLE_LIMITS: `{"${TABLE}":{"opsMax":3,"concurrency":2}}` });
      expect(sharedDifferences(sharedTexts(a), sharedTexts(b))).to.deep.equal([]);
      const c = configWith({ PHASEGATE_TIME_SCALE: '100' });
      expect(sharedDifferences(sharedTexts(a), sharedTexts(c)).map((d) => [d.variable, d.recorded, d.mine])).to.deep.equal([
        ['PHASEGATE_TIME_SCALE', '200', '100'],
        ['PHASEGATE_TABLE_LIMITS', `{"${TABLE}":{"concurrency":2,"opsMax":3}}`, '{}'],
      ]);
    });
  });

  describe('on a pipeline whose gates run', () => {
    const env = runtimePerTest({ PHASEGATE_WORKER_DOCTOR: 'false' });

    beforeEach(async () => {
      // The first process to start table gates records the set.
      await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false, scheduler: false });
    });

    const recordedHash = () => env.rt.redis.hgetall(env.rt.keys.sharedSettings());

    it('the first gate records its set', async () => {
      const h = await recordedHash();
      expect(h).to.include({ PHASEGATE_TIME_SCALE: '200', PHASEGATE_TABLE_CONCURRENCY: '1', PHASEGATE_TABLE_LIMITS: '{}' });
      expect(h.recordedAt).to.match(/^\d{4}-\d\d-\d\dT/);
      expect(h.recordedBy).to.match(/ pid \d+$/);
      expect(await env.rt.queues.commit(TABLE).getGlobalConcurrency()).to.equal(1);
    });

    it('a worker with other table limits refuses to start naming the setting and both values, and changes nothing in Redis', async () => {
      const before = await recordedHash();
      // phasegate's own keys (BullMQ's running workers keep touching theirs).
      const ours = async () => (await env.rt.redis.keys(`${env.config.prefix}:pg:*`)).sort();
      const keysBefore = await ours();
      const r = await runCli(['worker', '--phases', '1,2'], cliEnv(env.config, { PHASEGATE_TABLE_LIMITS: OVERRIDE }));
      expect(r.code, r.stderr).to.equal(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.include('PHASEGATE_TABLE_LIMITS').and.include(OVERRIDE).and.include('recorded set has {}').and.include('phasegate config apply');
      expect(await recordedHash()).to.deep.equal(before);
      expect(await ours()).to.deep.equal(keysBefore);
      expect(await env.rt.queues.commit(TABLE).getGlobalConcurrency()).to.equal(1);
    });

    it('a second gate process with another time scale refuses too (in process: SharedSettingsError)', async () => {
      const config = configWith({ PHASEGATE_PREFIX: env.config.prefix, PHASEGATE_DATA_DIR: env.dir, PHASEGATE_TIME_SCALE: '50' });
      const other = await openRuntime(config, { redisExplicit: true });
      openRuntimes.set(other, 'shared-settings.test.ts other');
      try {
        const err = await other.startWorkers({ phases: [], commit: true, concurrency: 1 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(SharedSettingsError);
        expect((err as Error).message).to.match(/^PHASEGATE_TIME_SCALE: this environment has 50, the pipeline's recorded set has 200;/);
        expect(other.workers).to.have.length(0);
      } finally {
        openRuntimes.delete(other);
        await other.close();
      }
    });

    it('a worker with the same settings starts', async () => {
      // Same values in other spellings: 200.0, the default concurrency written out.
      const config = configWith({
        PHASEGATE_PREFIX: env.config.prefix,
        PHASEGATE_DATA_DIR: env.dir,
        PHASEGATE_TIME_SCALE: '200.0',
        PHASEGATE_TABLE_CONCURRENCY: '1',
      });
      const other = await openRuntime(config, { redisExplicit: true });
      openRuntimes.set(other, 'shared-settings.test.ts same');
      try {
        await other.startWorkers({ phases: [1], commit: false, concurrency: 1, tracker: false });
        expect(other.workers.length).to.be.above(0);
        expect(other.workers.every((w) => w.isRunning())).to.equal(true);
      } finally {
        openRuntimes.delete(other);
        await other.close();
      }
    });

    it('`config show` prints the recorded set and where this environment differs', async () => {
      const same = await runCli(['config', 'show'], cliEnv(env.config));
      expect(same.code, same.stderr).to.equal(0);
      expect(same.stdout).to.match(/PHASEGATE_TABLE_LIMITS +\{\}\n/);
      expect(same.stdout).to.include('this environment agrees with the recorded set');

      const r = await runCli(['config', 'show'], cliEnv(env.config, { PHASEGATE_TABLE_LIMITS: OVERRIDE }));
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^shared settings of prefix test-\w+, recorded at \S+ by .+ pid \d+:/);
      expect(r.stdout).to.match(/PHASEGATE_TIME_SCALE +200\n/);
      expect(r.stdout).to.match(/^ {2}PHASEGATE_TABLE_LIMITS +\{\} {3}≠ this environment: /m);
      expect(r.stdout).to.include(`{}   ≠ this environment: ${OVERRIDE}\n`);
      expect(r.stdout).to.include('differs in 1 setting(s)');

      const json = await runCli(['config', 'show', '--json'], cliEnv(env.config, { PHASEGATE_TABLE_LIMITS: OVERRIDE }));
      const shown = JSON.parse(json.stdout) as { recorded: { values: Record<string, string> }; differences: unknown[] };
      expect(shown.recorded.values.PHASEGATE_TABLE_LIMITS).to.equal('{}');
      expect(shown.differences).to.deep.equal([{ variable: 'PHASEGATE_TABLE_LIMITS', recorded: '{}', mine: OVERRIDE }]);
    });

    it('`config apply` records this environment and the gates follow; a worker with the old values then refuses', async () => {
      const r = await runCli(['config', 'apply'], cliEnv(env.config, { PHASEGATE_TABLE_LIMITS: OVERRIDE, PHASEGATE_TABLE_OPS_MAX: '3' }));
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include(`PHASEGATE_TABLE_LIMITS: {} → ${OVERRIDE}`).and.include('PHASEGATE_TABLE_OPS_MAX: 4 → 3');
      const h = await recordedHash();
      expect(h).to.include({ PHASEGATE_TABLE_LIMITS: OVERRIDE, PHASEGATE_TABLE_OPS_MAX: '3', PHASEGATE_TIME_SCALE: '200' });
      expect(h.recordedBy).to.match(/\(config apply\)$/);
      // BullMQ's global concurrency and rate limit of the gates, set from the applied values.
      expect(await env.rt.queues.commit(TABLE).getGlobalConcurrency()).to.equal(2);
      expect(await env.rt.queues.commit('nba_raw.nbac_team_boxscore').getGlobalConcurrency()).to.equal(1);
      // 10 s on BigQuery's clock at ×200.
      expect(await env.rt.queues.commit(TABLE).getGlobalRateLimit()).to.deep.equal({ max: 3, duration: 50 });

      const show = await runCli(['config', 'show'], cliEnv(env.config, { PHASEGATE_TABLE_LIMITS: OVERRIDE, PHASEGATE_TABLE_OPS_MAX: '3' }));
      expect(show.stdout).to.include('this environment agrees with the recorded set');
      // The environment the set was recorded from before now differs.
      const old = await runCli(['worker', '--phases', '1'], cliEnv(env.config));
      expect(old.code).to.equal(2);
      expect(old.stderr).to.include("PHASEGATE_TABLE_OPS_MAX: this environment has 4, the pipeline's recorded set has 3 (and PHASEGATE_TABLE_LIMITS)");
    });
  });
});
