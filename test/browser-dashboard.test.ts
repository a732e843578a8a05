/**
 * End to end in a real browser: headless Chromium (the distribution's package, driven by
 * playwright-core; nothing is downloaded) against a dashboard serving a small real backfill —
 * real queues, workers, Redis and DuckDB behind the BigQuery rules — with one slice made to
 * fail by a malformed raw file. Signs in with the printed login URL, checks the grid against
 * the status store and the warehouse, retries the failed slice from the page and watches it
 * requeue and commit, and saves screenshots of the grid and the tables page under docs/.
 */

import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { expect } from 'chai';
import { type Browser, chromium, type Page } from 'playwright-core';
import { waitForBackfill } from '../src/cli/progress.ts';
import { type RunningDashboard, startDashboard } from '../src/dashboard/index.ts';
import type { TransformDef } from '../src/processors/types.ts';
import { backfillProgress, startBackfill } from '../src/queues/backfill.ts';
import { PHASES } from '../src/queues/names.ts';
import { SLICE_STATES } from '../src/queues/status-store.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCRAPER = 'nbac_player_boxscore_scraper';
const TRANSFORM = 'nbac_player_boxscore';
const START = '2023-11-01';
const END = '2023-11-08';
// Screenshots go to a temporary folder; PHASEGATE_UPDATE_SCREENSHOTS=1 writes the ones
// committed under docs/ (so a test run does not dirty the tree).
const DOCS = process.env.PHASEGATE_UPDATE_SCREENSHOTS === '1' ? new URL('../docs/', import.meta.url) : new URL(`file://${tmpdir()}/`);

async function shownCount(page: Page, processor: string, state: string): Promise<number> {
  const text = await page.locator(`[data-count="${processor}:${state}"]`).textContent();
  return Number((text ?? '').replace(/,/g, ''));
}

describe('dashboard in headless Chromium: a real backfill with a failed slice', function () {
  this.timeout(240_000);
  let env: TestEnv;
  let dashboard: RunningDashboard;
  let browser: Browser;
  let page: Page;
  let dates: string[];
  let badDate: string;
  let badFile: string;
  let backfillId: string;
  const announced: string[] = [];

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
    const record = await startBackfill(env.rt, { processors: [SCRAPER, TRANSFORM].map((p) => env.rt.registry.get(p)), dates });
    backfillId = record.id;
    await waitForBackfill(env.rt, record, { bars: false, pollMs: 100, timeoutMs: 120_000 });
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
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await env?.cleanup();
  });

  it('signs in with the printed login URL; without it the browser gets 401', async () => {
    const denied = await page.goto(`${dashboard.url}/backfills/${backfillId}`);
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
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'phasegate_session');
    expect(session?.httpOnly).to.equal(true);
    expect(session?.sameSite).to.equal('Strict');
  });

  it('the grid shows counts that match the status store and the warehouse, and the failed slice says why', async () => {
    await page.goto(`${dashboard.url}/backfills/${backfillId}`);
    const record = { id: backfillId, createdAt: '', processors: [SCRAPER, TRANSFORM], dates, priority: 10, cascade: false };
    const progress = await backfillProgress(env.rt, record);
    for (const p of [SCRAPER, TRANSFORM])
      for (const s of SLICE_STATES) expect(await shownCount(page, p, s), `${p} ${s}`).to.equal(progress.perProcessor[p]?.[s]);
    expect(await shownCount(page, SCRAPER, 'committed')).to.equal(dates.length);
    expect(await shownCount(page, TRANSFORM, 'committed')).to.equal(dates.length - 1);
    expect(await shownCount(page, TRANSFORM, 'failed')).to.equal(1);

    // The committed cells are exactly the dates the table holds, with the rows it holds.
    const w = await env.rt.warehouse();
    const rows = await w.query('SELECT CAST(game_date AS VARCHAR) AS d, count(*) AS n FROM nba_raw.nbac_player_boxscores GROUP BY 1 ORDER BY 1');
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
    await page.screenshot({ path: new URL('dashboard-grid.png', DOCS).pathname, fullPage: true });
  });

  it('"retry failed" requeues the failed slice, which then commits', async () => {
    // The person fixed the input; the retry from the page runs the slice again.
    await env.rt.store.delete(badFile);
    await Promise.all([page.waitForURL(/enqueued=1/), page.locator('#retry-failed').click()]);
    expect(await page.locator('#retry-notice').textContent()).to.match(/^Requeued 1 slice\(s\)/);
    const status = await env.rt.statuses.get(TRANSFORM, badDate);
    expect(status?.status).to.be.oneOf(['pending', 'running', 'staged', 'committed']);
    expect(status?.backfillId).to.equal(backfillId);
    await until(async () => (await env.rt.statuses.get(TRANSFORM, badDate))?.status === 'committed', `${TRANSFORM} ${badDate} committed`, 120_000);
    await page.reload();
    expect(await shownCount(page, TRANSFORM, 'committed')).to.equal(dates.length);
    expect(await shownCount(page, TRANSFORM, 'failed')).to.equal(0);
    expect(await page.locator('#retry-failed').isDisabled()).to.equal(true);
    const [row] = await (await env.rt.warehouse()).query('SELECT count(DISTINCT game_date) AS d FROM nba_raw.nbac_player_boxscores');
    expect(Number(row?.d)).to.equal(dates.length);
  });

  it('the tables page shows the table gates, and Bull Board works behind the same sign-in', async () => {
    await page.goto(`${dashboard.url}/tables`);
    const row = page.locator('tr[data-table="nba_raw.nbac_player_boxscores"]');
    expect(await row.count()).to.equal(1);
    const today = await row.locator('td[data-k="ops-today"]').textContent();
    const opsToday = await env.rt.gate.tableOpsToday('nba_raw.nbac_player_boxscores');
    expect(opsToday).to.be.greaterThan(0);
    expect(today).to.include(`${opsToday} / 1,500`);
    expect(await page.locator('figure.chart svg rect[fill]').count()).to.be.greaterThan(0);
    await page.screenshot({ path: new URL('dashboard-tables.png', DOCS).pathname, fullPage: true });

    await page.goto(`${dashboard.url}/queues`);
    await page.getByText('Table gate · nba_raw.nbac_player_boxscores').first().waitFor({ timeout: 20_000 });
    expect(await page.getByText('Phase 2 · raw load').count()).to.be.greaterThan(0);
  });
});
