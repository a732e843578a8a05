/**
 * "Why does this wait?": the tables page and the grid's tooltips name the reason and the time
 * — breaker open until T, rate window full until T, gathering until T (the commit job's delay),
 * streaming buffer until T (a held slice), busy retry at T — each set up the way the commit
 * path sets it up (the gate's hold, a delayed commit job, the queue's limiter, a commit job
 * put back to sleep after it ran). A gate at its concurrency cap is not an error: no red at 1/1.
 */
import { DelayedError, type Job, Worker } from 'bullmq';
import { expect } from 'chai';
import { tableLimits } from '../src/config/load-config.ts';
import { when } from '../src/dashboard/html/format.ts';
import { type RunningDashboard, startDashboard } from '../src/dashboard/start-dashboard.ts';
import type { BackfillRecord } from '../src/queues/backfill/backfill.ts';
import { ensureCommitJob } from '../src/queues/commit/staging.ts';
import type { PendingSlice } from '../src/queues/commit/table-gate.ts';
import { waitingText } from '../src/queues/conflicts/hold.ts';
import { commitQueueName } from '../src/queues/names.ts';
import { openBreaker, openTestRuntime, type TestEnv, until } from './helpers.ts';

const TOKEN = 'waits-token-0123456789';
const BEARER = { authorization: `Bearer ${TOKEN}` };
const TRANSFORM = 'nbac_player_boxscore';
const TABLE = 'nba_raw.nbac_player_boxscores';
const [HELD, STAGED, BUSY] = ['2023-11-01', '2023-11-02', '2023-11-03'] as const;
const MINUTE = 60_000;

function decode(s: string): string {
  return s
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function cell(body: string, date: string): { why: string[]; title: string } {
  const row = new RegExp(`<tr data-p="${TRANSFORM}">[\\s\\S]*?</tr>`).exec(body)?.[0] ?? '';
  const attrs = new RegExp(`<td class="s-[a-z]+" data-d="${date}"([^>]*)>`).exec(row)?.[1] ?? '';
  return { why: (/data-why="([^"]*)"/.exec(attrs)?.[1] ?? '').split(' ').filter(Boolean), title: decode(/title="([^"]*)"/.exec(attrs)?.[1] ?? '') };
}

describe('dashboard: why something waits, and until when', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let d: RunningDashboard;
  let worker: Worker | undefined;
  let release: () => void = () => undefined;
  // Taken when the hook runs, not when mocha loads the file: in the whole suite that is minutes
  // earlier, and a busy job "sleeping until" a moment already past never sleeps.
  let now = 0;
  let heldDue = 0;
  let busyAt = '';
  let reopensAt = '';
  let gatherUntil = 0;

  before(async () => {
    now = Date.now();
    heldDue = now + 7 * MINUTE;
    busyAt = new Date(now + 3 * MINUTE).toISOString();
    reopensAt = new Date(now + 5 * MINUTE).toISOString();
    // Real time (no scale), and a gather window long enough to be seen.
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '1', PHASEGATE_COMMIT_GATHER_SECONDS: '600' });
    const rt = env.rt;
    await rt.queues.applyTableCaps(TABLE);
    const record: BackfillRecord = {
      id: 'bf-20231101-000000-wait',
      createdAt: new Date().toISOString(),
      processors: [TRANSFORM],
      dates: [HELD, STAGED, BUSY],
      priority: 10,
      cascade: false,
    };
    await rt.redis.hset(rt.keys.backfill(record.id), { definition: JSON.stringify(record) });
    await rt.redis.zadd(rt.keys.backfills(), Date.now(), record.id);
    const entry = (slice: string): PendingSlice => ({
      object: `staging/${TABLE}/${slice}/x.ndjson`,
      rows: 10,
      processor: TRANSFORM,
      stagedAt: new Date().toISOString(),
      backfillId: record.id,
    });

    // HELD: staged, taken by a commit, held back by the streaming buffer until heldDue.
    await rt.gate.register(TABLE, HELD, entry(HELD));
    const { batch } = await rt.gate.take(TABLE, 'c-test-held', { maxSlices: 10, maxRows: 1_000_000 });
    if (!batch) throw new Error('nothing taken');
    const { batch: rest } = await rt.gate.hold(TABLE, batch, [
      { field: HELD, dueMs: heldDue, info: JSON.stringify({ conflictId: 'cf-test', processor: TRANSFORM, attempts: 1 }) },
    ]);
    await rt.gate.release(TABLE, rest);
    await rt.statuses.set(TRANSFORM, HELD, {
      status: 'waiting',
      error: waitingText(new Date(heldDue).toISOString()),
      nextTryAt: new Date(heldDue).toISOString(),
      backfillId: record.id,
    });

    // BUSY: its commit met a busy table and went back to sleep after it ran (as failOrDelay does);
    // another commit is running at the cap (1) meanwhile.
    await rt.statuses.set(TRANSFORM, BUSY, {
      status: 'waiting',
      error: 'waiting: table busy (dmlOutstanding): Too many DML statements outstanding',
      nextTryAt: busyAt,
      backfillId: record.id,
    });
    const running = new Promise<void>((resolve) => {
      release = resolve;
    });
    worker = new Worker(
      commitQueueName(TABLE),
      async (job: Job, token?: string) => {
        if (job.name === 'busy') {
          await job.moveToDelayed(Date.parse(busyAt), token);
          throw new DelayedError();
        }
        await running;
      },
      { connection: rt.redis, prefix: rt.config.prefix, concurrency: 2 },
    );
    const q = rt.queues.commit(TABLE);
    await q.add('busy', { table: TABLE }, { jobId: 'test-busy' });
    await until(async () => (await q.getJobState('test-busy')) === 'delayed' && (await q.getJob('test-busy'))?.processedOn, 'the busy job to sleep');
    await q.add('running', { table: TABLE }, { jobId: 'test-running' });
    await until(async () => (await q.getJobState('test-running')) === 'active', 'a commit at the cap');
    // The gate's window of table operations is used up for the next minute.
    await q.rateLimit(MINUTE);

    // STAGED: waits for the table's next commit, which gathers a full window (600 s): the
    // table is at its rate limit (ensureCommitJob's adaptive gather).
    const reg = await rt.gate.register(TABLE, STAGED, entry(STAGED));
    await ensureCommitJob(rt, TABLE, reg.seq, reg.pending);
    const gathering = (await rt.queues.commit(TABLE).getDelayed()).find((j) => j.id === `c${reg.seq}`);
    gatherUntil = (gathering?.timestamp ?? 0) + (gathering?.delay ?? 0);
    expect(gatherUntil).to.be.greaterThan(now + 9 * MINUTE);
    await rt.statuses.set(TRANSFORM, STAGED, { status: 'staged', rows: 10, backfillId: record.id });

    // The table's breaker is open (its Redis state, as breaker.test.ts's conflicting commits leave it).
    await openBreaker(rt, TABLE, { since: now - MINUTE, reopensAt: Date.parse(reopensAt) });
    d = await startDashboard(rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, refreshSeconds: 0 });
  });

  after(async () => {
    release();
    await worker?.close();
    await d?.close();
    await env?.cleanup();
  });

  it('the tables page names each reason with its time', async () => {
    const body = await (await fetch(`${d.url}/tables`, { headers: BEARER })).text();
    const row = (kind: string) => decode(new RegExp(`<tr data-table="${TABLE}" data-wait="${kind}">([\\s\\S]*?)</tr>`).exec(body)?.[1] ?? '');
    expect(row('breaker-open')).to.include(`breaker open until ${when(reopensAt)}`);
    expect(row('streaming-buffer'))
      .to.include(`streaming buffer until ${when(heldDue)}`)
      .and.include('1 date(s) held back');
    expect(row('gathering')).to.include(`gathering until ${when(gatherUntil)}`);
    expect(row('busy-retry'))
      .to.include(`busy retry at ${when(busyAt)}`)
      .and.include('1 date(s)');
    const rate = /rate window full until (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)/.exec(row('rate-window'))?.[1];
    expect(Date.parse((rate ?? '').replace(' ', 'T'))).to.be.within(now, Date.now() + MINUTE + 1000);
    // Other tables wait for nothing.
    expect(body.match(/data-wait="/g)).to.have.length(5);
  });

  it('a gate at its concurrency cap is drawn as a full bar, not an alarm', async () => {
    const body = await (await fetch(`${d.url}/tables`, { headers: BEARER })).text();
    const inFlight = new RegExp(`<tr data-table="${TABLE}">[\\s\\S]*?<td data-k="in-flight"[^>]*>([\\s\\S]*?)</td>`).exec(body)?.[1] ?? '';
    expect(tableLimits(env.rt.config, TABLE).concurrency).to.equal(1);
    expect(inFlight).to.include('<meter min="0" max="1" value="1"></meter> 1 / 1');
    expect(inFlight).to.not.match(/high=|low=|optimum=/);
    expect(inFlight).to.include('at the cap: the next commit starts when one lands');
    // The daily budget still warns as it nears its end.
    const today = new RegExp(`<tr data-table="${TABLE}">[\\s\\S]*?<td data-k="ops-today"[^>]*>([\\s\\S]*?)</td>`).exec(body)?.[1] ?? '';
    expect(today).to.match(/high="/);
  });

  it("the grid's tooltips say why a slice waits and until when", async () => {
    const body = await (await fetch(`${d.url}/backfills/bf-20231101-000000-wait`, { headers: BEARER })).text();
    const held = cell(body, HELD);
    expect(held.why).to.include('streaming-buffer');
    expect(held.title).to.include(`waits: streaming buffer until ${when(heldDue)}`);
    // An open breaker holds back the retries of held slices, not the table (breaker.ts).
    expect(held.why).to.include('breaker-open');
    expect(held.title).to.include(`waits: breaker open until ${when(reopensAt)}`);
    const staged = cell(body, STAGED);
    expect(staged.why).to.include.members(['gathering', 'rate-window']);
    expect(staged.why).to.not.include('breaker-open');
    expect(staged.title).to.include(`waits: gathering until ${when(gatherUntil)}`);
    const busy = cell(body, BUSY);
    expect(busy.why).to.include('busy-retry');
    expect(busy.why).to.not.include('streaming-buffer');
    expect(busy.title).to.include(`waits: busy retry at ${when(busyAt)}`);
  });
});
