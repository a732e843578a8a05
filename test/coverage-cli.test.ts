/**
 * Seeing coverage: the 2024-25 Play-In games NBA.com has no box score for (seed 004) go
 * through the pipeline, the audit fills them from balldontlie, and `phasegate coverage` lists
 * each with its source and tier; the dashboard's Coverage page draws the same dates, from
 * the warehouse when its process holds it and from the last audit's snapshot otherwise.
 */
import { expect } from 'chai';
import { runAudit } from '../src/coverage/audit.ts';
import type { DateCoverage } from '../src/coverage/report.ts';
import { type RunningDashboard, startDashboard } from '../src/dashboard/start-dashboard.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { PHASES } from '../src/queues/names.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { openRuntimes, openTestRuntime, runCli, type TestEnv } from './helpers.ts';

/** Seed 004's six Play-In games, by date. */
const PLAY_IN: Record<string, string[]> = {
  '2025-04-15': ['0052400101', '0052400121'],
  '2025-04-16': ['0052400111', '0052400131'],
  '2025-04-18': ['0052400201', '0052400211'],
};
const GAMES = Object.values(PLAY_IN).flat();
const TOKEN = 'coverage-token-0123456789';

describe('phasegate coverage and the Coverage page', function () {
  this.timeout(240_000);
  let env: TestEnv;

  const cliEnv = () => ({
    REDIS_URL: env.config.redisUrl,
    PHASEGATE_PREFIX: env.config.prefix,
    PHASEGATE_DATA_DIR: env.config.dataDir,
    PHASEGATE_FIXTURE_MISSING_GAMES: GAMES.join(','),
    PHASEGATE_LOG_LEVEL: 'error',
  });

  async function page(d: RunningDashboard, path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
    const res = await fetch(`${d.url}${path}`, { headers });
    return { res, body: await res.text() };
  }

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_FIXTURE_MISSING_GAMES: GAMES.join(',') });
    await env.rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    const dates = await env.rt.source.gameDates('2025-04-15', '2025-04-18');
    expect(dates).to.deep.equal(Object.keys(PLAY_IN));
    const record = await startCascadingBackfill(env.rt, {
      processors: ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper'].map((p) => env.rt.registry.get(p)),
      dates,
      cascade: true,
    });
    await waitForCascade(env.rt, record, { pollMs: 200, timeoutMs: 60_000 });
    // NBA.com has nothing for these nights; the audit asks balldontlie, and phase 3 follows.
    const report = await runAudit(env.rt, { start: '2025-04-15', end: '2025-04-18' });
    expect(report.fallback?.games).to.have.members(GAMES);
    expect(report.critical).to.deep.equal([]);
  });

  after(async () => {
    await env?.cleanup();
  });

  it('the page draws each date by its worst tier, live from the warehouse its process holds, escaped and behind auth', async () => {
    const d = await startDashboard(env.rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, readOnly: false });
    try {
      const denied = await page(d, '/coverage', {});
      expect(denied.res.status).to.equal(401);
      const { res, body } = await page(d, '/coverage?start=2025-04-15&end=2025-04-18');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-security-policy')).to.include("default-src 'none'");
      expect(body).to.include('read from the warehouse now');
      for (const [date, games] of Object.entries(PLAY_IN)) {
        const cell = new RegExp(`<td class="cov-silver" data-d="${date}" title="([^"]*)"`).exec(body);
        expect(cell, date).to.not.equal(null);
        for (const g of games) expect(cell?.[1]).to.include(`${g}: sources bdl · tier silver · missing from nbac`);
      }
      expect(body).to.not.match(/<script/i);
      const bad = await page(d, '/coverage?start=2025-04-15&end=<script>');
      expect(bad.res.status).to.equal(400);
      expect(bad.body).to.not.include('<script>');
    } finally {
      await d.close();
    }
  });

  it('`phasegate coverage --start 2025-04-15 --end 2025-04-18 --json` lists the six Play-In games with source and tier', async () => {
    // The CLI is another process: this one lets go of the DuckDB file first.
    openRuntimes.delete(env.rt);
    await env.rt.close();
    const run = await runCli(['coverage', '--start', '2025-04-15', '--end', '2025-04-18', '--json'], cliEnv());
    expect(run.code, run.stderr).to.equal(0);
    const out = JSON.parse(run.stdout) as { from: string; sources: string[]; dates: DateCoverage[] };
    expect(out.from).to.equal('warehouse');
    expect(out.sources).to.deep.equal(['nbac', 'bdl']);
    expect(out.dates.map((x) => x.date)).to.deep.equal(Object.keys(PLAY_IN));
    for (const date of out.dates) {
      expect(date).to.deep.include({ scheduledGames: 2, found: { nbac: 0, bdl: 2 }, analyticsGames: 2, worst: 'silver', missing: [] });
      expect(date.tiers).to.deep.equal({ gold: 0, silver: 2, bronze: 0, none: 0 });
      expect(date.games.map((g) => g.gameId)).to.have.members(PLAY_IN[date.date] ?? []);
      for (const g of date.games) expect(g).to.deep.include({ scheduled: true, sources: ['bdl'], missingFrom: ['nbac'], tier: 'silver', primarySource: 'bdl' });
    }
    const text = await runCli(['coverage', '--start', '2025-04-15', '--end', '2025-04-18'], cliEnv());
    expect(text.code, text.stderr).to.equal(0);
    for (const g of GAMES) expect(text.stdout).to.match(new RegExp(`${g} {2}sources bdl {2}tier silver \\(bdl\\) {2}missing from nbac`));
  });

  it('`phasegate audit` of the same window finds nothing new, alerts nothing and exits 0', async () => {
    const run = await runCli(['audit', '--since', '2025-04-15', '--until', '2025-04-18', '--json'], cliEnv());
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as { dates: number; critical: unknown[]; announced: { critical: number; digest: number }; fallback?: unknown };
    expect(report).to.deep.include({ dates: 3, critical: [], announced: { critical: 0, digest: 0 } });
    expect(report.fallback).to.equal(undefined);
    const bad = await runCli(['audit', '--since', 'yesterday-ish'], cliEnv());
    expect(bad.code).to.equal(2);
  });

  it("while a worker holds the warehouse, `coverage` reads it through the worker's relay and `audit` is run by that worker", async () => {
    const rt: Runtime = await openRuntime(env.config, { redisExplicit: true });
    openRuntimes.set(rt, 'coverage-cli.test.ts worker');
    try {
      await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 1 });
      const coverage = await runCli(['coverage', '--start', '2025-04-15', '--end', '2025-04-18', '--json'], cliEnv());
      expect(coverage.code, coverage.stderr).to.equal(0);
      expect(coverage.stderr).to.not.include('a worker holds the warehouse');
      const out = JSON.parse(coverage.stdout) as { from: string; dates: DateCoverage[] };
      expect(out.from).to.equal('warehouse');
      expect(out.dates.map((d) => d.worst)).to.deep.equal(['silver', 'silver', 'silver']);
      const audit = await runCli(['audit', '--since', '2025-04-15', '--until', '2025-04-18', '--json'], cliEnv());
      expect(audit.code, audit.stderr).to.equal(0);
      expect(audit.stderr).to.include('queued for it');
      expect(JSON.parse(audit.stdout)).to.deep.include({ dates: 3, critical: [] });
    } finally {
      openRuntimes.delete(rt);
      await rt.close();
    }
  });

  it('without the warehouse, the page shows the last audit from Redis', async () => {
    // A dashboard process that never opens the warehouse (a worker holds it).
    const rt: Runtime = await openRuntime(env.config, { redisExplicit: true });
    openRuntimes.set(rt, 'coverage-cli.test.ts');
    const d = await startDashboard(rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, readOnly: false });
    try {
      const { res, body } = await page(d, '/coverage');
      expect(res.status).to.equal(200);
      expect(body).to.include('as of the last audit');
      expect(body.match(/<td class="cov-silver" data-d="2025-04-1\d"/g)).to.have.length(3);
      expect(rt.openedWarehouse()).to.equal(undefined);
    } finally {
      await d.close();
      openRuntimes.delete(rt);
      await rt.close();
    }
  });
});
