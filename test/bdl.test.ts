/**
 * balldontlie, the fallback source: its SDK over HTTP intercepted with nock on the response
 * shapes of its public documentation (cursor pagination, 401, 429 with Retry-After, 5xx), the
 * team-id and game-id mapping for all 30 teams, and the scraper on its own rate-limited queue
 * through real Redis.
 */
import { expect } from 'chai';
import nock from 'nock';
import { waitForBackfill } from '../src/cli/progress.ts';
import { ConfigError } from '../src/errors/config-error.ts';
import { RateLimitedError } from '../src/errors/rate-limited-error.ts';
import { BdlApiSource, retryAfterMs } from '../src/processors/bdl/client.ts';
import { matchGame } from '../src/processors/bdl/games.ts';
import { BDL_PLAYER_BOXSCORE_PREFIX } from '../src/processors/bdl/player-boxscore-scraper.ts';
import type { BdlStat } from '../src/processors/bdl/stats.ts';
import { bdlTeamId, bdlTeams, nbaTeamId } from '../src/processors/bdl/teams.ts';
import type { BoxscoreSource } from '../src/processors/types.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { FixtureSource } from '../src/sources/fixture/fixture-source.ts';
import { allTeams } from '../src/sources/fixture/teams.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const API = 'https://api.balldontlie.io';
const DATE = '2025-04-15';
const fixture = new FixtureSource();

/** A documented `/nba/v1/stats` row (team and game as the API nests them), from the fixture's lines. */
async function documentedRows(date: string): Promise<Record<string, unknown>[]> {
  return (await fixture.bdlStats(date)).map((s: BdlStat) => ({
    ...s,
    player: {
      ...s.player,
      height: '6-6',
      weight: '215',
      jersey_number: '7',
      college: 'None',
      country: 'USA',
      draft_year: 2019,
      draft_round: 1,
      draft_number: 3,
      team_id: s.team.id,
    },
    team: { id: s.team.id, conference: 'East', division: 'Atlantic', city: 'City', name: 'Name', full_name: 'City Name', abbreviation: s.team.abbreviation },
    game: { ...s.game, status: 'Final', period: 4, time: 'Final', home_team_score: 110, visitor_team_score: 104 },
  }));
}

describe('balldontlie (fallback source)', function () {
  this.timeout(60_000);
  afterEach(() => nock.cleanAll());

  describe('SDK client over HTTP', () => {
    it('follows meta.next_cursor over two pages, sending the key and per_page=100', async () => {
      const rows = await documentedRows(DATE);
      const half = Math.ceil(rows.length / 2);
      const seen: (string | undefined)[] = [];
      nock(API)
        .get('/nba/v1/stats')
        .query({ 'dates[]': DATE, per_page: '100' })
        .reply(function () {
          seen.push(this.req.headers.authorization as string | undefined);
          return [200, { data: rows.slice(0, half), meta: { next_cursor: 4242, per_page: 100 } }];
        })
        .get('/nba/v1/stats')
        .query({ 'dates[]': DATE, per_page: '100', cursor: '4242' })
        .reply(200, { data: rows.slice(half), meta: { per_page: 100 } });
      const got = await new BdlApiSource({ apiKey: 'test-key' }).bdlStats(DATE);
      expect(got).to.have.length(rows.length);
      expect(got.map((r) => r.id)).to.deep.equal(rows.map((r) => r.id));
      expect(seen).to.deep.equal(['test-key']);
      expect(nock.isDone()).to.equal(true);
    });

    it('a 401 is one line naming PHASEGATE_BDL_API_KEY, not retried', async () => {
      nock(API).get('/nba/v1/stats').query(true).reply(401, { error: 'Unauthorized' });
      const err = await new BdlApiSource({ apiKey: 'wrong' }).bdlStats(DATE).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as Error).message).to.match(/^PHASEGATE_BDL_API_KEY: balldontlie refused the key \(HTTP 401\)/);
      expect((err as Error).message).to.not.include('\n');
      expect(nock.isDone()).to.equal(true);
    });

    it('a 429 carries its Retry-After; 5xx are retried, then the page answers', async () => {
      nock(API).get('/nba/v1/stats').query(true).reply(429, 'Too Many Requests', { 'Retry-After': '7' });
      const err = await new BdlApiSource({ apiKey: 'k' }).bdlStats(DATE).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(RateLimitedError);
      expect((err as RateLimitedError).retryAfterMs).to.equal(7000);
      nock(API).get('/nba/v1/stats').query(true).reply(503, 'unavailable').get('/nba/v1/stats').query(true).reply(502, 'bad gateway');
      nock(API)
        .get('/nba/v1/stats')
        .query(true)
        .reply(200, { data: (await documentedRows(DATE)).slice(0, 3), meta: { per_page: 100 } });
      expect(await new BdlApiSource({ apiKey: 'k', backoffMs: 1 }).bdlStats(DATE)).to.have.length(3);
      expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:30 GMT'))).to.equal(30_000);
      expect(retryAfterMs(null)).to.equal(60_000);
    });
  });

  describe('ids', () => {
    it('maps every balldontlie team id (1–30) to NBA.com and back', () => {
      const nba = new Map(allTeams().map((t) => [t.abbr, t.teamId]));
      expect(bdlTeams()).to.have.length(30);
      for (const t of bdlTeams()) {
        expect(nba.get(t.abbr), t.abbr).to.equal(t.nbaId);
        expect(nbaTeamId(t.bdlId)).to.equal(t.nbaId);
        expect(bdlTeamId(t.nbaId)).to.equal(t.bdlId);
      }
      expect(() => nbaTeamId(31)).to.throw(/not one of the 30 teams/);
    });

    it("maps a balldontlie game to NBA.com's game id by date, home and visitor, for every team", async () => {
      const dates = await fixture.gameDates('2023-10-24', '2024-04-14');
      const seen = new Set<number>();
      for (const d of dates) {
        const games = await fixture.games(d);
        for (const g of games) {
          if (seen.has(g.homeTeamId)) continue;
          seen.add(g.homeTeamId);
          const game = { id: 1, date: d, season: 2023, home_team_id: bdlTeamId(g.homeTeamId), visitor_team_id: bdlTeamId(g.awayTeamId) };
          expect(matchGame(games, game)?.gameId, `${g.homeAbbr} at home on ${d}`).to.equal(g.gameId);
          // The same teams the other way round are another game (or none).
          expect(matchGame(games, { ...game, home_team_id: game.visitor_team_id, visitor_team_id: game.home_team_id })?.gameId).to.not.equal(g.gameId);
        }
        if (seen.size === 30) break;
      }
      expect(seen.size).to.equal(30);
    });
  });

  describe('the scraper on its own rate-limited queue', () => {
    let env: TestEnv;
    /** NBA.com's schedule without the fixture's balldontlie: the scraper must use the API. */
    const scheduleOnly: BoxscoreSource = {
      gameDates: (s, e) => fixture.gameDates(s, e),
      games: (d) => fixture.games(d),
      covers: (d) => fixture.covers(d),
      dateOfGame: (id) => fixture.dateOfGame(id),
      playerBoxscore: async () => null,
      teamBoxscore: async () => null,
    };
    before(async () => {
      env = await openTestRuntime({ PHASEGATE_BDL_API_KEY: 'test-key', PHASEGATE_TIME_SCALE: '200' }, { source: scheduleOnly });
      await env.rt.startWorkers({ phases: [1, 2], commit: true, concurrency: 1 });
    });
    after(async () => env.cleanup());

    it('a 429 pauses the queue for its Retry-After and the job then lands, using no attempt', async () => {
      const rows = await documentedRows(DATE);
      nock(API).get('/nba/v1/stats').query(true).reply(429, 'slow down', { 'Retry-After': '1' });
      nock(API)
        .get('/nba/v1/stats')
        .query(true)
        .reply(200, { data: rows, meta: { per_page: 100 } });
      const started = Date.now();
      const record = await startBackfill(env.rt, {
        processors: [env.rt.registry.get('bdl_player_boxscore_scraper'), env.rt.registry.get('bdl_player_boxscore')],
        dates: [DATE],
      });
      const { progress } = await waitForBackfill(env.rt, record, { bars: false, pollMs: 50, timeoutMs: 30_000 });
      expect(progress.perProcessor.bdl_player_boxscore).to.include({ committed: 1 });
      expect(Date.now() - started).to.be.at.least(1000);
      const scraped = await env.rt.statuses.get('bdl_player_boxscore_scraper', DATE);
      expect(scraped?.status).to.equal('committed');
      // The rate-limited run did not count: the run that landed is the first attempt.
      expect(scraped?.attempts).to.equal(1);
      const job = await env.rt.queues.source('balldontlie').getJob(`bdl_player_boxscore_scraper.${DATE}`);
      // BullMQ counts the run that completed; the rate-limited one is not an attempt.
      expect(job?.attemptsMade, 'a rate-limited run is not an attempt').to.equal(1);
      expect(await env.rt.store.list(BDL_PLAYER_BOXSCORE_PREFIX(DATE))).to.have.length((await fixture.games(DATE)).length);
      const w = await env.rt.warehouse();
      const n = await w.query('SELECT count(DISTINCT game_id) AS g FROM nba_raw.bdl_player_boxscores WHERE game_date = $d', { d: DATE });
      expect(n[0]?.g).to.equal((await fixture.games(DATE)).length);
    });

    it('a 401 fails the scrape at once with the line naming the variable', async () => {
      nock(API).get('/nba/v1/stats').query(true).reply(401, { error: 'Unauthorized' });
      const date = '2025-04-16';
      await startBackfill(env.rt, { processors: [env.rt.registry.get('bdl_player_boxscore_scraper')], dates: [date] });
      const s = await until(async () => {
        const st = await env.rt.statuses.get('bdl_player_boxscore_scraper', date);
        return st?.status === 'failed' && st;
      }, 'the scrape to fail');
      expect(s.error).to.match(/PHASEGATE_BDL_API_KEY: balldontlie refused the key/);
      expect(s.attempts).to.equal(1);
    });
  });
});
