/**
 * End to end in a real browser: headless Chromium (the distribution's package, driven by
 * playwright-core; nothing is downloaded) against a dashboard serving real backfills — real
 * queues, workers, the dependency tracker, Redis and DuckDB behind the BigQuery rules.
 *
 * A first backfill (phases 1–2) has one slice fail on a malformed raw file: the page signs in
 * with the printed login URL, its grid matches the status store and the warehouse, and
 * "retry failed" requeues the slice until it commits. A cascaded backfill of the same dates
 * then carries them down to predictions: its grid has phases 3–5, and the first backfill's
 * page keeps its own outcome with every slice marked "re-run by" the second. A slice held
 * back by the streaming buffer says why and until when. The coverage page answers, the
 * pages work at 800 px, sign-out revokes the session (the old cookie gets 401), and no
 * request of the whole session leaves 127.0.0.1 — Bull Board's included. Screenshots of the
 * grid and the tables page are written under docs/ with PHASEGATE_UPDATE_SCREENSHOTS=1.
 */

import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { expect } from 'chai';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { when } from '../src/dashboard/html/format.ts';
import { type RunningDashboard, startDashboard } from '../src/dashboard/start-dashboard.ts';
import type { TransformDef } from '../src/processors/types.ts';
import { type BackfillRecord, startBackfill } from '../src/queues/backfill/backfill.ts';
import { cascadeProcessors, cascadeProgress, startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { waitingText } from '../src/queues/conflicts/hold.ts';
import { PHASES, phaseJobId } from '../src/queues/names.ts';
import { SLICE_STATES } from '../src/queues/status-store.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCRAPER = 'nbac_player_boxscore_scraper';
const TRANSFORM = 'nbac_player_boxscore';
const TABLE = 'nba_raw.nbac_player_boxscores';
const ROOTS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
const START = '2023-11-01';
const END = '2023-11-08';
// Screenshots go to a temporary folder; PHASEGATE_UPDATE_SCREENSHOTS=1 writes the ones
// committed under docs/ (so a test run does not dirty the tree).
const DOCS = process.env.PHASEGATE_UPDATE_SCREENSHOTS === '1' ? new URL('../docs/', import.meta.url) : new URL(`file://${tmpdir()}/`);
/** The pages at 800 and 1280 px, for a person to look at (never committed). */
const SHOTS = process.env.PHASEGATE_SHOTS_DIR ?? `${tmpdir()}/phasegate-shots`;

/**
 * What is cut off on the page: the document or a `.wide` box that scrolls sideways, a table
 * cell whose right edge is past the window (the last columns), a date broken over two lines.
 */
async function cutOff(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const view = document.documentElement.clientWidth;
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) out.push(`page scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    for (const el of document.querySelectorAll<HTMLElement>('main, .wide, figure.chart'))
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName.toLowerCase()}.${el.className} scrolls: ${el.scrollWidth} > ${el.clientWidth}`);
    for (const cell of document.querySelectorAll<HTMLElement>('table.data tr > :last-child')) {
      const r = cell.getBoundingClientRect();
      if (r.width > 0 && r.right > view + 0.5)
        out.push(`last column cut: "${(cell.textContent ?? '').trim().slice(0, 40)}" ends at ${Math.round(r.right)} > ${view}`);
    }
    for (const el of document.querySelectorAll<HTMLElement>('.date')) {
      const range = document.createRange();
      range.selectNodeContents(el);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (lines.size > 1) out.push(`date wraps: ${el.textContent}`);
    }
    return out;
  });
}

async function shownCount(page: Page, key: string): Promise<number> {
  const text = await page.locator(`[data-count="${key}"]`).first().textContent();
  return Number((text ?? '').replace(/,/g, ''));
}

/** No two boxes of the selector overlap, within each parent (a chart's legend). */
async function overlapping(page: Page, parents: string, items: string): Promise<string[]> {
  return page.locator(parents).evaluateAll((uls, sel) => {
    const out: string[] = [];
    for (const ul of uls) {
      const boxes = [...ul.querySelectorAll(sel)].map((li) => ({ text: li.textContent ?? '', r: li.getBoundingClientRect() }));
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i]?.r;
          const b = boxes[j]?.r;
          if (a && b && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push(`${boxes[i]?.text} / ${boxes[j]?.text}`);
        }
    }
    return out;
  }, items);
}

describe('dashboard in headless Chromium: real backfills, a cascade, a held slice', function () {
  this.timeout(480_000);
  let env: TestEnv;
  let dashboard: RunningDashboard;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let dates: string[];
  let badDate: string;
  let badFile: string;
  let first: BackfillRecord;
  let cascade: BackfillRecord | undefined;
  let heldDue = 0;
  const announced: string[] = [];
  /** Every URL the browser asked for, from every page of the context. */
  const requested: string[] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the distribution's chromium package (.ci/run does)`);
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_GATHER_SECONDS: '30' });
    dates = await env.rt.source.gameDates(START, END);
    badDate = dates[2] as string;
    // A file the transform cannot read: the slice fails at once with a reason naming the file.
    const def = env.rt.registry.get(TRANSFORM) as TransformDef;
    badFile = `${def.inputPrefix?.(badDate) ?? ''}bad.json`;
    await env.rt.store.put(badFile, '{"resultSets": [<script>alert(1)</script>');
    await env.rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    // No credentials configured: the dashboard generates a token and prints the login URL once.
    dashboard = await startDashboard(env.rt, { port: 0, announce: (line) => announced.push(line), refreshSeconds: 0 });
    first = await startBackfill(env.rt, { processors: [SCRAPER, TRANSFORM].map((p) => env.rt.registry.get(p)), dates });
    expect((await waitForCascade(env.rt, first, { pollMs: 100, timeoutMs: 120_000 })).done).to.equal(true);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.on('request', (r) => requested.push(r.url()));
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await env?.cleanup();
  });

  it('signs in with the printed login URL; without it the browser gets 401', async () => {
    const denied = await page.goto(`${dashboard.url}/backfills/${first.id}`);
    expect(denied?.status()).to.equal(401);
    expect(await page.locator('h1').textContent()).to.equal('Sign in to phasegate');
    expect(announced).to.have.length(1);
    // The token travels in the fragment (never sent to the server, never in its logs); the
    // page's script posts it for a session cookie and drops it from the address bar.
    const loginUrl = /(http:\/\/\S+#token=\S+)/.exec(announced[0] ?? '')?.[1] ?? '';
    expect(loginUrl).to.equal(dashboard.loginUrl);
    await page.goto(loginUrl);
    await page.waitForURL(`${dashboard.url}/`);
    expect(page.url()).to.equal(`${dashboard.url}/`);
    expect(await page.evaluate(() => history.length >= 1 && !location.href.includes('token'))).to.equal(true);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'phasegate_session');
    expect(session?.httpOnly).to.equal(true);
    expect(session?.sameSite).to.equal('Strict');
  });

  it('the grid shows counts that match the status store and the warehouse, and the failed slice says why', async () => {
    await page.goto(`${dashboard.url}/backfills/${first.id}`);
    const progress = await cascadeProgress(env.rt, first);
    for (const p of [SCRAPER, TRANSFORM])
      for (const s of SLICE_STATES) expect(await shownCount(page, `${p}:${s}`), `${p} ${s}`).to.equal(progress.perProcessor[p]?.[s]);
    expect(await shownCount(page, `${SCRAPER}:committed`)).to.equal(dates.length);
    expect(await shownCount(page, `${TRANSFORM}:committed`)).to.equal(dates.length - 1);
    expect(await shownCount(page, `${TRANSFORM}:failed`)).to.equal(1);
    expect(await page.locator('#state').textContent()).to.equal('finished');

    // The committed cells are exactly the dates the table holds, with the rows it holds.
    const w = await env.rt.warehouse();
    const rows = await w.query(`SELECT CAST(game_date AS VARCHAR) AS d, count(*) AS n FROM ${TABLE} GROUP BY 1 ORDER BY 1`);
    const inTable = new Map(rows.map((r) => [String(r.d), Number(r.n)]));
    const committedCells = await page
      .locator(`tr[data-p="${TRANSFORM}"] td.s-committed`)
      .evaluateAll((tds) => tds.map((td) => ({ date: td.getAttribute('data-d'), title: td.getAttribute('title') ?? '' })));
    expect(committedCells.map((c) => c.date)).to.deep.equal([...inTable.keys()]);
    for (const c of committedCells) expect(Number(/rows: (\d+)/.exec(c.title)?.[1]), `rows of ${c.date}`).to.equal(inTable.get(c.date ?? ''));

    const failed = page.locator(`tr[data-p="${TRANSFORM}"] td.s-failed`);
    expect(await failed.count()).to.equal(1);
    expect(await failed.getAttribute('data-d')).to.equal(badDate);
    const tip = (await failed.getAttribute('title')) ?? '';
    expect(tip).to.include('status: failed');
    expect(tip).to.include(badFile);
    expect(await page.locator('#retry-failed').textContent()).to.equal('Retry failed (1)');
    // Untrusted text stays text: the page runs no script (CSP) and shows none as markup.
    expect(await page.locator('script').count()).to.equal(0);
  });

  it("a failed phase job fails in BullMQ terms: Bull Board's Failed tab lists what the Failures page does", async () => {
    const jobId = phaseJobId(TRANSFORM, badDate);
    const job = await env.rt.queues.phase(2).getJob(jobId);
    expect(await job?.getState()).to.equal('failed');
    // Its status was recorded and its downstream settled before the throw; one attempt, counted once.
    expect(job?.attemptsMade).to.equal(1);
    expect((await env.rt.statuses.get(TRANSFORM, badDate))?.attempts).to.equal(1);
    const api = await page.request.get(`${dashboard.url}/queues/api/queues?activeQueue=phase2&status=failed&page=1`);
    expect(api.status()).to.equal(200);
    const board = (await api.json()) as { queues: { name: string; jobs: { id: string; failedReason?: string }[] }[] };
    const failedJobs = board.queues.find((q) => q.name === 'phase2')?.jobs ?? [];
    expect(failedJobs.map((j) => j.id)).to.include(jobId);
    expect(failedJobs.find((j) => j.id === jobId)?.failedReason).to.include(badFile);

    await page.goto(`${dashboard.url}/failures`);
    const link = page.locator(`tr[data-slice="${TRANSFORM}/${badDate}"] a[data-board="phase-job"]`);
    expect(await link.getAttribute('href')).to.equal(`/queues/queue/phase2/${encodeURIComponent(jobId)}`);
    await page.goto(`${dashboard.url}/backfills/${first.id}`);
  });

  it('"retry failed" requeues the failed slice, which then commits', async () => {
    // The person fixed the input; the retry from the page runs the slice again.
    await env.rt.store.delete(badFile);
    await Promise.all([page.waitForURL(/enqueued=1/), page.locator('#retry-failed').click()]);
    expect(await page.locator('#retry-notice').textContent()).to.match(/^Requeued 1 slice\(s\)/);
    const status = await env.rt.statuses.get(TRANSFORM, badDate);
    expect(status?.status).to.be.oneOf(['pending', 'running', 'staged', 'committed']);
    expect(status?.backfillId).to.equal(first.id);
    await until(async () => (await env.rt.statuses.get(TRANSFORM, badDate))?.status === 'committed', `${TRANSFORM} ${badDate} committed`, 120_000);
    await page.reload();
    expect(await shownCount(page, `${TRANSFORM}:committed`)).to.equal(dates.length);
    expect(await shownCount(page, `${TRANSFORM}:failed`)).to.equal(0);
    expect(await page.locator('#retry-failed').isDisabled()).to.equal(true);
    const [row] = await (await env.rt.warehouse()).query(`SELECT count(DISTINCT game_date) AS d FROM ${TABLE}`);
    expect(Number(row?.d)).to.equal(dates.length);
  });

  it("a cascaded backfill's grid has phases 3–5; the earlier backfill keeps its outcome, marked re-run", async () => {
    const record = await startCascadingBackfill(env.rt, { processors: ROOTS.map((p) => env.rt.registry.get(p)), dates, cascade: true });
    cascade = record;
    const progress = await waitForCascade(env.rt, record, { pollMs: 200, timeoutMs: 240_000 });
    expect(progress.done, 'cascade finished').to.equal(true);
    const downstream = cascadeProcessors(env.rt, record).filter((p) => !ROOTS.includes(p.name));
    expect(downstream.map((p) => p.phase)).to.include.members([3, 4, 5]);

    await page.goto(`${dashboard.url}/backfills/${record.id}`);
    expect(await page.locator('#state').textContent()).to.equal('finished');
    for (const phase of [3, 4, 5]) expect(await page.locator('tr.phase th', { hasText: `phase ${phase} · ` }).count(), `phase ${phase}`).to.be.greaterThan(0);
    for (const p of downstream) {
      const cells = page.locator(`tr[data-p="${p.name}"] td`);
      expect(await cells.count(), p.name).to.equal(dates.length);
      expect(await shownCount(page, `${p.name}:committed`), p.name).to.equal(progress.perProcessor[p.name]?.committed);
      expect(await shownCount(page, `${p.name}:failed`), p.name).to.equal(0);
    }
    expect(await shownCount(page, 'phase5:committed')).to.equal(dates.length);

    // The first backfill's page: its own outcome, every slice marked as re-run by the cascade.
    await page.goto(`${dashboard.url}/backfills/${first.id}`);
    expect(await shownCount(page, `${TRANSFORM}:committed`)).to.equal(dates.length);
    expect(await page.locator(`td[data-rerun="${record.id}"]`).count()).to.equal(2 * dates.length);
    expect(await page.locator(`tr[data-p="${TRANSFORM}"] td`).first().getAttribute('title')).to.include(`re-run by ${record.id} since: now committed`);
    expect(await page.locator('#rerun-notice').count()).to.equal(1);
    // The re-run mark leaves the cell its colour: no outline over it, the committed green under a corner.
    const marked = await page
      .locator(`tr[data-p="${TRANSFORM}"] td[data-rerun]`)
      .first()
      .evaluate((td) => {
        const st = getComputedStyle(td);
        return { colour: st.backgroundColor, outline: st.outlineStyle, mark: st.backgroundImage };
      });
    expect(marked.colour).to.equal('rgb(45, 164, 78)');
    expect(marked.outline).to.equal('none');
    expect(marked.mark).to.include('linear-gradient');
  });

  it('a slice held back by the streaming buffer says why and until when, on the grid and the tables page', async () => {
    const record = cascade as BackfillRecord;
    const date = dates[1] as string;
    // What holdConflicting leaves behind: the slice pending again, in the gate's hold set with
    // its due time, and its status waiting with the next try.
    heldDue = Date.now() + 30 * 60_000;
    await env.rt.gate.register(TABLE, date, {
      object: `staging/${TABLE}/${date}/held.ndjson`,
      rows: 1,
      processor: TRANSFORM,
      stagedAt: new Date().toISOString(),
      backfillId: record.id,
    });
    const { batch } = await env.rt.gate.take(TABLE, 'browser-test-held', { maxSlices: 10, maxRows: 1_000_000 });
    if (!batch) throw new Error('nothing to hold');
    const { batch: rest } = await env.rt.gate.hold(TABLE, batch, [
      { field: date, dueMs: heldDue, info: JSON.stringify({ conflictId: 'cf-browser', processor: TRANSFORM, attempts: 1 }) },
    ]);
    await env.rt.gate.release(TABLE, rest);
    const next = new Date(heldDue).toISOString();
    await env.rt.statuses.update(TRANSFORM, date, { status: 'waiting', error: waitingText(next), nextTryAt: next });

    await page.goto(`${dashboard.url}/backfills/${record.id}`);
    // Waiting work: the backfill is not finished any more.
    expect(await page.locator('#state').textContent()).to.equal('running');
    const held = page.locator(`tr[data-p="${TRANSFORM}"] td[data-d="${date}"]`);
    expect(await held.getAttribute('class')).to.equal('s-waiting');
    expect(await held.getAttribute('data-why')).to.include('streaming-buffer');
    expect(await held.getAttribute('title')).to.include(`waits: streaming buffer until ${when(heldDue)}`);
    await page.screenshot({ path: new URL('dashboard-grid.png', DOCS).pathname, fullPage: true });

    await page.goto(`${dashboard.url}/tables`);
    const why = page.locator(`#waits tr[data-table="${TABLE}"][data-wait="streaming-buffer"]`);
    expect(await why.count()).to.equal(1);
    expect(await why.textContent()).to.include(`streaming buffer until ${when(heldDue)}`);
  });

  it('the tables page shows the table gates and a chart that fits the run', async () => {
    await page.goto(`${dashboard.url}/tables`);
    const row = page.locator(`tr[data-table="${TABLE}"]`).first();
    const today = (await row.locator('td[data-k="ops-today"]').textContent()) ?? '';
    const dml = await env.rt.gate.tableOpsToday(TABLE);
    expect(dml).to.be.greaterThan(0);
    expect(today).to.include(`DML statements today: ${dml} (no daily cap)`);
    expect(today).to.include(`${await env.rt.gate.tableModificationsToday(TABLE)} / 1,500`);
    // The run took minutes, not the hour: its bars spread over the chart instead of a sliver at the right.
    const chart = page.locator('figure.chart', { hasText: 'Commit throughput' });
    const bars = await chart.locator('svg rect[fill]').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('x'))));
    expect(bars.length).to.be.greaterThan(0);
    expect(Math.min(...bars), 'first bar near the left').to.be.below(200);
    expect(await overlapping(page, 'ul.chart-legend', 'li')).to.deep.equal([]);
    await page.screenshot({ path: new URL('dashboard-tables.png', DOCS).pathname, fullPage: true });
  });

  it('Bull Board works behind the same sign-in, under its Content-Security-Policy', async () => {
    await page.goto(`${dashboard.url}/queues`);
    await page.getByText(`Table gate · ${TABLE}`).first().waitFor({ timeout: 20_000 });
    expect(await page.getByText('Phase 2 · raw load').count()).to.be.greaterThan(0);
    // Bull Board runs under its Content-Security-Policy: nothing it needs was refused.
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/.test(e))).to.deep.equal([]);
  });

  it('the pages work at 800 and 1280 px: nothing cut off, charts within the page, legends apart, dates whole', async () => {
    // A failure on the Failures page (a date from an old season, a long reason), so its table is drawn too.
    await env.rt.statuses.update(TRANSFORM, '2022-11-08', {
      status: 'failed',
      attempts: 5,
      error: `${TRANSFORM} 2022-11-08: writing /var/lib/phasegate/store/staging/nba_raw.nbac_player_boxscores/2022-11-08/part-0001.ndjson: no space left on device (ENOSPC)`,
    });
    mkdirSync(SHOTS, { recursive: true });
    const pages: [string, string][] = [
      ['overview', '/'],
      ['tables', '/tables'],
      ['cascade', `/backfills/${cascade?.id}`],
      ['rerun', `/backfills/${first.id}`],
      ['failures', '/failures'],
    ];
    try {
      for (const width of [800, 1280]) {
        await page.setViewportSize({ width, height: 900 });
        for (const [name, path] of pages) {
          await page.goto(dashboard.url + path);
          await page.screenshot({ path: `${SHOTS}/${width}-${name}.png`, fullPage: true });
          expect(await cutOff(page), `${path} at ${width} px`).to.deep.equal([]);
          const client = await page.evaluate(() => document.documentElement.clientWidth);
          const widths = await page.locator('figure.chart svg[role="img"]').evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().right));
          for (const right of widths) expect(right, `${path} chart`).to.be.at.most(client);
          expect(await overlapping(page, 'ul.chart-legend', 'li'), path).to.deep.equal([]);
          expect(await overlapping(page, 'header.top', 'a, form'), `${path} navigation`).to.deep.equal([]);
        }
        // The table gates' breaker column is on screen, not scrolled away.
        await page.goto(`${dashboard.url}/tables`);
        const breaker = await page.locator(`#gates tr[data-table="${TABLE}"] td[data-k="breaker"]`).boundingBox();
        expect(breaker, 'breaker cell').to.not.equal(null);
        expect((breaker?.x ?? 0) + (breaker?.width ?? 0), `breaker at ${width} px`).to.be.at.most(width);
        expect(await page.locator(`#gates tr[data-table="${TABLE}"] td[data-k="breaker"]`).isVisible()).to.equal(true);
        // The depth chart says what span it covers.
        expect(await page.locator('figure.chart figcaption', { hasText: 'Queue depth' }).textContent()).to.match(
          /Queue depth (since the dashboard started \(\d\d:\d\d UTC|, last hour)/,
        );
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("a slice that failed at its table gate or was deferred: the Failures page links the gate's queue, not a phase job", async () => {
    // Both phase jobs completed (they staged their slices); what failed came after, at the gate.
    const [atGate, deferred] = [dates[0] as string, dates[3] as string];
    for (const d of [atGate, deferred]) expect(await env.rt.queues.phase(2).getJobState(phaseJobId(TRANSFORM, d)), d).to.equal('completed');
    const before = await Promise.all([atGate, deferred].map((d) => env.rt.statuses.get(TRANSFORM, d)));
    try {
      await env.rt.statuses.update(TRANSFORM, atGate, { status: 'failed', error: 'commit of 1 slices to nba_raw.nbac_player_boxscores: a permanent error' });
      await env.rt.statuses.update(TRANSFORM, deferred, { status: 'deferred', error: 'waited past the longest streaming-buffer wait' });
      await page.goto(`${dashboard.url}/failures`);
      const gate = `/queues/queue/${encodeURIComponent(`commit-${TABLE}`)}`;
      expect(await page.locator(`tr[data-slice="${TRANSFORM}/${atGate}"] a[data-board="table-gate"]`).getAttribute('href')).to.equal(`${gate}?status=failed`);
      expect(await page.locator(`tr[data-slice="${TRANSFORM}/${deferred}"] a[data-board="deferred"]`).getAttribute('href')).to.equal(gate);
      expect(await page.locator(`tr[data-slice="${TRANSFORM}/${deferred}"]`).textContent()).to.include('no job failed');
    } finally {
      for (const [i, d] of [atGate, deferred].entries()) {
        const s = before[i];
        if (s) await env.rt.statuses.set(TRANSFORM, d, s);
      }
    }
  });

  // The Coverage page (/coverage) is another engineer's; this checks that its route answers
  // behind the sign-in and renders inside the shared frame.
  it('the coverage page answers behind the sign-in', async () => {
    const res = await page.goto(`${dashboard.url}/coverage`);
    expect(res?.status()).to.equal(200);
    expect(await page.locator('h1').textContent()).to.equal('Source coverage');
    expect(await page.locator('header.top a.active').textContent()).to.equal('Coverage');
  });

  it('signing out revokes the session on the server: the old cookie answers 401', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'phasegate_session');
    expect(cookie).to.not.equal(undefined);
    const header = { cookie: `phasegate_session=${cookie?.value}` };
    expect((await fetch(`${dashboard.url}/tables`, { headers: header })).status).to.equal(200);
    await page.goto(`${dashboard.url}/`);
    await Promise.all([page.waitForURL(/\/login/), page.locator('header.top form button', { hasText: 'Sign out' }).click()]);
    expect((await context.cookies()).find((c) => c.name === 'phasegate_session')).to.equal(undefined);
    // The cookie a thief copied before the sign-out is worth nothing after it.
    for (const path of ['/tables', '/queues/api/queues', `/backfills/${first.id}`])
      expect((await fetch(dashboard.url + path, { headers: header })).status, path).to.equal(401);
    expect((await page.goto(`${dashboard.url}/tables`))?.status()).to.equal(401);
  });

  it('no request of the whole session left 127.0.0.1 (Bull Board included)', () => {
    expect(requested.length).to.be.greaterThan(20);
    expect(requested.some((u) => u.includes('/queues/static/'))).to.equal(true);
    const outside = requested.filter((u) => {
      if (u.startsWith('data:') || u.startsWith('about:')) return false;
      return new URL(u).hostname !== '127.0.0.1';
    });
    expect(outside).to.deep.equal([]);
  });
});
