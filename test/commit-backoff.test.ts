/**
 * Backoff timing: conflict waits of 5, 10, 20 minutes then capped, jittered within bounds and
 * scaled by the time scale; the deferral point; busy waits (random 10–20 s for concurrent
 * updates, exponential for a full DML queue). Then on real Redis: the due times the conflict
 * path actually sets.
 */
import { expect } from 'chai';
import { loadConfig, scaledMs } from '../src/config/load-config.ts';
import { backoffMs, busyDelayMs, conflictDelaySeconds, conflictMaxRetries, conflictNominalSeconds, conflictWaitSeconds } from '../src/queues/commit/backoff.ts';
import type { TakenBatch } from '../src/queues/commit/table-gate.ts';
import { holdConflicting } from '../src/queues/conflicts/hold.ts';
import { PLAYER, PLAYER_TABLE } from './conflict-fixtures.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

const DEFAULTS = loadConfig({}).conflict;
const lowest = () => 0;
const highest = () => 0.999_999;

describe('backoff timing', () => {
  it('conflict waits default to 5, 10, 20 minutes, then stay capped at 20', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => conflictNominalSeconds(DEFAULTS, n))).to.deep.equal([300, 600, 1200, 1200, 1200, 1200]);
  });

  it('the buffer knows better: a held slice is tried right after its oldest entry is due to flush, never sooner than the poll gap', () => {
    const t = { flushPollSeconds: 60 };
    expect(conflictWaitSeconds(t, 1200, undefined)).to.equal(1200); // no buffer seen
    expect(conflictWaitSeconds(t, 300, 1700)).to.equal(300); // the backoff comes first
    expect(conflictWaitSeconds(t, 1200, 905)).to.equal(905); // the flush comes first
    expect(conflictWaitSeconds(t, 1200, 2)).to.equal(60); // due about now: look again after the poll gap
    expect(conflictWaitSeconds(t, 1200, -30)).to.equal(60);
    expect(conflictWaitSeconds(t, 1200, -600)).to.equal(1200); // long overdue: BigQuery kept the rows longer, back to the backoff
  });

  it('jitter keeps each wait within ±20 % of its nominal length, and it does vary', () => {
    for (const n of [1, 2, 3, 4]) {
      const nominal = conflictNominalSeconds(DEFAULTS, n);
      expect(conflictDelaySeconds(DEFAULTS, n, lowest)).to.be.closeTo(nominal * 0.8, 1e-6);
      expect(conflictDelaySeconds(DEFAULTS, n, highest)).to.be.closeTo(nominal * 1.2, 1e-3);
      const samples = Array.from({ length: 200 }, () => conflictDelaySeconds(DEFAULTS, n));
      for (const s of samples) expect(s).to.be.within(nominal * 0.8, nominal * 1.2);
      expect(new Set(samples.map((s) => Math.round(s))).size).to.be.greaterThan(10);
    }
  });

  it('is configurable: base, cap and jitter', () => {
    const timing = { retryBaseSeconds: 60, retryCapSeconds: 180, jitter: 0 };
    expect([1, 2, 3, 4].map((n) => conflictDelaySeconds(timing, n, Math.random))).to.deep.equal([60, 120, 180, 180]);
    const cfg = loadConfig({
      PHASEGATE_CONFLICT_RETRY_BASE_SECONDS: '60',
      PHASEGATE_CONFLICT_RETRY_CAP_SECONDS: '90',
      PHASEGATE_CONFLICT_RETRY_JITTER: '0.5',
    }).conflict;
    expect(cfg).to.include({ retryBaseSeconds: 60, retryCapSeconds: 90, jitter: 0.5 });
    expect(() => loadConfig({ PHASEGATE_CONFLICT_RETRY_JITTER: '2' })).to.throw(/PHASEGATE_CONFLICT_RETRY_JITTER/);
  });

  it('max_retries is how many nominal waits fit in the maximum wait (2 h: 5+10+20+20+20+20+20 min = 7)', () => {
    expect(conflictMaxRetries(DEFAULTS)).to.equal(7);
    expect(conflictMaxRetries({ ...DEFAULTS, maxWaitSeconds: 600 })).to.equal(1);
    expect(conflictMaxRetries({ ...DEFAULTS, maxWaitSeconds: 299 })).to.equal(0);
  });

  it('real waits are scaled by the time scale', () => {
    expect(scaledMs({ timeScale: 1 }, 300)).to.equal(300_000);
    expect(scaledMs({ timeScale: 600 }, 300)).to.equal(500);
  });

  it('busy waits: concurrent update a random 10–20 s; a full DML queue or rate limit exponential, half jittered, capped', () => {
    const config = { timeScale: 1, busy: loadConfig({}).busy };
    expect(busyDelayMs(config, 'serialize', 1, lowest)).to.equal(10_000);
    expect(busyDelayMs(config, 'serialize', 7, highest)).to.be.closeTo(20_000, 1);
    expect(busyDelayMs(config, 'dmlOutstanding', 1, highest)).to.be.closeTo(10_000, 1);
    expect(busyDelayMs(config, 'dmlOutstanding', 1, lowest)).to.equal(5_000);
    expect(busyDelayMs(config, 'rateLimit', 3, highest)).to.be.closeTo(40_000, 1);
    expect(busyDelayMs(config, 'rateLimit', 30, highest)).to.be.closeTo(300_000, 1);
    expect(busyDelayMs(config, 'rateLimit', 30, lowest)).to.equal(150_000);
    expect(backoffMs(100, 0, 1000, lowest)).to.equal(50);
  });
});

describe('backoff timing: the due times the conflict path sets', () => {
  let env: TestEnv;
  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '600' });
  });
  after(async () => env.cleanup());

  it('holds a slice ≈5, then ≈10, then ≈20 min (scaled) after its 1st, 2nd, 3rd conflict, and defers past the maximum wait', async () => {
    const slice = '2024-04-01';
    await env.rt.gate.register(PLAYER_TABLE, slice, { object: 'staging/x.ndjson', rows: 3, processor: PLAYER.name, stagedAt: new Date().toISOString() });
    let now = Date.now();
    const dues: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      const { batch } = await env.rt.gate.take(PLAYER_TABLE, `j${attempt}`, { maxSlices: 10, maxRows: 1000 }, now + 10 * 86_400_000);
      const raw = await env.rt.gate.holdInfo(PLAYER_TABLE, [slice]);
      const infos = new Map(raw[0] ? [[slice, JSON.parse(raw[0])]] : []);
      const outcome = await holdConflicting(
        env.rt,
        {
          table: PLAYER_TABLE,
          spec: PLAYER.table,
          batch: batch as TakenBatch,
          fields: [slice],
          infos,
          jobId: `j${attempt}`,
          batchId: 'b',
          error: 'buffer',
          detected: 'merge',
        },
        now,
      );
      const held = await env.rt.gate.held(PLAYER_TABLE);
      dues.push((held[0]?.dueMs ?? Number.NaN) - now);
      if (outcome.deferred.length > 0) break;
      now = held[0]?.dueMs ?? now;
    }
    // Scaled by 600: 300 s → 500 ms, ±20 %.
    expect(dues[0]).to.be.within(400, 600);
    expect(dues[1]).to.be.within(800, 1200);
    expect(dues[2]).to.be.within(1600, 2400);
    expect(dues[3]).to.be.within(1600, 2400);
    // 2 h = 12 s scaled: after 7 waits (~11.5 s nominal) the next one would pass it: deferred.
    expect(dues.at(-1)).to.equal(Number.POSITIVE_INFINITY);
    expect(dues.length).to.be.within(7, 9);
    expect((await env.rt.statuses.get(PLAYER.name, slice))?.status).to.equal('deferred');
  });
});
