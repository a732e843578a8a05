/**
 * Crash and restart, short: a week of phase 1 + 2 in a real `phasegate worker` child process,
 * SIGKILLed five times at random moments, with Redis (its own AOF server) SIGKILLed and
 * restarted once under the running worker. Every date must end committed and both tables must
 * hold exactly the fixture's rows. `npm run chaos` is the long version.
 */
import { expect } from 'chai';
import { runChaos } from '../scripts/chaos/harness.ts';
import { openTestRuntime, TEST_REDIS_URL, type TestEnv } from './helpers.ts';

describe('chaos: SIGKILLed worker and Redis, exact rows at the end', function () {
  this.timeout(150_000);

  describe('stalled jobs come back after PHASEGATE_STALLED_SECONDS', () => {
    let env: TestEnv;
    before(async () => {
      env = await openTestRuntime({ PHASEGATE_STALLED_SECONDS: '3' });
    });
    after(async () => env.cleanup());

    it('phase and commit workers take their lock duration and stalled check from it', async () => {
      // Without it a killed worker's commit job would wait BullMQ's 30 s lock plus a 30 s check.
      await env.rt.startWorkers({ phases: [1, 2], commit: true, concurrency: 1 });
      expect(env.rt.workers.length).to.be.at.least(3);
      for (const w of env.rt.workers) {
        expect(w.opts.lockDuration, w.name).to.equal(3000);
        expect(w.opts.stalledInterval, w.name).to.equal(3000);
      }
    });
  });

  it('commits every date with exact rows after ≥ 5 worker kills and one Redis restart', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      start: '2023-11-01',
      end: '2023-11-07',
      kills: 5,
      redisKillAt: 2,
      minUpSeconds: 0.5,
      maxUpSeconds: 2.5,
      stalledSeconds: 3,
      // BigQuery's own clock (2 s per MERGE, 5 table operations per 10 s) and two dates per
      // commit: a week takes long enough to be killed five times mid-work.
      timeScale: 1,
      workerEnv: { PHASEGATE_COMMIT_MAX_SLICES: '2' },
      seed: 7,
      timeoutSeconds: 130,
      log: (line) => lines.push(line),
    });
    if (!report.ok) console.log(lines.join('\n'));
    expect(report.problems).to.deep.equal([]);
    // Kill points are points of the progress: every one lands, however loaded the machine.
    expect(report.workerKills).to.equal(5);
    expect(report.killsPlanned).to.equal(5);
    expect(report.redisRestarts).to.equal(1);
    expect(report.events.filter((e) => e.what === 'worker')).to.have.length(report.workerKills);
    // The run log names every kill and what it cut short.
    expect(lines.filter((l) => /kill #\d+: .*SIGKILL worker .* in flight: /.test(l))).to.have.length(report.workerKills);
    expect(lines.some((l) => /SIGKILL redis-server/.test(l))).to.equal(true);
    expect(lines.some((l) => /all 5 kills landed, and 1 Redis restart/.test(l))).to.equal(true);
    for (const [processor, counts] of Object.entries(report.statuses)) expect(counts.committed, processor).to.equal(report.dates);
    expect(report.tables).to.have.length(2);
    for (const t of report.tables) {
      expect(t.rows, t.table).to.equal(t.expectedRows);
      expect(t.distinctKeys, t.table).to.equal(t.expectedRows);
      expect(t.duplicateRows, t.table).to.equal(0);
      expect(t.wrongDates, t.table).to.deep.equal([]);
      expect(t.expectedRows, t.table).to.be.above(0);
    }
  });

  // Issue 22, point 8: before, the harness always started its own Redis.
  it('runs against a given Redis (REDIS_URL), which it never kills, and judges by the kills that landed', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      start: '2023-11-01',
      end: '2023-11-03',
      kills: 2,
      redisKillAt: 1,
      minUpSeconds: 0.5,
      maxUpSeconds: 2,
      stalledSeconds: 3,
      timeScale: 1,
      workerEnv: { PHASEGATE_COMMIT_MAX_SLICES: '1' },
      seed: 3,
      timeoutSeconds: 100,
      redisUrl: TEST_REDIS_URL,
      log: (line) => lines.push(line),
    });
    if (!report.ok) console.log(lines.join('\n'));
    expect(report.problems).to.deep.equal([]);
    expect(report.redisRestarts).to.equal(0);
    expect(report.workerKills).to.equal(2);
    expect(lines[0]).to.match(/Redis at redis:\/\/\S+ \(given: never killed, no Redis restart\), prefix chaos-/);
    expect(lines.some((l) => /SIGKILL redis-server/.test(l))).to.equal(false);
    for (const t of report.tables) expect(t.rows, t.table).to.equal(t.expectedRows);
  });
});
