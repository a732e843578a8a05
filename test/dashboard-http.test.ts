/**
 * The dashboard over real HTTP against a real Redis: authentication on every route, CSRF and
 * origin checks on every state change, escaping of untrusted text, the retry and export
 * actions, /metrics and /healthz, read-only mode, and the refusal to bind beyond loopback
 * without credentials.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { type RunningDashboard, startDashboard } from '../src/dashboard/start-dashboard.ts';
import { ConfigError } from '../src/errors/config-error.ts';
import type { BackfillRecord } from '../src/queues/backfill/backfill.ts';
import { readFailedFile } from '../src/queues/backfill/dates.ts';
import { recordConflictEvents } from '../src/queues/conflicts/log.ts';
import { PRIORITY, phaseJobId } from '../src/queues/names.ts';
import type { ConflictType } from '../src/tables/streaming-conflict-log.ts';
import { childEnv, openBreaker, openTestRuntime, type TestEnv } from './helpers.ts';

const TOKEN = 'test-token-0123456789abcdef';
const BEARER = { authorization: `Bearer ${TOKEN}` };
const SCRAPER = 'nbac_player_boxscore_scraper';
const TRANSFORM = 'nbac_player_boxscore';
const DATES = ['2023-11-01', '2023-11-02', '2023-11-03'];
const EVIL = '<script>alert("pwned")</script><img src=x onerror=alert(1)>';

async function seed(env: TestEnv): Promise<BackfillRecord> {
  const record: BackfillRecord = {
    id: 'bf-20231101-000000-abcd',
    createdAt: new Date().toISOString(),
    processors: [SCRAPER, TRANSFORM],
    dates: DATES,
    priority: 10,
    cascade: false,
  };
  await env.rt.redis
    .multi()
    .hset(env.rt.keys.backfill(record.id), { definition: JSON.stringify(record) })
    .zadd(env.rt.keys.backfills(), Date.now(), record.id)
    .exec();
  await env.rt.statuses.setMany(SCRAPER, DATES, { status: 'committed', rows: 11, backfillId: record.id });
  await env.rt.statuses.set(TRANSFORM, DATES[0] as string, { status: 'committed', rows: 240, backfillId: record.id });
  await env.rt.statuses.set(TRANSFORM, DATES[1] as string, {
    status: 'failed',
    attempts: 1,
    error: `${TRANSFORM} ${DATES[1]}: nba-com/player-boxscores/${DATES[1]}/bad.json: ${EVIL}`,
    backfillId: record.id,
  });
  await env.rt.statuses.set(TRANSFORM, DATES[2] as string, {
    status: 'waiting',
    error: 'busy: Too many DML statements outstanding',
    nextTryAt: new Date(Date.now() + 60_000).toISOString(),
    backfillId: record.id,
  });
  return record;
}

function cookieFrom(res: Response): string {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('phasegate_session='));
  if (!set) throw new Error('no session cookie set');
  return set.split(';')[0] as string;
}

async function signIn(d: RunningDashboard): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${d.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: d.url },
    body: new URLSearchParams({ token: TOKEN, next: '/' }).toString(),
  });
  const cookie = cookieFrom(res);
  const page = await (await fetch(`${d.url}/failures`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!csrf) throw new Error('no CSRF token on the page');
  return { cookie, csrf };
}

function form(fields: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return p.toString();
}

describe('dashboard over HTTP', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let d: RunningDashboard;
  let record: BackfillRecord;

  before(async () => {
    env = await openTestRuntime();
    record = await seed(env);
    d = await startDashboard(env.rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, readOnly: false });
  });
  after(async () => {
    await d?.close();
    await env?.cleanup();
  });

  describe('authentication', () => {
    const protectedGets = () => [
      '/',
      '/queues',
      '/queues/',
      '/queues/api/queues',
      '/metrics',
      `/backfills/${record.id}`,
      `/backfills/${record.id}/failed-dates.json`,
      '/tables',
      '/failures',
      '/no-such-page',
    ];

    it('answers 401 without credentials on every page, Bull Board (UI and API) and /metrics', async () => {
      for (const p of protectedGets()) {
        const res = await fetch(d.url + p, { redirect: 'manual' });
        expect(res.status, p).to.equal(401);
        expect(res.headers.get('www-authenticate'), p).to.match(/Bearer/);
        const body = await res.text();
        // Nothing from behind the door: no job errors, no metrics, no queue data.
        expect(body, p).to.not.include('bad.json');
        expect(body, p).to.not.include('phasegate_queue_jobs');
        expect(body, p).to.not.include('"queues"');
      }
    });

    it('answers 401 with a wrong token, a wrong cookie or basic auth when none is configured', async () => {
      const attempts: Record<string, string>[] = [
        { authorization: 'Bearer wrong-token-wrong-token' },
        { cookie: 'phasegate_session=v1.99999999999999.forged' },
        { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
      ];
      for (const headers of attempts) {
        expect((await fetch(`${d.url}/`, { headers })).status).to.equal(401);
        expect((await fetch(`${d.url}/queues/api/queues`, { headers })).status).to.equal(401);
      }
    });

    it('serves every page with the bearer token, and Bull Board lists every phase and table queue by readable name', async () => {
      for (const p of protectedGets().filter((x) => x !== '/no-such-page')) expect((await fetch(d.url + p, { headers: BEARER })).status, p).to.equal(200);
      const api = (await (await fetch(`${d.url}/queues/api/queues`, { headers: BEARER })).json()) as {
        queues: { name: string; displayName?: string; description?: string }[];
      };
      const names = api.queues.map((q) => q.name);
      for (const n of ['phase1', 'phase2', 'phase3', 'phase4', 'phase5', 'commit-nba_raw.nbac_player_boxscores']) expect(names).to.include(n);
      const gate = api.queues.find((q) => q.name === 'commit-nba_raw.nbac_player_boxscores');
      expect(gate?.displayName).to.equal('Table gate · nba_raw.nbac_player_boxscores');
      expect(gate?.description).to.match(/Group commits into nba_raw\.nbac_player_boxscores/);
    });

    it('no longer signs in through ?token= (it would stay in history); the form sets an HttpOnly SameSite=Strict cookie', async () => {
      const query = await fetch(`${d.url}/tables?token=${TOKEN}`, { redirect: 'manual' });
      expect(query.status).to.equal(401);
      expect(query.headers.getSetCookie()).to.have.length(0);
      expect(await query.json())
        .to.have.property('error')
        .that.match(/no longer carry the token as \?token=/);
      const res = await fetch(`${d.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ token: TOKEN, next: '/tables' }),
      });
      expect(res.status).to.equal(303);
      expect(res.headers.get('location')).to.equal('/tables');
      const set = res.headers.getSetCookie().find((c) => c.startsWith('phasegate_session=')) ?? '';
      expect(set).to.match(/HttpOnly/i);
      expect(set).to.match(/SameSite=Strict/i);
      // Plain http and no trusted proxy: not Secure (the browser would never send it back).
      expect(set).to.not.match(/Secure/i);
      expect((await fetch(`${d.url}/tables`, { headers: { cookie: cookieFrom(res) } })).status).to.equal(200);
    });

    it('signs in through the login form, and refuses a wrong token', async () => {
      const ok = await fetch(`${d.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: d.url },
        body: form({ token: TOKEN, next: '/failures' }),
      });
      expect(ok.status).to.equal(303);
      expect(ok.headers.get('location')).to.equal('/failures');
      cookieFrom(ok);
      const open = await fetch(`${d.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ token: TOKEN, next: '//evil.example/' }),
      });
      expect(open.headers.get('location')).to.equal('/');
      const bad = await fetch(`${d.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ token: 'nope' }),
      });
      expect(bad.status).to.equal(401);
      expect(bad.headers.getSetCookie()).to.have.length(0);
    });

    it('keeps /healthz open and says only up or down', async () => {
      const res = await fetch(`${d.url}/healthz`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ status: 'ok', redis: 'ok', warehouse: 'ok', warehouseCheck: 'file' });
    });
  });

  describe('state changes', () => {
    const retryUrl = () => `${d.url}/backfills/${record.id}/retry-failed`;
    const stillFailed = async () => (await env.rt.statuses.get(TRANSFORM, DATES[1] as string))?.status;
    const phase2Job = () => env.rt.queues.phase(2).getJobState(phaseJobId(TRANSFORM, DATES[1] as string));

    it('changes nothing for an unauthenticated POST (401)', async () => {
      for (const url of [retryUrl(), `${d.url}/failures/retry`]) {
        const res = await fetch(url, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: d.url },
          body: form({ slice: `${TRANSFORM}/${DATES[1]}` }),
        });
        expect(res.status, url).to.equal(401);
      }
      expect(await stillFailed()).to.equal('failed');
      expect(await phase2Job()).to.equal('unknown');
    });

    it('refuses a signed-in POST without the CSRF token, with a wrong one, or from another origin (403)', async () => {
      const { cookie, csrf } = await signIn(d);
      const post = (headers: Record<string, string>, body: string) =>
        fetch(retryUrl(), { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
      expect((await post({ origin: d.url }, '')).status).to.equal(403);
      expect((await post({ origin: d.url }, form({ _csrf: 'forged' }))).status).to.equal(403);
      expect((await post({ origin: 'https://evil.example' }, form({ _csrf: csrf }))).status).to.equal(403);
      expect((await post({ origin: d.url, 'sec-fetch-site': 'cross-site' }, form({ _csrf: csrf }))).status).to.equal(403);
      expect((await post({ referer: 'https://evil.example/page' }, form({ _csrf: csrf }))).status).to.equal(403);
      // A token rendered for another session does not pass either.
      const other = await signIn(d);
      expect((await post({ origin: d.url }, form({ _csrf: other.csrf === csrf ? 'x' : other.csrf }))).status).to.equal(403);
      expect(await stillFailed()).to.equal('failed');
      expect(await phase2Job()).to.equal('unknown');
    });

    it('refuses Bull Board API changes from a browser session without a same-origin Origin', async () => {
      const { cookie } = await signIn(d);
      const pause = (headers: Record<string, string>) => fetch(`${d.url}/queues/api/queues/phase3/pause`, { method: 'PUT', headers: { cookie, ...headers } });
      expect((await pause({})).status).to.equal(403);
      expect((await pause({ origin: 'https://evil.example' })).status).to.equal(403);
      expect(await env.rt.queues.phase(3).isPaused()).to.equal(false);
      expect((await pause({ origin: d.url })).status).to.equal(200);
      expect(await env.rt.queues.phase(3).isPaused()).to.equal(true);
      await env.rt.queues.phase(3).resume();
    });

    it('"retry failed" re-enqueues exactly the failed slices of the backfill', async () => {
      const { cookie, csrf } = await signIn(d);
      const res = await fetch(retryUrl(), {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin: d.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ _csrf: csrf }),
      });
      expect(res.status).to.equal(303);
      expect(res.headers.get('location')).to.equal(`/backfills/${record.id}?enqueued=1&carried=0&already=0&skipped=0`);
      const s = await env.rt.statuses.get(TRANSFORM, DATES[1] as string);
      expect(s?.status).to.equal('pending');
      expect(s?.backfillId).to.equal(record.id);
      expect(await phase2Job()).to.be.oneOf(['prioritized', 'waiting']);
      const job = await env.rt.queues.phase(2).getJob(phaseJobId(TRANSFORM, DATES[1] as string));
      expect(job?.data).to.include({ processor: TRANSFORM, slice: DATES[1], backfillId: record.id, origin: 'retry' });
      expect(job?.opts.priority).to.equal(PRIORITY.backfill);
      // The waiting and committed slices were left alone.
      expect((await env.rt.statuses.get(TRANSFORM, DATES[2] as string))?.status).to.equal('waiting');
      expect((await env.rt.statuses.get(TRANSFORM, DATES[0] as string))?.status).to.equal('committed');
      const notice = await (await fetch(`${d.url}${res.headers.get('location')}`, { headers: { cookie } })).text();
      expect(notice).to.include('Requeued 1 slice(s)');
    });

    it('the failures page retries one slice with a bearer token (no CSRF needed: not an ambient credential)', async () => {
      await env.rt.queues.phase(2).remove(phaseJobId(TRANSFORM, DATES[1] as string));
      await env.rt.statuses.set(TRANSFORM, DATES[1] as string, { status: 'deferred', error: 'conflict: streaming buffer', backfillId: record.id });
      const res = await fetch(`${d.url}/failures/retry`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...BEARER, 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ slice: `${TRANSFORM}/${DATES[1]}` }),
      });
      expect(res.status).to.equal(303);
      expect((await env.rt.statuses.get(TRANSFORM, DATES[1] as string))?.status).to.equal('pending');
      const bad = await fetch(`${d.url}/failures/retry`, {
        method: 'POST',
        headers: { ...BEARER, 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ slice: `${TRANSFORM}/not-a-date` }),
      });
      expect(bad.status).to.equal(400);
    });

    it('sign-out needs the CSRF token too', async () => {
      const { cookie, csrf } = await signIn(d);
      expect((await fetch(`${d.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: d.url } })).status).to.equal(403);
      const out = await fetch(`${d.url}/logout`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin: d.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ _csrf: csrf }),
      });
      expect(out.status).to.equal(303);
      expect(out.headers.getSetCookie().join(';')).to.match(/phasegate_session=;/);
    });
  });

  describe('pages', () => {
    before(async () => {
      await env.rt.statuses.set(TRANSFORM, DATES[1] as string, {
        status: 'failed',
        attempts: 1,
        error: `${TRANSFORM} ${DATES[1]}: ${EVIL}`,
        backfillId: record.id,
      });
    });

    it('renders job error texts escaped on the grid and the failures page, under a CSP without scripts', async () => {
      for (const p of [`/backfills/${record.id}`, '/failures']) {
        const res = await fetch(d.url + p, { headers: BEARER });
        const body = await res.text();
        expect(body, p).to.not.include('<script>alert');
        expect(body, p).to.not.include('<img src=x');
        expect(body, p).to.include('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
        expect(body, p).to.not.match(/<script/i);
        expect(res.headers.get('content-security-policy'), p).to.match(/default-src 'none'/);
      }
    });

    it('the grid shows counts that match the status store, one cell per date and processor', async () => {
      const body = await (await fetch(`${d.url}/backfills/${record.id}`, { headers: BEARER })).text();
      const count = (p: string, s: string) => Number(new RegExp(`data-count="${p}:${s}">([0-9,]+)<`).exec(body)?.[1]?.replace(/,/g, ''));
      expect(count(SCRAPER, 'committed')).to.equal(3);
      expect(count(TRANSFORM, 'committed')).to.equal(1);
      expect(count(TRANSFORM, 'failed')).to.equal(1);
      expect(count(TRANSFORM, 'waiting')).to.equal(1);
      expect(body.match(/<td class="s-/g)).to.have.length(6);
      expect(body).to.include('Retry failed (1)');
    });

    it('exports the failed dates in the file format `backfill --retry-failed` reads', async () => {
      const res = await fetch(`${d.url}/backfills/${record.id}/failed-dates.json`, { headers: BEARER });
      expect(res.headers.get('content-disposition')).to.equal(`attachment; filename="failed_dates_${record.id}.json"`);
      const text = await res.text();
      const file = path.join(env.dir, 'failed.json');
      await writeFile(file, text);
      const parsed = await readFailedFile(file);
      expect(parsed.backfillId).to.equal(record.id);
      expect(parsed.processors).to.deep.equal({ [TRANSFORM]: [DATES[1]] });
      expect(parsed.failures).to.have.length(1);
      expect(parsed.failures[0]?.error).to.include(EVIL);
    });

    it('serves its stylesheet without credentials, and pages load nothing from other origins', async () => {
      const css = await fetch(`${d.url}/assets/dashboard.css`);
      expect(css.status).to.equal(200);
      expect(await css.text()).to.include('.s-failed');
      for (const p of ['/', '/tables', '/failures', `/backfills/${record.id}`]) {
        const body = await (await fetch(d.url + p, { headers: BEARER })).text();
        expect(body, p).to.not.match(/(src|href)="(https?:)?\/\//);
      }
    });

    it("Bull Board's page links nothing on other origins (its public font host is dropped) and its CSP allows only this server", async () => {
      const res = await fetch(`${d.url}/queues`, { headers: BEARER });
      expect(res.status).to.equal(200);
      const body = await res.text();
      // Bull Board's own page still loads (its bundle and stylesheet, from this server).
      expect(body).to.match(/<script defer src="static\/js\/main\.[0-9a-f]+\.js">/);
      expect(body).to.match(/<link href="static\/css\/main\.[0-9a-f]+\.css" rel="stylesheet">/);
      expect(body).to.not.include('fonts.googleapis.com');
      expect(body).to.not.match(/(src|href)\s*=\s*["']?(https?:)?\/\//);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).to.include("default-src 'self'");
      expect(csp).to.include("script-src 'self'");
      expect(csp).to.include("font-src 'self' data:");
      expect(csp).to.include("connect-src 'self'");
      expect(csp).to.not.match(/https?:|\*/);
      // Its API answers under the same policy; phasegate's own pages keep theirs (no scripts at all).
      const api = await fetch(`${d.url}/queues/api/queues`, { headers: BEARER });
      expect(api.headers.get('content-security-policy')).to.equal(csp);
      expect((await fetch(`${d.url}/tables`, { headers: BEARER })).headers.get('content-security-policy')).to.include("default-src 'none'");
    });

    it('answers 404 for an unknown backfill', async () => {
      expect((await fetch(`${d.url}/backfills/bf-nope`, { headers: BEARER })).status).to.equal(404);
    });

    it('/metrics exposes queue depths, table gates and backfill progress in Prometheus format', async () => {
      const res = await fetch(`${d.url}/metrics`, { headers: BEARER });
      expect(res.headers.get('content-type')).to.match(/^text\/plain/);
      const text = await res.text();
      expect(text).to.match(/^phasegate_queue_jobs\{queue="phase2",state="prioritized"\} \d+$/m);
      expect(text).to.include('phasegate_table_commit_concurrency_cap{table="nba_raw.nbac_player_boxscores"} 1');
      expect(text).to.include('phasegate_table_daily_budget{table="nba_raw.nbac_player_boxscores"} 1500');
      // The run is still in progress (a slice waits): its slices count, with no run id as a label.
      expect(text).to.include(`phasegate_run_slices{processor="${TRANSFORM}",state="failed"} 1`);
      expect(text).to.not.include(record.id);
      expect(text).to.match(/^phasegate_runs_in_progress [1-9]\d*$/m);
      expect(text).to.include('# TYPE phasegate_commit_duration_seconds histogram');
      expect(text).to.include('# TYPE phasegate_rows_committed_total counter');
      // The real breaker of an untouched table is closed.
      expect(text).to.include('phasegate_breaker_state{table="nba_raw.nbac_player_boxscores",state="closed"} 1');
      expect(text).to.include('phasegate_breaker_state{table="nba_raw.nbac_player_boxscores",state="open"} 0');
    });

    it('the tables page reads the real breaker (closed) and conflict log (none yet)', async () => {
      const body = await (await fetch(`${d.url}/tables`, { headers: BEARER })).text();
      expect(body).to.include('data-table="nba_raw.nbac_player_boxscores"');
      expect(body).to.include('<span class="badge closed">closed</span>');
      expect(body).to.not.include('no breaker data');
      expect(body).to.match(/<td data-k="conflicts"[^>]*>0<\/td>/);
    });
  });
});

describe('dashboard with pluggable breaker and conflict data, basic auth and read-only mode', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let d: RunningDashboard;
  const basic = { authorization: `Basic ${Buffer.from('ops:correct horse battery').toString('base64')}` };

  before(async () => {
    env = await openTestRuntime();
    await seed(env);
    // The real Redis state the commit path leaves: an open breaker after 4 of 5 commits
    // conflicted, and 7 conflicts (5 resolved), one of a type whose name must be escaped.
    const table = 'nba_raw.nbac_player_boxscores';
    await openBreaker(env.rt, table, { since: Date.parse('2024-01-25T10:00:00.000Z'), reopensAt: Date.now() + 60_000 }, [true, true, false, true, true]);
    const at = new Date().toISOString();
    const base = { table, processor: 'nbac_player_boxscore', attempt: 1, at };
    await recordConflictEvents(env.rt, [
      ...[0, 1, 2, 3, 4, 5].map((i) => ({
        ...base,
        slice: `2024-01-0${i + 1}`,
        conflictId: `c${i}`,
        event: 'met' as const,
        type: 'streaming_buffer' as const,
      })),
      { ...base, slice: '2024-01-07', conflictId: 'c6', event: 'met' as const, type: '<b>serialize</b>' as ConflictType },
      ...[0, 1, 2, 3, 4].map((i) => ({
        ...base,
        slice: `2024-01-0${i + 1}`,
        conflictId: `c${i}`,
        event: 'resolved' as const,
        type: 'streaming_buffer' as const,
        method: 'auto_retry' as const,
      })),
    ]);
    d = await startDashboard(env.rt, {
      port: 0,
      credentials: { basic: { user: 'ops', password: 'correct horse battery' }, generated: false },
      announce: () => undefined,
      readOnly: true,
    });
  });
  after(async () => {
    await d?.close();
    await env?.cleanup();
  });

  it('accepts basic auth and refuses a wrong password', async () => {
    expect((await fetch(`${d.url}/`, { headers: basic })).status).to.equal(200);
    const wrong = await fetch(`${d.url}/`, { headers: { authorization: `Basic ${Buffer.from('ops:wrong password!!').toString('base64')}` } });
    expect(wrong.status).to.equal(401);
    expect(wrong.headers.get('www-authenticate')).to.match(/Basic realm="phasegate"/);
  });

  it('shows the breaker state and since when, and conflicts by type (escaped), on the tables page, overview and /metrics', async () => {
    const tables = await (await fetch(`${d.url}/tables`, { headers: basic })).text();
    expect(tables).to.include('<span class="badge open">open</span>');
    expect(tables).to.include('since <span class="date">2024-01-25 10:00:00Z</span>');
    expect(tables).to.include('4 of the last 5 commits conflicted');
    expect(tables).to.include('7 (5 resolved)');
    expect(tables).to.include('&lt;b&gt;serialize&lt;/b&gt; 1');
    const overview = await (await fetch(`${d.url}/`, { headers: basic })).text();
    expect(overview).to.match(/nba_raw\.nbac_player_boxscores<\/td><td><span class="badge open">open<\/span>/);
    const metrics = await (await fetch(`${d.url}/metrics`, { headers: basic })).text();
    expect(metrics).to.include('phasegate_breaker_state{table="nba_raw.nbac_player_boxscores",state="open"} 1');
    expect(metrics).to.include('phasegate_breaker_state{table="nba_raw.nbac_player_boxscores",state="closed"} 0');
    expect(metrics).to.include('phasegate_conflicts_24h{table="nba_raw.nbac_player_boxscores",type="streaming_buffer"} 6');
  });

  it('read-only: retry actions answer 403 and change nothing; Bull Board refuses changes', async () => {
    const page = await (await fetch(`${d.url}/failures`, { headers: basic })).text();
    expect(page).to.include('disabled title="read-only dashboard"');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const res = await fetch(`${d.url}/failures/retry`, {
      method: 'POST',
      headers: { ...basic, origin: d.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ _csrf: csrf, slice: `${TRANSFORM}/${DATES[1]}` }),
    });
    expect(res.status).to.equal(403);
    expect((await env.rt.statuses.get(TRANSFORM, DATES[1] as string))?.status).to.equal('failed');
    const pause = await fetch(`${d.url}/queues/api/queues/phase1/pause`, { method: 'PUT', headers: { ...basic, origin: d.url } });
    expect(pause.status).to.be.within(400, 499);
    expect(await env.rt.queues.phase(1).isPaused()).to.equal(false);
  });
});

describe('dashboard start-up', function () {
  this.timeout(30_000);

  it('generates a token when none is configured and prints a login URL once', async () => {
    const env = await openTestRuntime();
    const lines: string[] = [];
    const d = await startDashboard(env.rt, { port: 0, announce: (l) => lines.push(l) });
    try {
      expect(d.credentials.generated).to.equal(true);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include(d.loginUrl);
      // The token rides in the fragment, which a browser never sends: the link opens the sign-in page.
      expect(d.loginUrl).to.equal(`${d.url}/login#token=${encodeURIComponent(d.credentials.token ?? '')}`);
      expect((await fetch(`${d.url}/`)).status).to.equal(401);
      const page = await fetch(d.loginUrl, { redirect: 'manual' });
      expect(page.status).to.equal(200);
      expect(page.headers.getSetCookie()).to.have.length(0);
      // What the page's script posts.
      const token = new URLSearchParams(new URL(d.loginUrl).hash.slice(1)).get('token') ?? '';
      const res = await fetch(`${d.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: d.url },
        body: form({ token, next: '/' }),
      });
      expect(res.status).to.equal(303);
      expect((await fetch(`${d.url}/`, { headers: { cookie: cookieFrom(res) } })).status).to.equal(200);
    } finally {
      await d.close();
      await env.cleanup();
    }
  });

  it('/healthz: 200 before the warehouse file exists, 503 when it cannot exist', async () => {
    // /proc/version is a file: no database can ever be created "inside" it.
    for (const [file, status] of [
      [path.join(tmpdir(), `phasegate-${process.pid}-none`, 'not', 'yet.duckdb'), 200],
      ['/proc/version/x.duckdb', 503],
    ] as const) {
      const env = await openTestRuntime({ PHASEGATE_DUCKDB_PATH: file });
      const d = await startDashboard(env.rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined });
      try {
        const res = await fetch(`${d.url}/healthz`);
        expect(res.status, file).to.equal(status);
        expect(((await res.json()) as { redis: string }).redis).to.equal('ok');
      } finally {
        await d.close();
        await env.cleanup();
      }
    }
  });

  it('refuses to bind beyond loopback without configured credentials', async () => {
    const env = await openTestRuntime();
    try {
      let err: unknown;
      await startDashboard(env.rt, { port: 0, host: '0.0.0.0', announce: () => undefined }).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as Error).message).to.match(/refusing to serve the dashboard on 0\.0\.0\.0 without credentials/);
    } finally {
      await env.cleanup();
    }
  });

  it('`phasegate dashboard --host 0.0.0.0` exits 2 with one line when no credentials are configured', async () => {
    const run = promisify(execFile);
    const env = childEnv({ PHASEGATE_PREFIX: `test-${randomUUID().slice(0, 8)}` });
    const bin = path.resolve(import.meta.dirname, '../bin/phasegate.js');
    const result = await run(process.execPath, [bin, 'dashboard', '--host', '0.0.0.0', '--port', '0'], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).to.equal(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^phasegate: refusing to serve the dashboard on 0\.0\.0\.0 without credentials/);
  });
});
