/**
 * The Coverage page is honest about what it read: when it cannot read the warehouse it says
 * so and why, and never calls an empty calendar "gold"; without `?start=&end=` its date inputs
 * show the dates it draws, the month ending at the latest date the warehouse holds.
 */
import { expect } from 'chai';
import { addDays } from '../src/coverage/window.ts';
import { type RunningDashboard, startDashboard } from '../src/dashboard/start-dashboard.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { PHASES } from '../src/queues/names.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { openRuntimes, openTestRuntime, type TestEnv, until } from './helpers.ts';

const TOKEN = 'coverage-page-token-0123456789';
const DATES = ['2024-04-12', '2024-04-14'] as const;

async function page(d: RunningDashboard, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${d.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.text() };
}

function inputValue(body: string, name: string): string | undefined {
  return new RegExp(`<input type="date" name="${name}" value="([^"]*)"`).exec(body)?.[1];
}

describe('dashboard: the Coverage page says what it could read', function () {
  this.timeout(60_000);
  let env: TestEnv;

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '10' });
  });
  after(async () => {
    await env?.cleanup();
  });

  it('no worker holds the DuckDB file: it says it could not read the warehouse and why, never "gold" over nothing', async () => {
    // A dashboard process of its own: it never opens the file, and no worker serves reads of it.
    const rt: Runtime = await openRuntime(env.config, { redisExplicit: true });
    openRuntimes.set(rt, 'dashboard-coverage.test.ts unreadable');
    const d = await startDashboard(rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, readOnly: true });
    try {
      const { status, body } = await page(d, '/coverage');
      expect(status).to.equal(200);
      const line = /<p class="warn" role="alert" id="unreadable">([^<]*)<\/p>/.exec(body)?.[1];
      expect(line).to.match(/^Could not read the warehouse: no worker process holds the embedded DuckDB file/);
      expect(body).to.not.include('Every date shown is gold');
      expect(body).to.not.match(/class="cov-gold" data-d=/);
      expect(rt.openedWarehouse()).to.equal(undefined);
      // The same with a range asked for: the inputs keep it.
      const ranged = await page(d, '/coverage?start=2024-04-01&end=2024-04-14');
      expect(ranged.body).to.include('Could not read the warehouse');
      expect(ranged.body).to.not.include('Every date shown is gold');
      expect(inputValue(ranged.body, 'start')).to.equal('2024-04-01');
      expect(inputValue(ranged.body, 'end')).to.equal('2024-04-14');
    } finally {
      await d.close();
      openRuntimes.delete(rt);
      await rt.close();
    }
  });

  it('without a range it draws the month ending at the latest date that holds data, and its inputs say so', async () => {
    const rt = env.rt;
    await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    const record = await startCascadingBackfill(rt, {
      processors: ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper'].map((p) => rt.registry.get(p)),
      dates: [...DATES],
      cascade: true,
    });
    await until(async () => (await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 1 })).done, 'the two dates through phase 5', 40_000);
    const d = await startDashboard(rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, readOnly: true });
    try {
      const { status, body } = await page(d, '/coverage');
      expect(status).to.equal(200);
      expect(body).to.include('read from the warehouse now');
      expect(body).to.not.include('Could not read the warehouse');
      expect(inputValue(body, 'end')).to.equal('2024-04-14');
      expect(inputValue(body, 'start')).to.equal(addDays('2024-04-14', -30));
      for (const date of DATES) expect(body).to.match(new RegExp(`<td class="cov-gold" data-d="${date}"`));
    } finally {
      await d.close();
    }
  });
});
