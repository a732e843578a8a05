import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { ConfigError } from '../src/errors/config-error.ts';
import { ScraperServiceError } from '../src/errors/scraper-service-error.ts';
import { ScraperServiceSource } from '../src/sources/scraper-service.ts';

interface Seen {
  method: string | undefined;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

type Handler = (seen: Seen, n: number, res: http.ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 answering each request with `handler`. */
async function serve(handler: Handler): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const s = { method: req.method, contentType: req.headers['content-type'], body: JSON.parse(raw || '{}') as Record<string, unknown> };
      seen.push(s);
      handler(s, seen.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/scrape`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        // fetch keeps connections alive; drop them so close() returns now.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const GAME = { gameId: '0022400123', gameDate: '2024-11-12', homeTeamId: 1610612738, awayTeamId: 1610612752, homeAbbr: 'BOS', awayAbbr: 'NYK' };

async function rejection(p: Promise<unknown>): Promise<ScraperServiceError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ScraperServiceError);
    return err as ScraperServiceError;
  }
  throw new Error('expected a ScraperServiceError');
}

describe('scraper-service source', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });
  async function server(handler: Handler) {
    const s = await serve(handler);
    closers.push(s.close);
    return s;
  }

  it('POSTs {scraper, date, game_id} as JSON and returns the parsed body', async () => {
    const s = await server((_seen, _n, res) => json(res, 200, { resultSets: [{ name: 'PlayerStats' }] }));
    const source = new ScraperServiceSource({ url: s.url });
    expect(await source.playerBoxscore(GAME)).to.deep.equal({ resultSets: [{ name: 'PlayerStats' }] });
    await source.teamBoxscore(GAME);
    expect(s.seen.map((x) => x.body)).to.deep.equal([
      { scraper: 'nbac_player_boxscore', date: '2024-11-12', game_id: '0022400123' },
      { scraper: 'nbac_team_boxscore', date: '2024-11-12', game_id: '0022400123' },
    ]);
    expect(s.seen[0]).to.include({ method: 'POST', contentType: 'application/json' });
  });

  it('retries after a 500 and returns the next answer', async () => {
    const s = await server((_seen, n, res) => (n === 1 ? json(res, 500, { error: 'boom' }) : json(res, 200, { ok: n })));
    const source = new ScraperServiceSource({ url: s.url, backoffMs: 10 });
    expect(await source.playerBoxscore(GAME)).to.deep.equal({ ok: 2 });
    expect(s.seen).to.have.length(2);
  });

  it('gives up after the configured attempts with an error saying why', async () => {
    const s = await server((_seen, _n, res) => json(res, 503, { error: 'NBA.com throttled us' }));
    const source = new ScraperServiceSource({ url: s.url, attempts: 3, backoffMs: 5 });
    const err = await rejection(source.playerBoxscore(GAME));
    expect(s.seen).to.have.length(3);
    expect(err.message).to.match(/nbac_player_boxscore 0022400123: gave up after 3 attempts: HTTP 503/);
    expect(err.message).to.contain('NBA.com throttled us');
    expect(err).to.include({ retryable: true, status: 503, attempts: 3 });
  });

  it('times out a request that takes too long, and retries it', async () => {
    const s = await server((_seen, _n, res) => {
      setTimeout(() => json(res, 200, { late: true }), 1_000).unref();
    });
    const source = new ScraperServiceSource({ url: s.url, timeoutMs: 100, attempts: 2, backoffMs: 5 });
    const started = Date.now();
    const err = await rejection(source.playerBoxscore(GAME));
    expect(err.message).to.match(/gave up after 2 attempts: timed out after 100 ms/);
    expect(err.retryable).to.equal(true);
    expect(s.seen).to.have.length(2);
    expect(Date.now() - started).to.be.below(900);
  });

  it('does not retry a 4xx', async () => {
    const s = await server((_seen, _n, res) => json(res, 400, { error: 'unknown scraper' }));
    const source = new ScraperServiceSource({ url: s.url, backoffMs: 5 });
    const err = await rejection(source.teamBoxscore(GAME));
    expect(s.seen).to.have.length(1);
    expect(err).to.include({ retryable: false, status: 400, attempts: 1 });
    expect(err.message).to.contain('HTTP 400');
  });

  it('returns null on a 404 and on an empty body', async () => {
    const s = await server((_seen, n, res) => {
      if (n === 1) json(res, 404, { error: 'no such game' });
      else if (n === 2) res.writeHead(204).end();
      else res.writeHead(200).end('');
    });
    const source = new ScraperServiceSource({ url: s.url });
    expect(await source.playerBoxscore(GAME)).to.equal(null);
    expect(await source.playerBoxscore(GAME)).to.equal(null);
    expect(await source.playerBoxscore(GAME)).to.equal(null);
    expect(s.seen).to.have.length(3);
  });

  it('retries when the connection is refused, then gives up', async () => {
    const s = await serve(() => {});
    await s.close();
    const source = new ScraperServiceSource({ url: s.url, attempts: 2, backoffMs: 5 });
    const err = await rejection(source.playerBoxscore(GAME));
    expect(err.message).to.match(/gave up after 2 attempts: ECONNREFUSED/);
    expect(err.status).to.equal(undefined);
  });

  // Issue 22, point 8: before, a 200 with an HTML page failed the slice at once, no retry.
  it('takes a 200 whose body is not JSON as transient: tries again and gets the JSON', async () => {
    const s = await server((_seen, n, res) => (n === 1 ? res.writeHead(200).end('<html>maintenance</html>') : json(res, 200, { ok: true })));
    const source = new ScraperServiceSource({ url: s.url, backoffMs: 5 });
    expect(await source.playerBoxscore(GAME)).to.deep.equal({ ok: true });
    expect(s.seen).to.have.length(2);
  });

  it('a 200 that is never JSON: gives up after its attempts, retryable, naming it', async () => {
    const s = await server((_seen, _n, res) => res.writeHead(200).end('<html>maintenance</html>'));
    const source = new ScraperServiceSource({ url: s.url, backoffMs: 5, attempts: 3 });
    const err = await rejection(source.playerBoxscore(GAME));
    expect(err.message).to.match(/gave up after 3 attempts: HTTP 200 body is not JSON: <html>maintenance/);
    expect(err.retryable).to.equal(true);
    expect(s.seen).to.have.length(3);
  });

  it("reads the season schedule (NBA.com's scheduleLeagueV2) once per season", async () => {
    const game = (gameId: string, home: number, away: number) => ({
      gameId,
      homeTeam: { teamId: home, teamTricode: 'BOS' },
      awayTeam: { teamId: away, teamTricode: 'NYK' },
    });
    const s = await server((_seen, _n, res) =>
      json(res, 200, {
        leagueSchedule: {
          seasonYear: '2024-25',
          gameDates: [
            { gameDate: '10/22/2024 00:00:00', games: [game('0022400061', 1610612738, 1610612752), game('0022400062', 1610612747, 1610612750)] },
            { gameDate: '10/23/2024 00:00:00', games: [game('0022400063', 1610612766, 1610612737)] },
          ],
        },
      }),
    );
    const source = new ScraperServiceSource({ url: s.url });
    expect(await source.gameDates('2024-10-01', '2024-10-31')).to.deep.equal(['2024-10-22', '2024-10-23']);
    const games = await source.games('2024-10-22');
    expect(games.map((g) => g.gameId)).to.deep.equal(['0022400061', '0022400062']);
    expect(games[0]).to.deep.equal({
      gameId: '0022400061',
      gameDate: '2024-10-22',
      homeTeamId: 1610612738,
      awayTeamId: 1610612752,
      homeAbbr: 'BOS',
      awayAbbr: 'NYK',
    });
    expect(s.seen).to.have.length(1);
    expect(s.seen[0]?.body).to.deep.equal({ scraper: 'nbac_schedule', date: '2024-10-01' });
  });

  it('refuses a missing or invalid URL with a ConfigError naming the variable', () => {
    expect(() => new ScraperServiceSource({ url: '' })).to.throw(ConfigError, /PHASEGATE_SCRAPER_URL/);
  });
});
