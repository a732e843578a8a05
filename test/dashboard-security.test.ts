/**
 * The dashboard's security over real HTTP against a real Redis: Bull Board cannot get around a
 * table gate's caps, sign-out ends the session on the server, the token never rides in a URL
 * query, the cookie is Secure behind a trusted https proxy, unknown Host names are refused,
 * failed sign-ins are limited per client, every change is written to the audit log, and a
 * read-only dashboard refuses every Bull Board change.
 */

import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { runInNewContext } from 'node:vm';
import { Worker } from 'bullmq';
import { expect } from 'chai';
import { dashboardNetworkSettings, type RunningDashboard, startDashboard } from '../src/dashboard/start-dashboard.ts';

import { ConfigError } from '../src/errors/config-error.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { mendTableGate } from '../src/queues/commit/worker.ts';
import { commitQueueName, phaseJobId } from '../src/queues/names.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const TOKEN = 'security-token-0123456789abcdef';
const BEARER = { authorization: `Bearer ${TOKEN}` };
const TABLE = 'nba_raw.nbac_player_boxscores';
const GATE = commitQueueName(TABLE);
const TRANSFORM = 'nbac_player_boxscore';
const DATE = '2023-11-02';
const FORM = 'application/x-www-form-urlencoded';

function cookieFrom(res: Response): string {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('phasegate_session='));
  if (!set) throw new Error('no session cookie set');
  return set.split(';')[0] as string;
}

function sessionId(cookie: string): string {
  return decodeURIComponent(cookie.slice('phasegate_session='.length));
}

async function signIn(d: RunningDashboard, headers: Record<string, string> = {}): Promise<{ res: Response; cookie: string; csrf: string }> {
  const res = await fetch(`${d.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': FORM, origin: d.url, ...headers },
    body: new URLSearchParams({ token: TOKEN, next: '/' }).toString(),
  });
  const cookie = cookieFrom(res);
  const page = await (await fetch(`${d.url}/failures`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!csrf) throw new Error('no CSRF token on the page');
  return { res, cookie, csrf };
}

/** A request naming any Host (fetch does not let a caller set it). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

type BoardCall = [method: 'PUT' | 'POST' | 'PATCH', path: string, body?: Record<string, unknown>];

async function board(d: RunningDashboard, [method, path, body]: BoardCall, headers: Record<string, string> = BEARER): Promise<Response> {
  return fetch(`${d.url}/queues/api${path}`, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

/** A job of the gate moved to failed by hand (no commit worker runs in these tests). */
async function failedGateJob(env: TestEnv, jobId: string): Promise<void> {
  const queue = env.rt.queues.commit(TABLE);
  await queue.add('commit', { table: TABLE }, { jobId, attempts: 1 });
  const worker = new Worker(GATE, null, { connection: env.rt.redis, prefix: env.config.prefix, autorun: false });
  try {
    const token = `test-${jobId}`;
    const job = await worker.getNextJob(token);
    if (job?.id !== jobId) throw new Error(`expected to take ${jobId}, took ${job?.id}`);
    await job.moveToFailed(new Error('boom'), token);
  } finally {
    await worker.close();
  }
}

describe('dashboard security', function () {
  this.timeout(60_000);
  let env: TestEnv;
  /** Read-write, no proxy trusted. */
  let d: RunningDashboard;
  /** Read-write behind one trusted proxy, with a public name. */
  let proxied: RunningDashboard;

  before(async () => {
    env = await openTestRuntime();
    await env.rt.queues.applyTableCaps(TABLE);
    const common = { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, readOnly: false } as const;
    d = await startDashboard(env.rt, common);
    proxied = await startDashboard(env.rt, { ...common, trustProxy: 1, allowedHosts: ['dashboard.example.com'] });
  });
  after(async () => {
    await d?.close();
    await proxied?.close();
    await env?.cleanup();
  });

  describe('Bull Board and the table caps', () => {
    const gate = () => env.rt.queues.commit(TABLE);
    const caps = async () => ({
      concurrency: await gate().getGlobalConcurrency(),
      rateLimit: await gate().getGlobalRateLimit(),
      paused: await gate().isPaused(),
    });
    /** The caps QueueSet.applyTableCaps set in before(). */
    let applied: Awaited<ReturnType<typeof caps>>;
    before(async () => {
      applied = await caps();
    });

    it("refuses (403, JSON reason) every change of a table gate's caps, run state and jobs, and leaves them as they were", async () => {
      await failedGateJob(env, 'sec-failed-a');
      await gate().add('commit', { table: TABLE }, { jobId: 'sec-delayed-a', delay: 3_600_000 });
      expect(await caps()).to.deep.equal(applied);
      const counts = await gate().getJobCounts('failed', 'delayed', 'waiting');
      const refused: BoardCall[] = [
        ['PUT', `/queues/${GATE}/concurrency`, { concurrency: 50 }],
        ['PUT', `/queues/${GATE}/rate-limit`, { max: 1000, duration: 1000 }],
        ['PUT', `/queues/${GATE}/rate-limit`, { max: null }],
        ['PUT', `/queues/${GATE}/rate-limit/release`],
        ['PUT', `/queues/${GATE}/pause`],
        ['PUT', `/queues/${GATE}/resume`],
        ['PUT', `/queues/${GATE}/empty`],
        ['PUT', `/queues/${GATE}/clean/failed`],
        ['PUT', `/queues/${GATE}/clean/delayed`],
        ['PUT', `/queues/${GATE}/obliterate`, { force: true }],
        ['POST', `/queues/${GATE}/add`, { name: 'commit', data: { table: TABLE } }],
        ['PUT', `/queues/${GATE}/retry/completed`],
        ['PUT', `/queues/${GATE}/sec-failed-a/clean`],
        ['PUT', `/queues/${GATE}/sec-delayed-a/clean`],
        ['PATCH', `/queues/${GATE}/sec-delayed-a/update-data`, { data: { table: 'other' } }],
        ['PATCH', `/queues/${GATE}/sec-delayed-a/priority`, { priority: 1 }],
        ['PATCH', `/queues/${GATE}/sec-delayed-a/delay`, { delay: 1 }],
        // Another spelling of the same route reaches the same refusal.
        ['PUT', `/queues/${encodeURIComponent(GATE)}/CONCURRENCY/`, { concurrency: 50 }],
      ];
      for (const call of refused) {
        const res = await board(d, call);
        expect(res.status, call.join(' ')).to.equal(403);
        expect(res.headers.get('content-type'), call.join(' ')).to.match(/json/);
        const body = (await res.json()) as { message?: string };
        expect(body.message, call.join(' ')).to.match(/is a table gate/);
      }
      expect(await caps()).to.deep.equal(applied);
      expect(await gate().getJobCounts('failed', 'delayed', 'waiting')).to.deep.equal(counts);
      expect((await gate().getJob('sec-delayed-a'))?.data).to.deep.equal({ table: TABLE });
    });

    it('refuses pause-all and resume-all on a read-write dashboard, since they reach the gates too', async () => {
      for (const path of ['/queues/pause', '/queues/resume']) {
        const res = await board(d, ['PUT', path]);
        expect(res.status, path).to.equal(403);
        expect(((await res.json()) as { message?: string }).message, path).to.match(/table gates included/);
      }
      expect(await gate().isPaused()).to.equal(false);
      expect(await env.rt.queues.phase(1).isPaused()).to.equal(false);
    });

    it('still retries failed gate jobs and promotes delayed ones; phase queues stay writable', async () => {
      await failedGateJob(env, 'sec-failed-b');
      await failedGateJob(env, 'sec-failed-c');
      expect((await board(d, ['PUT', `/queues/${GATE}/sec-failed-b/retry`])).status).to.equal(204);
      expect(await gate().getJobState('sec-failed-b')).to.be.oneOf(['waiting', 'prioritized']);
      expect((await board(d, ['PUT', `/queues/${GATE}/retry/failed`])).status).to.equal(200);
      expect(await gate().getJobState('sec-failed-c')).to.be.oneOf(['waiting', 'prioritized']);
      await gate().add('commit', { table: TABLE }, { jobId: 'sec-delayed-b', delay: 3_600_000 });
      expect((await board(d, ['PUT', `/queues/${GATE}/sec-delayed-b/promote`])).status).to.be.oneOf([200, 204]);
      expect(await gate().getJobState('sec-delayed-b')).to.be.oneOf(['waiting', 'prioritized']);
      // A gate job that is not failed (waiting now) is not retried through Bull Board.
      const notFailed = await board(d, ['PUT', `/queues/${GATE}/sec-failed-b/retry`]);
      expect(notFailed.status).to.equal(403);
      expect(((await notFailed.json()) as { message?: string }).message).to.match(/this job is (waiting|prioritized)/);
      expect((await board(d, ['PUT', '/queues/phase4/pause'])).status).to.equal(200);
      expect(await env.rt.queues.phase(4).isPaused()).to.equal(true);
      expect((await board(d, ['PUT', '/queues/phase4/resume'])).status).to.equal(200);
      expect(await env.rt.queues.phase(4).isPaused()).to.equal(false);
      await gate().drain(true);
    });

    // Issue 22, point 8: before, such a job was accepted, failed on all 5 attempts, and nothing said why.
    it('refuses at once (400, audited and logged) a job added to a phase queue for a processor it does not run', async () => {
      const phase1 = env.rt.queues.phase(1);
      const before = await phase1.count();
      const res = await board(d, ['POST', '/queues/phase1/add', { name: 'x', data: { processor: 'no_such_processor', slice: DATE } }]);
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { message?: string }).message).to.match(
        /^a job on phase1 names "no_such_processor" in data.processor; this queue runs nbac_player_boxscore_scraper, nbac_team_boxscore_scraper/,
      );
      const noDate = await board(d, ['POST', '/queues/phase1/add', { name: 'x', data: { processor: 'nbac_team_boxscore_scraper' } }]);
      expect(noDate.status).to.equal(400);
      expect(await phase1.count()).to.equal(before);
      const newest = JSON.parse((await env.rt.redis.lindex(env.rt.keys.dashboardAudit(), 0)) ?? '{}') as Record<string, string>;
      expect(newest.outcome).to.match(/^refused \(400\): a job on phase1 needs data.slice/);
      // One it can run is added.
      const ok = await board(d, [
        'POST',
        '/queues/phase1/add',
        { name: 'x', data: { processor: 'nbac_team_boxscore_scraper', slice: DATE }, options: { delay: 3_600_000 } },
      ]);
      expect(ok.status).to.equal(200);
      expect(await phase1.count()).to.equal(before + 1);
      await phase1.drain(true);
    });

    it("a gate's start re-asserts its caps when they were changed behind its back", async () => {
      await gate().setGlobalConcurrency(50);
      await gate().removeGlobalRateLimit();
      await mendTableGate(env.rt, TABLE);
      expect(await gate().getGlobalConcurrency()).to.equal(applied.concurrency);
      expect(await gate().getGlobalRateLimit()).to.deep.equal(applied.rateLimit);
      expect(applied.concurrency).to.equal(1);
      expect(applied.rateLimit?.max).to.equal(4);
    });
  });

  describe('sessions', () => {
    it('sign-out revokes the session on the server: the old cookie answers 401 afterwards', async () => {
      const { cookie, csrf } = await signIn(d);
      const key = env.rt.keys.dashboardSession(sessionId(cookie));
      const ttl = await env.rt.redis.pttl(key);
      expect(ttl).to.be.within(12 * 3_600_000 - 60_000, 12 * 3_600_000);
      expect((await fetch(`${d.url}/tables`, { headers: { cookie } })).status).to.equal(200);
      const out = await fetch(`${d.url}/logout`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin: d.url, 'content-type': FORM },
        body: new URLSearchParams({ _csrf: csrf }).toString(),
      });
      expect(out.status).to.equal(303);
      expect(await env.rt.redis.exists(key)).to.equal(0);
      // Someone who copied the cookie before sign-out gets nothing with it.
      expect((await fetch(`${d.url}/tables`, { headers: { cookie } })).status).to.equal(401);
      expect((await fetch(`${d.url}/queues/api/queues`, { headers: { cookie } })).status).to.equal(401);
    });

    it('a session whose Redis record is gone (expired or deleted) is not accepted', async () => {
      const { cookie } = await signIn(d);
      await env.rt.redis.del(env.rt.keys.dashboardSession(sessionId(cookie)));
      expect((await fetch(`${d.url}/`, { headers: { cookie } })).status).to.equal(401);
    });
  });

  describe('login link', () => {
    it('prints the login URL with the token in the fragment, and ?token= no longer signs anyone in', async () => {
      const lines: string[] = [];
      const gen = await startDashboard(env.rt, { port: 0, announce: (l) => lines.push(l) });
      try {
        const url = new URL(gen.loginUrl);
        expect(url.pathname).to.equal('/login');
        expect(url.search).to.equal('');
        expect(url.hash).to.equal(`#token=${encodeURIComponent(gen.credentials.token ?? '')}`);
        expect(lines.join('\n')).to.include(gen.loginUrl);
        expect(lines.join('\n')).to.not.include('?token=');
        const query = await fetch(`${gen.url}/?token=${encodeURIComponent(gen.credentials.token ?? '')}`, {
          redirect: 'manual',
          headers: { accept: 'text/html' },
        });
        expect(query.status).to.equal(401);
        expect(query.headers.getSetCookie()).to.have.length(0);
        // Even with a session, a ?token= in the URL is simply ignored.
        const { cookie } = await signIn(d);
        expect((await fetch(`${d.url}/tables?token=wrong-wrong-wrong-wrong`, { headers: { cookie } })).status).to.equal(200);
      } finally {
        await gen.close();
      }
    });

    it("the sign-in page's script removes the fragment, then posts the token for the session cookie", async () => {
      const page = await fetch(`${d.url}/login`);
      const body = await page.text();
      expect(body).to.include('<script src="/assets/login.js"></script>');
      expect(body).to.include('<form id="login-form" method="post" action="/login">');
      expect(page.headers.get('content-security-policy')).to.match(/script-src 'self'/);
      const js = await fetch(`${d.url}/assets/login.js`);
      expect(js.status).to.equal(200);
      expect(js.headers.get('content-type')).to.match(/javascript/);
      const source = await js.text();
      expect(source).to.equal(await readFile(new URL('../src/dashboard/assets/login.js', import.meta.url), 'utf8'));
      // Run it against a stand-in page: the order (fragment gone before the post) is the point.
      const events: string[] = [];
      const field = { value: '' };
      const form = { elements: { namedItem: (n: string) => (n === 'token' ? field : null) }, submit: () => events.push(`submit ${field.value}`) };
      const location = { hash: `#token=${encodeURIComponent(TOKEN)}`, pathname: '/login', search: '?next=%2Ftables' };
      runInNewContext(source, {
        URLSearchParams,
        location,
        history: { replaceState: (_s: unknown, _t: string, url: string) => events.push(`replace ${url}`) },
        document: { getElementById: (id: string) => (id === 'login-form' ? form : null) },
      });
      expect(events).to.deep.equal(['replace /login?next=%2Ftables', `submit ${TOKEN}`]);
      // Without a fragment it does nothing.
      const quiet: string[] = [];
      runInNewContext(source, {
        URLSearchParams,
        location: { hash: '', pathname: '/login', search: '' },
        history: { replaceState: () => quiet.push('replace') },
        document: { getElementById: () => quiet.push('lookup') },
      });
      expect(quiet).to.deep.equal([]);
    });
  });

  describe('https, Host names and the sign-in limit', () => {
    it('sets Secure on the cookie when a trusted proxy says https, and only then', async () => {
      const https = (await signIn(proxied, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.1' })).res;
      expect(https.headers.getSetCookie().find((c) => c.startsWith('phasegate_session='))).to.match(/;\s*Secure/i);
      const http = (await signIn(proxied, { 'x-forwarded-for': '198.51.100.1' })).res;
      expect(http.headers.getSetCookie().find((c) => c.startsWith('phasegate_session='))).to.not.match(/Secure/i);
      // Not trusted: the header is anyone's to send.
      const untrusted = (await signIn(d, { 'x-forwarded-proto': 'https' })).res;
      expect(untrusted.headers.getSetCookie().find((c) => c.startsWith('phasegate_session='))).to.not.match(/Secure/i);
    });

    it('answers 421 to a Host name it does not serve (DNS rebinding), with or without credentials', async () => {
      const port = new URL(d.url).port;
      for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, 'dashboard.example.com']) {
        const res = await rawGet(`${d.url}/`, { host, ...BEARER });
        expect(res.status, host).to.equal(421);
        expect(res.body, host).to.not.include('phasegate_');
        expect((await rawGet(`${d.url}/queues/api/queues`, { host, ...BEARER })).status, host).to.equal(421);
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`])
        expect((await rawGet(`${d.url}/`, { host, ...BEARER })).status, host).to.equal(200);
      // Probes may name anything: /healthz says only up or down.
      expect((await rawGet(`${d.url}/healthz`, { host: 'evil.example' })).status).to.equal(200);
      // A configured name is served; behind a trusted proxy the forwarded host is the one checked.
      const pport = new URL(proxied.url).port;
      expect((await rawGet(`${proxied.url}/`, { host: 'dashboard.example.com', ...BEARER })).status).to.equal(200);
      expect((await rawGet(`${proxied.url}/`, { host: `127.0.0.1:${pport}`, 'x-forwarded-host': 'dashboard.example.com', ...BEARER })).status).to.equal(200);
      expect((await rawGet(`${proxied.url}/`, { host: `127.0.0.1:${pport}`, 'x-forwarded-host': 'evil.example', ...BEARER })).status).to.equal(421);
    });

    it('limits failed sign-ins per client: after 10 in a minute, 429 with Retry-After, right token or not', async () => {
      const client = { 'x-forwarded-for': '203.0.113.7' };
      const attempt = (token: string, headers: Record<string, string> = client) =>
        fetch(`${proxied.url}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': FORM, ...headers },
          body: new URLSearchParams({ token }).toString(),
        });
      for (let i = 0; i < 10; i++) expect((await attempt(`wrong-${i}`)).status, `attempt ${i + 1}`).to.equal(401);
      const blocked = await attempt('wrong-again');
      expect(blocked.status).to.equal(429);
      expect(Number(blocked.headers.get('retry-after'))).to.be.within(1, 60);
      // Right token, bearer header, basic header: all refused without being checked.
      const right = await attempt(TOKEN);
      expect(right.status).to.equal(429);
      expect(right.headers.getSetCookie()).to.have.length(0);
      expect((await fetch(`${proxied.url}/`, { headers: { ...client, ...BEARER } })).status).to.equal(429);
      // The count lives in Redis with the window's expiry.
      const key = env.rt.keys.dashboardSignInFailures('203.0.113.7');
      expect(await env.rt.redis.get(key)).to.equal('10');
      expect(await env.rt.redis.pttl(key)).to.be.within(1, 60_000);
      // Another client is not affected, and an existing session keeps working.
      expect((await attempt(TOKEN, { 'x-forwarded-for': '203.0.113.8' })).status).to.equal(303);
      const { cookie } = await signIn(proxied, { 'x-forwarded-for': '203.0.113.9' });
      expect((await fetch(`${proxied.url}/tables`, { headers: { ...client, cookie } })).status).to.equal(200);
      // Wrong bearer tokens count as failed sign-ins too.
      const other = { 'x-forwarded-for': '203.0.113.10' };
      for (let i = 0; i < 10; i++)
        expect((await fetch(`${proxied.url}/metrics`, { headers: { ...other, authorization: `Bearer wrong-${i}` } })).status).to.equal(401);
      expect((await fetch(`${proxied.url}/metrics`, { headers: { ...other, ...BEARER } })).status).to.equal(429);
    });
  });

  describe('audit log', () => {
    it('records retries and Bull Board changes — who, what, when — and the failures page shows them', async () => {
      await env.rt.statuses.set(TRANSFORM, DATE, { status: 'failed', attempts: 1, error: 'boom' });
      const { cookie, csrf } = await signIn(d);
      const retried = await fetch(`${d.url}/failures/retry`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin: d.url, 'content-type': FORM },
        body: new URLSearchParams({ _csrf: csrf, slice: `${TRANSFORM}/${DATE}` }).toString(),
      });
      expect(retried.status).to.equal(303);
      expect(await env.rt.queues.phase(2).getJobState(phaseJobId(TRANSFORM, DATE))).to.be.oneOf(['waiting', 'prioritized']);
      expect((await fetch(`${d.url}/queues/api/queues/phase5/pause`, { method: 'PUT', headers: { cookie, origin: d.url } })).status).to.equal(200);
      await env.rt.queues.phase(5).resume();
      expect((await board(d, ['PUT', `/queues/${GATE}/obliterate`, { force: true }])).status).to.equal(403);
      const raw = await env.rt.redis.lrange(env.rt.keys.dashboardAudit(), 0, 2);
      const [obliterate, pause, retry] = raw.map((r) => JSON.parse(r) as Record<string, string>);
      expect(obliterate).to.include({ who: 'bearer token', client: '127.0.0.1', action: 'bull-board PUT /api/queues/:queueName/obliterate' });
      expect(obliterate?.outcome).to.match(/^refused \(403\): .*table gate/);
      expect(pause).to.include({ who: 'token session', action: 'bull-board PUT /api/queues/:queueName/pause', target: 'phase5', outcome: 'ok (200)' });
      expect(retry).to.include({ who: 'token session', action: 'retry slices', target: `1 slice(s): ${TRANSFORM}/${DATE}` });
      expect(retry?.outcome).to.match(/^ok: 1 enqueued/);
      for (const e of [obliterate, pause, retry]) expect(Date.now() - Date.parse(e?.at ?? '')).to.be.within(0, 60_000);
      const page = await (await fetch(`${d.url}/failures`, { headers: BEARER })).text();
      expect(page).to.include('<h2>Recent dashboard actions</h2>');
      const rows = page.match(/<tr data-audit>.*?<\/tr>/g) ?? [];
      expect(rows[0]).to.include('bull-board PUT /api/queues/:queueName/obliterate').and.include('bearer token').and.include('refused (403)');
      expect(rows[1]).to.include('phase5').and.include('token session');
      expect(rows[2]).to.include('retry slices').and.include(`${TRANSFORM}/${DATE}`);
    });

    it('"retry failed" of a backfill is audited, and the log keeps at most 1000 entries (newest first)', async () => {
      const id = 'bf-20231101-000000-audt';
      await env.rt.redis
        .multi()
        .hset(env.rt.keys.backfill(id), {
          definition: JSON.stringify({ id, createdAt: new Date().toISOString(), processors: [TRANSFORM], dates: [DATE], priority: 10, cascade: false }),
        })
        .zadd(env.rt.keys.backfills(), Date.now(), id)
        .exec();
      const key = env.rt.keys.dashboardAudit();
      const filler = Array.from({ length: 1100 }, (_, i) =>
        JSON.stringify({ at: new Date(0).toISOString(), who: 'x', client: 'x', action: `old ${i}`, outcome: 'ok' }),
      );
      await env.rt.redis.lpush(key, ...filler);
      const res = await fetch(`${d.url}/backfills/${id}/retry-failed`, { method: 'POST', redirect: 'manual', headers: BEARER });
      expect(res.status).to.equal(303);
      expect(await env.rt.redis.llen(key)).to.equal(1000);
      const newest = JSON.parse((await env.rt.redis.lindex(key, 0)) ?? '{}') as Record<string, string>;
      expect(newest).to.include({ who: 'bearer token', action: 'retry failed of backfill', target: id });
    });

    it('"cancel run" (POST, same auth and CSRF as the others) cancels the run\'s queued slices, and is audited', async () => {
      const record = await startBackfill(env.rt, { processors: [env.rt.registry.get(TRANSFORM)], dates: ['2023-11-10'] });
      const page = await (await fetch(`${d.url}/backfills/${record.id}`, { headers: BEARER })).text();
      expect(page).to.include(`action="/backfills/${record.id}/cancel"`);
      // A browser session without the CSRF token is refused and changes nothing.
      const login = await fetch(`${d.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': FORM },
        body: new URLSearchParams({ token: TOKEN }).toString(),
      });
      const forged = await fetch(`${d.url}/backfills/${record.id}/cancel`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: cookieFrom(login), origin: d.url, 'content-type': FORM },
        body: '',
      });
      expect(forged.status).to.equal(403);
      expect((await env.rt.statuses.get(TRANSFORM, '2023-11-10'))?.status).to.equal('pending');
      const res = await fetch(`${d.url}/backfills/${record.id}/cancel`, { method: 'POST', redirect: 'manual', headers: BEARER });
      expect(res.status).to.equal(303);
      expect((await env.rt.statuses.get(TRANSFORM, '2023-11-10'))?.status).to.equal('cancelled');
      expect(await env.rt.queues.phase(2).getJob(phaseJobId(TRANSFORM, '2023-11-10'))).to.equal(undefined);
      const after = await (await fetch(`${d.url}${res.headers.get('location')}`, { headers: BEARER })).text();
      expect(after).to.include('id="cancel-notice"').and.include('id="state">finished<');
      const newest = JSON.parse((await env.rt.redis.lindex(env.rt.keys.dashboardAudit(), 0)) ?? '{}') as Record<string, string>;
      expect(newest).to.include({ action: 'cancel run', target: record.id });
    });
  });
});

describe('dashboard security settings', () => {
  it('parses PHASEGATE_DASHBOARD_TRUST_PROXY and PHASEGATE_DASHBOARD_ALLOWED_HOSTS', () => {
    expect(dashboardNetworkSettings({})).to.deep.equal({ trustProxy: false, allowedHosts: [] });
    expect(dashboardNetworkSettings({ PHASEGATE_DASHBOARD_TRUST_PROXY: 'false' }).trustProxy).to.equal(false);
    // `true` trusts the immediate peer only, so a client cannot pick its own X-Forwarded-For.
    expect(dashboardNetworkSettings({ PHASEGATE_DASHBOARD_TRUST_PROXY: 'true' }).trustProxy).to.equal(1);
    expect(dashboardNetworkSettings({ PHASEGATE_DASHBOARD_TRUST_PROXY: '2' }).trustProxy).to.equal(2);
    expect(dashboardNetworkSettings({ PHASEGATE_DASHBOARD_TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).to.equal('loopback,10.0.0.0/8');
    expect(dashboardNetworkSettings({ PHASEGATE_DASHBOARD_ALLOWED_HOSTS: 'Dashboard.Example.com, 10.0.0.5,[::1]' }).allowedHosts).to.deep.equal([
      'dashboard.example.com',
      '10.0.0.5',
      '[::1]',
    ]);
    expect(() => dashboardNetworkSettings({ PHASEGATE_DASHBOARD_TRUST_PROXY: 'sometimes' })).to.throw(ConfigError, /PHASEGATE_DASHBOARD_TRUST_PROXY/);
    expect(() => dashboardNetworkSettings({ PHASEGATE_DASHBOARD_TRUST_PROXY: '10.0.0.0/99' })).to.throw(ConfigError);
    expect(() => dashboardNetworkSettings({ PHASEGATE_DASHBOARD_ALLOWED_HOSTS: 'https://dashboard.example.com' })).to.throw(
      ConfigError,
      /PHASEGATE_DASHBOARD_ALLOWED_HOSTS/,
    );
    expect(() => dashboardNetworkSettings({ PHASEGATE_DASHBOARD_ALLOWED_HOSTS: 'dashboard.example.com:443' })).to.throw(ConfigError);
  });
});

describe('dashboard security, read-only', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let d: RunningDashboard;

  before(async () => {
    env = await openTestRuntime();
    d = await startDashboard(env.rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, readOnly: true });
  });
  after(async () => {
    await d?.close();
    await env?.cleanup();
  });

  it('answers 403 (JSON) to pause-all and every other Bull Board change, and changes nothing', async () => {
    await env.rt.queues.phase(1).add('x', { processor: 'p', slice: DATE } as never, { jobId: 'ro-1', delay: 3_600_000 });
    const calls: BoardCall[] = [
      ['PUT', '/queues/pause'],
      ['PUT', '/queues/resume'],
      ['PUT', '/queues/phase1/pause'],
      ['PUT', '/queues/phase1/empty'],
      ['PUT', '/queues/phase1/promote'],
      ['PUT', '/queues/phase1/retry/failed'],
      ['PUT', '/queues/phase1/ro-1/promote'],
      ['PATCH', '/queues/phase1/ro-1/update-data', { data: {} }],
      ['POST', '/queues/phase1/add', { name: 'x', data: {} }],
      ['PUT', `/queues/${GATE}/concurrency`, { concurrency: 50 }],
    ];
    for (const call of calls) {
      const res = await board(d, call);
      expect(res.status, call.join(' ')).to.equal(403);
      expect(((await res.json()) as { message?: string }).message, call.join(' ')).to.match(/read-only/);
    }
    // Same through a signed-in browser session from the dashboard's own origin.
    const login = await fetch(`${d.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': FORM },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    expect((await fetch(`${d.url}/queues/api/queues/pause`, { method: 'PUT', headers: { cookie: cookieFrom(login), origin: d.url } })).status).to.equal(403);
    for (const p of [1, 2, 3, 4, 5] as const) expect(await env.rt.queues.phase(p).isPaused(), `phase ${p}`).to.equal(false);
    expect(await env.rt.queues.phase(1).getJobState('ro-1')).to.equal('delayed');
    expect(await env.rt.queues.commit(TABLE).getGlobalConcurrency()).to.not.equal(50);
    // Reads still work.
    expect((await fetch(`${d.url}/queues/api/queues`, { headers: BEARER })).status).to.equal(200);
  });
});

describe('a phase job naming a processor this version does not have', function () {
  this.timeout(60_000);

  it('fails at once, without retries, with the reason', async () => {
    const env = await openTestRuntime();
    try {
      await env.rt.startWorkers({ phases: [1], commit: false, concurrency: 1, tracker: false, scheduler: false });
      const q = env.rt.queues.phase(1);
      await q.add('x', { processor: 'no_such_processor', slice: DATE } as never, { jobId: 'unknown-1', attempts: 5, backoff: { type: 'fixed', delay: 10 } });
      const job = await until(async () => {
        const j = await q.getJob('unknown-1');
        if (!j || (await j.getState()) !== 'failed') return undefined;
        // Read it again: a copy fetched before it failed has no reason yet.
        return q.getJob('unknown-1');
      }, 'the job to fail');
      expect(job.attemptsMade).to.equal(1);
      expect(job.failedReason).to.equal('job unknown-1 on phase1: unknown processor "no_such_processor"');
    } finally {
      await env.cleanup();
    }
  });
});
