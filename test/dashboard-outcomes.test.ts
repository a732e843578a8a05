/**
 * A backfill's page shows that backfill's own outcome: statuses written for a backfill are
 * also kept in its own (expiring) hash, so a later backfill of the same slices marks them
 * "re-run by …" instead of rewriting the earlier grid and its failed count; a cascade's
 * phases 3–5 have rows in the grid, and it reads "finished" only when they are done too.
 * Statuses are written through the status store exactly as the workers write them.
 */
import { expect } from 'chai';
import { type RunningDashboard, startDashboard } from '../src/dashboard/start-dashboard.ts';
import type { BackfillRecord } from '../src/queues/backfill/backfill.ts';
import { cascadeProcessors } from '../src/queues/backfill/cascade.ts';
import { STATUS_STORE_DEFAULTS } from '../src/queues/status-store.ts';
import { openTestRuntime, runCli, TEST_REDIS_URL, type TestEnv } from './helpers.ts';

const TOKEN = 'outcomes-token-0123456789';
const BEARER = { authorization: `Bearer ${TOKEN}` };
const SCRAPER = 'nbac_player_boxscore_scraper';
const TRANSFORM = 'nbac_player_boxscore';
const DATES = ['2023-11-01', '2023-11-02', '2023-11-03'];

async function addRecord(env: TestEnv, record: BackfillRecord, at: number): Promise<void> {
  await env.rt.redis
    .multi()
    .hset(env.rt.keys.backfill(record.id), { definition: JSON.stringify(record) })
    .zadd(env.rt.keys.backfills(), at, record.id)
    .exec();
}

function recordOf(id: string, processors: string[], cascade = false): BackfillRecord {
  return { id, createdAt: new Date().toISOString(), processors, dates: DATES, priority: 10, cascade };
}

async function get(d: RunningDashboard, path: string): Promise<string> {
  const res = await fetch(d.url + path, { headers: BEARER });
  expect(res.status, path).to.equal(200);
  return res.text();
}

/** The cell of one processor and date: its attributes and its decoded tooltip. */
function cell(body: string, processor: string, date: string): { cls: string; rerun: string | undefined; title: string } {
  const rows = body.match(new RegExp(`<tr data-p="${processor}">[\\s\\S]*?</tr>`, 'g')) ?? [];
  const td = new RegExp(`<td class="s-([a-z]+)" data-d="${date}"([^>]*)>`).exec(rows.join(''));
  if (!td) throw new Error(`no cell ${processor} ${date}`);
  const attrs = td[2] ?? '';
  const title = (/title="([^"]*)"/.exec(attrs)?.[1] ?? '')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return { cls: td[1] ?? '', rerun: /data-rerun="([^"]*)"/.exec(attrs)?.[1], title };
}

function count(body: string, key: string): number {
  return Number(new RegExp(`data-count="${key}">([0-9,]+)<`).exec(body)?.[1]?.replace(/,/g, '') ?? Number.NaN);
}

describe('dashboard: a backfill shows its own outcome', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let d: RunningDashboard;

  beforeEach(async () => {
    env = await openTestRuntime();
    d = await startDashboard(env.rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, refreshSeconds: 0 });
  });
  afterEach(async () => {
    await d?.close();
    await env?.cleanup();
  });

  it('the status store keeps what each backfill wrote, in a hash of its own that expires', async () => {
    const s = env.rt.statuses;
    await s.set(TRANSFORM, DATES[0] as string, { status: 'failed', error: 'boom', backfillId: 'bf-a' });
    await s.setMany(TRANSFORM, DATES, { status: 'pending', backfillId: 'bf-b' });
    await s.update(TRANSFORM, DATES[0] as string, { status: 'committed', rows: 5 });
    await s.set(SCRAPER, DATES[0] as string, { status: 'committed' });

    expect((await s.get(TRANSFORM, DATES[0] as string))?.status).to.equal('committed');
    const [a] = await s.ofBackfill('bf-a', TRANSFORM, [DATES[0] as string]);
    expect(a).to.include({ status: 'failed', error: 'boom', backfillId: 'bf-a' });
    // update() keeps the backfill of the status it merges into: the write lands in bf-b's own hash.
    expect((await s.ofBackfill('bf-b', TRANSFORM, DATES)).map((x) => x?.status)).to.deep.equal(['committed', 'pending', 'pending']);
    // A status of no backfill has no own copy anywhere.
    expect(await env.rt.redis.hlen(env.rt.keys.backfillStatuses('bf-a'))).to.equal(1);
    expect(await env.rt.redis.hlen(env.rt.keys.backfillStatuses('bf-b'))).to.equal(3);
    for (const id of ['bf-a', 'bf-b']) {
      const ttl = await env.rt.redis.ttl(env.rt.keys.backfillStatuses(id));
      expect(ttl, id).to.be.within(STATUS_STORE_DEFAULTS.backfillOutcomeTtlSeconds - 60, STATUS_STORE_DEFAULTS.backfillOutcomeTtlSeconds);
    }
    expect(await s.keepsBackfill('bf-a')).to.equal(true);
    expect(await s.keepsBackfill('bf-never')).to.equal(false);
  });

  it('a later backfill of the same slices does not rewrite an earlier grid or its failed count; the slices read "re-run by"', async () => {
    const a = recordOf('bf-20231101-000000-aaaa', [SCRAPER, TRANSFORM]);
    const b = recordOf('bf-20231102-000000-bbbb', [SCRAPER, TRANSFORM]);
    await addRecord(env, a, 1);
    // Backfill A: the scraper lands every date; the transform commits one, fails one, and is
    // still staged for the third when backfill B comes along.
    await env.rt.statuses.setMany(SCRAPER, DATES, { status: 'committed', rows: 11, backfillId: a.id });
    await env.rt.statuses.set(TRANSFORM, DATES[0] as string, { status: 'committed', rows: 240, backfillId: a.id });
    await env.rt.statuses.set(TRANSFORM, DATES[1] as string, { status: 'failed', error: 'bad.json: Unexpected token', attempts: 1, backfillId: a.id });
    await env.rt.statuses.set(TRANSFORM, DATES[2] as string, { status: 'staged', rows: 200, backfillId: a.id });
    const before = await get(d, `/backfills/${a.id}`);
    expect(count(before, `${TRANSFORM}:failed`)).to.equal(1);
    expect(before).to.include('Retry failed (1)');

    // Backfill B re-runs everything, and everything lands.
    await addRecord(env, b, 2);
    for (const p of [SCRAPER, TRANSFORM]) {
      await env.rt.statuses.setMany(p, DATES, { status: 'pending', backfillId: b.id });
      for (const date of DATES) await env.rt.statuses.update(p, date, { status: 'committed', rows: 240, error: undefined });
    }

    const page = await get(d, `/backfills/${a.id}`);
    // A's own outcome: the failure stays A's, and stays counted.
    expect(count(page, `${TRANSFORM}:failed`)).to.equal(1);
    expect(count(page, `${TRANSFORM}:committed`)).to.equal(2);
    expect(count(page, `${SCRAPER}:committed`)).to.equal(3);
    const failed = cell(page, TRANSFORM, DATES[1] as string);
    expect(failed.cls).to.equal('failed');
    expect(failed.rerun).to.equal(b.id);
    expect(failed.title).to.include('error: bad.json: Unexpected token');
    expect(failed.title).to.include(`re-run by ${b.id} since: now committed`);
    // The slice A left staged was taken over by B: it shows how B ended it.
    const taken = cell(page, TRANSFORM, DATES[2] as string);
    expect(taken.cls).to.equal('committed');
    expect(taken.rerun).to.equal(b.id);
    expect(taken.title).to.include(`run by ${b.id} (it took the work over)`);
    expect(count(page, 'all:rerun')).to.equal(6);
    expect(page).to.include('id="rerun-notice"');
    // B landed the failed slice: nothing is left to retry from A's page, and its export is empty.
    expect(page).to.include('Retry failed (0)');
    const file = (await (await fetch(`${d.url}/backfills/${a.id}/failed-dates.json`, { headers: BEARER })).json()) as { failures: unknown[] };
    expect(file.failures).to.deep.equal([]);
    expect(page).to.include('id="state">finished<');
    // `status` counts the same thing as the grid — this run's outcome — and both say which it is,
    // with the dates' state now beside it (before: status 3 committed / 0 failed, the grid 2 / 1).
    expect(page).to.include("<strong>this run's outcome</strong>");
    expect(page).to.match(/id="state-now">The dates' state now: 6 of 6 slices landed \(0 stale, 0 kept after a failed re-run\), 0 need a look/);
    const cli = await runCli(['status', '--backfill', a.id, '--json'], {
      REDIS_URL: TEST_REDIS_URL,
      PHASEGATE_PREFIX: env.config.prefix,
      PHASEGATE_DATA_DIR: env.dir,
    });
    const [shown] = (JSON.parse(cli.stdout) as { backfills: { counts: Record<string, Record<string, number>>; now: { landed: number } }[] }).backfills;
    expect(shown?.counts[TRANSFORM]).to.include({ committed: 2, failed: 1 });
    expect(shown?.counts[SCRAPER]).to.include({ committed: 3 });
    expect(shown?.now.landed).to.equal(6);

    // B's page is B's own: all committed, nothing re-run.
    const pageB = await get(d, `/backfills/${b.id}`);
    expect(count(pageB, `${TRANSFORM}:committed`)).to.equal(3);
    expect(count(pageB, `${TRANSFORM}:failed`)).to.equal(0);
    expect(pageB).to.not.include('data-rerun=');
    // The overview counts A's own failure too.
    const overview = await get(d, '/');
    const rowA = new RegExp(`<tr data-backfill="${a.id}">[\\s\\S]*?</tr>`).exec(overview)?.[0] ?? '';
    expect(rowA).to.include('6 re-run since');
  });

  it('a cascade: phases 3–5 have rows in the grid, and it reads "finished" only when they are done', async () => {
    const record = recordOf('bf-20231103-000000-cccc', [SCRAPER, TRANSFORM], true);
    await addRecord(env, record, 3);
    const reached = cascadeProcessors(env.rt, record);
    const downstream = reached.filter((p) => !record.processors.includes(p.name));
    expect(downstream.map((p) => p.phase)).to.include.members([3, 4, 5]);
    // As startCascadingBackfill does: downstream marked pending before the backfill has an id.
    for (const p of downstream) await env.rt.statuses.setMany(p.name, DATES, { status: 'pending' });
    for (const p of record.processors) await env.rt.statuses.setMany(p, DATES, { status: 'committed', rows: 10, backfillId: record.id });
    // The inputs this run does not produce have landed before it (else its phase 3 could never run).
    for (const p of ['nbac_team_boxscore_scraper', 'nbac_team_boxscore']) await env.rt.statuses.setMany(p, DATES, { status: 'committed', rows: 2 });
    // Phase 2 is done; the cascade has run phase 3 and later for all dates but one.
    const phase3 = downstream.find((p) => p.phase === 3);
    for (const p of downstream)
      for (const date of DATES) {
        if (p === phase3 && date === DATES[2]) continue;
        await env.rt.statuses.set(p.name, date, { status: 'committed', rows: 3, backfillId: record.id });
      }

    const page = await get(d, `/backfills/${record.id}`);
    for (const p of reached) expect(page, p.name).to.include(`<tr data-p="${p.name}">`);
    for (const phase of [1, 2, 3, 4, 5]) expect(page, `phase ${phase} label`).to.match(new RegExp(`<tr class="phase"><th colspan="\\d+">phase ${phase} · `));
    expect(page).to.include('id="state">running<');
    expect(page).to.include('the requested processors are done; the cascade still has phase 3 work');
    expect(count(page, 'phase3:pending')).to.equal(1);
    expect(count(page, `${phase3?.name}:pending`)).to.equal(1);
    expect(cell(page, phase3?.name ?? '', DATES[2] as string).cls).to.equal('pending');
    expect(/data-state="running"/.test(await get(d, '/'))).to.equal(true);
    const metrics = await get(d, '/metrics');
    // In progress: counted among the runs in progress, by no run id (an unbounded label).
    expect(metrics).to.match(/^phasegate_run_slices\{processor="[a-z_]+",state="pending"\} [1-9]/m);
    expect(metrics).to.match(/^phasegate_run_slices_finished_ratio 0\.\d+$/m);
    expect(metrics).to.not.include(record.id);

    await env.rt.statuses.set(phase3?.name ?? '', DATES[2] as string, { status: 'committed', rows: 3, backfillId: record.id });
    const done = await get(d, `/backfills/${record.id}`);
    expect(done).to.include('id="state">finished<');
    expect(/data-state="finished"/.test(await get(d, '/'))).to.equal(true);
  });

  it('a backfill whose own statuses expired shows the latest ones, and says so', async () => {
    const record = recordOf('bf-20231104-000000-dddd', [SCRAPER]);
    await addRecord(env, record, 4);
    await env.rt.statuses.setMany(SCRAPER, DATES, { status: 'committed', backfillId: record.id });
    expect(await get(d, `/backfills/${record.id}`)).to.not.include('id="own-expired"');
    await env.rt.redis.del(env.rt.keys.backfillStatuses(record.id));
    const page = await get(d, `/backfills/${record.id}`);
    expect(page).to.include('id="own-expired"');
    expect(count(page, `${SCRAPER}:committed`)).to.equal(3);
  });
});
