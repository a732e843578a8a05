/**
 * The backfill grid at the incident's size: 853 game dates × 2 processors (and × 6), seeded
 * straight into Redis. Reports the server's time as a benchmark figure (printed, not asserted:
 * a timing assertion would be flaky on a loaded CI machine) and asserts the page's counts.
 */
import { expect } from 'chai';
import { measureGrid, seasonDates, seedGridBackfill } from '../scripts/bench/dashboard-grid.ts';
import { type RunningDashboard, startDashboard } from '../src/dashboard/start-dashboard.ts';
import { SLICE_STATES } from '../src/queues/status-store.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

const TOKEN = 'grid-bench-token-0123456789';

describe('dashboard: backfill grid at 853 dates', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let d: RunningDashboard;

  before(async () => {
    env = await openTestRuntime();
    d = await startDashboard(env.rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined });
  });
  after(async () => {
    await d?.close();
    await env?.cleanup();
  });

  for (const processors of [
    ['nbac_player_boxscore_scraper', 'nbac_player_boxscore'],
    ['nbac_player_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore_scraper', 'nbac_team_boxscore', 'bench_processor_5', 'bench_processor_6'],
  ]) {
    it(`853 dates × ${processors.length} processors: every cell and every count is right (server time reported)`, async () => {
      const dates = seasonDates(853);
      expect(new Set(dates).size).to.equal(853);
      const { record, expected } = await seedGridBackfill(env.rt, { dates, processors });
      const { timing, body } = await measureGrid(`${d.url}/backfills/${record.id}`, { authorization: `Bearer ${TOKEN}` }, 5);
      console.log(
        `      grid ${dates.length} dates × ${processors.length} processors (${dates.length * processors.length} cells): server ${timing.serverMs} ms (Redis ${timing.redisMs} ms), round trip ${timing.roundTripMs} ms, ${(timing.bytes / 1024).toFixed(0)} KiB`,
      );

      expect(body.match(/<td class="s-/g)).to.have.length(dates.length * processors.length);
      for (const p of processors) {
        for (const s of SLICE_STATES) {
          const shown = Number(new RegExp(`data-count="${p}:${s}">([0-9,]+)<`).exec(body)?.[1]?.replace(/,/g, ''));
          expect(shown, `${p} ${s}`).to.equal(expected[p]?.[s]);
        }
        const row = body.match(new RegExp(`<tr data-p="${p}">[\\s\\S]*?</tr>`, 'g')) ?? [];
        const cells = row.join('').match(/<td class="s-[a-z]+"/g) ?? [];
        expect(cells, p).to.have.length(dates.length);
        for (const s of SLICE_STATES) expect(cells.filter((c) => c === `<td class="s-${s}"`).length, `${p} ${s} cells`).to.equal(expected[p]?.[s]);
      }
      const retryable = processors.reduce((n, p) => n + (expected[p]?.failed ?? 0) + (expected[p]?.deferred ?? 0), 0);
      expect(body).to.include(`Retry failed (${retryable})`);
      expect(body).to.not.include('<script>alert(1)</script>');
      expect(Number.isFinite(timing.serverMs)).to.equal(true);
    });
  }
});
