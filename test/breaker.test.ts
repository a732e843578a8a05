/**
 * The circuit breaker's three states on real Redis: closed → open when more than half of
 * the last N commits within the window conflicted (never on fewer than 3); open → half-open
 * after the cool-down, letting exactly one probe through; the probe closes it (clean) or
 * re-opens it (conflict); a probe that never reports is replaced; a commit counts as
 * conflicting by the share of its slices held back, with thresholds from the configuration.
 * Then through the real commit queue: an open breaker holds retries of held slices until its
 * cool-down ends, while clean slices keep landing.
 */
import { expect } from 'chai';
import { stageRows } from '../src/queues/commit/staging.ts';
import { admitCommit, readBreaker, recordCommit, releaseProbe } from '../src/queues/conflicts/breaker.ts';
import type { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { boxRows, PLAYER, PLAYER_TABLE, Receiver } from './conflict-fixtures.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const T0 = 1_700_000_000_000;

describe('circuit breaker: closed, open, half-open', () => {
  let env: TestEnv;

  // Time scale 1: the breaker's windows are real seconds and the test drives the clock.
  before(async () => {
    env = await openTestRuntime({
      PHASEGATE_TIME_SCALE: '1',
      PHASEGATE_BREAKER_COMMITS: '4',
      PHASEGATE_BREAKER_WINDOW_SECONDS: '600',
      PHASEGATE_BREAKER_COOLDOWN_SECONDS: '1800',
      PHASEGATE_BREAKER_PROBE_TIMEOUT_SECONDS: '300',
    });
  });
  after(async () => env.cleanup());

  it('stays closed below 3 commits, trips when more than half of the last N conflict', async () => {
    const t = 'nba_raw.breaker_a';
    expect(await recordCommit(env.rt, t, 'c1', true, T0)).to.equal('none');
    expect(await recordCommit(env.rt, t, 'c2', true, T0 + 1)).to.equal('none'); // 2 of 2, but fewer than 3 commits
    expect(await readBreaker(env.rt, t, T0 + 2)).to.include({ state: 'closed', recentCommits: 2, recentConflicts: 2 });
    expect(await admitCommit(env.rt, t, 'c3', T0 + 2)).to.deep.equal({ probe: false, retries: true, state: 'closed' });
    expect(await recordCommit(env.rt, t, 'c3', false, T0 + 3)).to.equal('tripped'); // 2 of 3 > half
    const open = await readBreaker(env.rt, t, T0 + 4);
    expect(open).to.include({ state: 'open', trips: 1 });
    expect(open.since).to.equal(new Date(T0 + 3).toISOString());
    expect(open.reopensAt).to.equal(new Date(T0 + 3 + 1_800_000).toISOString());
  });

  it('half of the last N is not more than half; only the last N within the window count', async () => {
    const t = 'nba_raw.breaker_b';
    // 1 of 2, 1 of 3, 2 of 4 (half is not more than half), 2 of the last 4.
    for (const [i, c] of [false, true, false, true, false].entries()) expect(await recordCommit(env.rt, t, `c${i}`, c, T0 + i)).to.equal('none');
    expect(await readBreaker(env.rt, t, T0 + 5)).to.include({ state: 'closed', recentCommits: 4, recentConflicts: 2 });
    // Eleven minutes later the window (600 s) holds only the new ones: two conflicts are fewer than 3 commits.
    const later = T0 + 11 * 60_000;
    expect(await recordCommit(env.rt, t, 'c5', true, later)).to.equal('none');
    expect(await recordCommit(env.rt, t, 'c6', true, later + 1)).to.equal('none');
    expect(await readBreaker(env.rt, t, later + 2)).to.include({ state: 'closed', recentCommits: 2, recentConflicts: 2 });
    // A third conflict in the window trips it.
    expect(await recordCommit(env.rt, t, 'c7', true, later + 2)).to.equal('tripped');
  });

  it('open → waits for the cool-down → one probe (half-open) → re-opens on conflict → closes on a clean probe', async () => {
    const t = 'nba_raw.breaker_c';
    for (let i = 0; i < 3; i++) await recordCommit(env.rt, t, `c${i}`, true, T0 + i);
    expect((await readBreaker(env.rt, t, T0 + 3)).state).to.equal('open');
    const reopens = T0 + 2 + 1_800_000;
    // Open: every commit runs, but holds retries of held slices back until the cool-down ends.
    expect(await admitCommit(env.rt, t, 'j1', T0 + 60_000)).to.deep.equal({ probe: false, retries: false, holdUntilMs: reopens, state: 'open' });
    // Cooled down: the first job becomes the probe, the breaker half-open.
    expect(await admitCommit(env.rt, t, 'probe1', reopens)).to.deep.equal({ probe: true, retries: true, state: 'half-open' });
    expect(await readBreaker(env.rt, t, reopens)).to.include({ state: 'half-open', probeJob: 'probe1' });
    // Exactly one probe: another job holds its retries (and they look again in at most 30 s).
    const other = await admitCommit(env.rt, t, 'j2', reopens + 1);
    expect(other).to.deep.equal({ probe: false, retries: false, holdUntilMs: reopens + 1 + 30_000, state: 'half-open' });
    // The probe's re-run (after a stall) is still the probe.
    expect(await admitCommit(env.rt, t, 'probe1', reopens + 2)).to.deep.equal({ probe: true, retries: true, state: 'half-open' });
    // The probe met a conflict: open again, for another cool-down.
    expect(await recordCommit(env.rt, t, 'probe1', true, reopens + 10)).to.equal('reopened');
    expect(await readBreaker(env.rt, t, reopens + 11)).to.include({ state: 'open', trips: 2, reopensAt: new Date(reopens + 10 + 1_800_000).toISOString() });
    // Next cool-down over; a clean probe closes it and clears the history.
    const second = reopens + 10 + 1_800_000;
    expect(await admitCommit(env.rt, t, 'probe2', second)).to.deep.equal({ probe: true, retries: true, state: 'half-open' });
    expect(await recordCommit(env.rt, t, 'probe2', false, second + 5)).to.equal('closed');
    expect(await readBreaker(env.rt, t, second + 6)).to.include({ state: 'closed', recentCommits: 0, trips: 2 });
    expect(await admitCommit(env.rt, t, 'j3', second + 7)).to.deep.equal({ probe: false, retries: true, state: 'closed' });
  });

  it('a probe that never reports is replaced after the probe timeout; a probe with nothing to commit gives its slot back', async () => {
    const t = 'nba_raw.breaker_d';
    for (let i = 0; i < 3; i++) await recordCommit(env.rt, t, `c${i}`, true, T0 + i);
    const reopens = T0 + 2 + 1_800_000;
    expect(await admitCommit(env.rt, t, 'dead-probe', reopens)).to.deep.equal({ probe: true, retries: true, state: 'half-open' });
    expect((await admitCommit(env.rt, t, 'j1', reopens + 299_000)).retries).to.equal(false);
    expect(await admitCommit(env.rt, t, 'j2', reopens + 300_000)).to.deep.equal({ probe: true, retries: true, state: 'half-open' });
    // A non-probe's outcome does not move a half-open breaker.
    expect(await recordCommit(env.rt, t, 'dead-probe', true, reopens + 300_001)).to.equal('none');
    await releaseProbe(env.rt, t, 'j2');
    expect(await admitCommit(env.rt, t, 'j3', reopens + 300_002)).to.deep.equal({ probe: true, retries: true, state: 'half-open' });
  });

  it('judges a commit by the share of its slices held back: a split that landed the rest does not conflict', async () => {
    const t = 'nba_raw.breaker_e';
    // 1 of 64 held back, three times: each split landed the other 63, so no commit conflicted.
    for (let i = 0; i < 3; i++) expect(await recordCommit(env.rt, t, `c${i}`, { tried: 64, held: 1 }, T0 + i)).to.equal('none');
    expect(await readBreaker(env.rt, t, T0 + 3)).to.include({ state: 'closed', recentCommits: 3, recentConflicts: 0, recentSlices: 192, recentHeld: 3 });
    expect((await readBreaker(env.rt, t, T0 + 3)).heldShare).to.be.closeTo(3 / 192, 0.001);
    // More than half of its slices held back makes a commit conflicting (N = 4 here).
    expect(await recordCommit(env.rt, t, 'c3', { tried: 10, held: 6 }, T0 + 4)).to.equal('none'); // 1 of the last 4
    expect(await recordCommit(env.rt, t, 'c4', { tried: 10, held: 5 }, T0 + 5)).to.equal('none'); // half is not more than half: still 1 of 4
    expect(await recordCommit(env.rt, t, 'c5', { tried: 2, held: 2 }, T0 + 6)).to.equal('none'); // 2 of 4
    expect(await recordCommit(env.rt, t, 'c6', { tried: 3, held: 3 }, T0 + 7)).to.equal('tripped'); // 3 of 4
  });

  it('takes its thresholds from the configuration', async () => {
    const t = 'nba_raw.breaker_f';
    const strict = { ...env.rt, config: { ...env.rt.config, breaker: { ...env.rt.config.breaker, conflictShare: 0, tripShare: 0.25, minCommits: 2 } } };
    // Any slice held back conflicts; 1 of 1 is not judged (fewer than 2); 1 of 2 is more than a quarter.
    expect(await recordCommit(strict, t, 'c0', { tried: 64, held: 1 }, T0)).to.equal('none');
    expect(await recordCommit(strict, t, 'c1', { tried: 64, held: 0 }, T0 + 1)).to.equal('tripped');
  });
});

describe('circuit breaker: an open breaker stops retries of held slices, not the table', function () {
  this.timeout(30_000);
  let env: TestEnv;
  const receiver = new Receiver();

  before(async () => {
    const url = await receiver.start();
    // 600× faster: a 30-min cool-down (and a 30-min streaming buffer) lasts 3 s.
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '600', PHASEGATE_COMMIT_GATHER_SECONDS: '30', PHASEGATE_WEBHOOK_URL: url });
  });
  after(async () => {
    await env.cleanup();
    await receiver.stop();
  });

  it('trips after three conflicting commits (announced once); while open clean slices land and held ones wait; a clean probe closes it', async () => {
    const w = await env.rt.warehouse();
    await w.ensureTable(PLAYER.table);
    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
    // Three commits in a row meet rows another writer streamed: the third trips the breaker.
    const streamed = ['2024-03-01', '2024-03-02', '2024-03-03'];
    for (const d of streamed) {
      await (w as BigQueryRulesWarehouse).streamingInsert(PLAYER.table, boxRows(d, 2, 1));
      await stageRows(env.rt, PLAYER, d, boxRows(d, 3), undefined);
      await until(async () => ((await env.rt.statuses.get(PLAYER.name, d))?.status === 'waiting' ? true : undefined), `${d} held`);
    }
    const open = await readBreaker(env.rt, PLAYER_TABLE);
    expect(open).to.include({ state: 'open', trips: 1, recentConflicts: 3, recentSlices: 3, recentHeld: 3 });
    const reopensAt = Date.parse(open.reopensAt ?? '');
    // While open, a clean slice lands at once, under the table's normal caps.
    await stageRows(env.rt, PLAYER, '2024-03-04', boxRows('2024-03-04', 3), undefined);
    await until(async () => ((await env.rt.statuses.get(PLAYER.name, '2024-03-04'))?.status === 'committed' ? true : undefined), 'the clean slice committed');
    expect(Date.parse((await env.rt.statuses.get(PLAYER.name, '2024-03-04'))?.committedAt ?? '')).to.be.below(reopensAt);
    // The held slices are not retried before the cool-down ends, however soon their own wait ran out.
    for (const d of streamed) expect((await env.rt.statuses.get(PLAYER.name, d))?.status).to.equal('waiting');
    // After the cool-down one probe retries them; clean (the buffer flushed), it closes the breaker.
    await until(
      async () => {
        const all = await env.rt.statuses.getMany(PLAYER.name, streamed);
        return all.every((x) => x?.status === 'committed') ? true : undefined;
      },
      'every held slice committed',
      20_000,
    );
    for (const d of streamed) expect(Date.parse((await env.rt.statuses.get(PLAYER.name, d))?.committedAt ?? '')).to.be.at.least(reopensAt);
    expect((await readBreaker(env.rt, PLAYER_TABLE)).state).to.equal('closed');
    await until(async () => (receiver.bodies.length > 0 ? true : undefined), 'the trip notice');
    expect(receiver.bodies.filter((b) => /circuit breaker tripped on nba_raw\.nbac_player_boxscores/.test(b.text))).to.have.length(1);
  });
});
