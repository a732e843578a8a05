import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { parseGameId } from '../src/processors/game-id.ts';
import { nbacPlayerBoxscoreScraper, nbacTeamBoxscoreScraper, scrapePlayerBoxscores } from '../src/processors/nbac/boxscore-scrapers.ts';
import { type ParsedBoxscore, parseBoxscore } from '../src/processors/nbac/parse/boxscore.ts';
import { nbacPlayerBoxscore } from '../src/processors/nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../src/processors/nbac/team-boxscore.ts';
import type { ScheduledGame } from '../src/processors/types.ts';
import { bdlPlayerId } from '../src/sources/fixture/bdl-documents.ts';
import { FixtureSource, seasonOf } from '../src/sources/fixture/fixture-source.ts';
import { fixtureSchedule } from '../src/sources/fixture/schedule.ts';
import { sourceClients } from '../src/sources/source-clients.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';

/** The fixture schedule: what the box-score slices must contain. */
const SCHEDULE = new FixtureSource();

const FIXTURES = new URL('../fixtures/nba/', import.meta.url);

/** The real rows, read here independently of the source's own loader. */
interface RealRow {
  [header: string]: string | number;
}
function realRows(): RealRow[] {
  const doc = JSON.parse(readFileSync(new URL('leaguegamefinder_team_2023-24_regular_season.json', FIXTURES), 'utf8')) as {
    resultSets: { headers: string[]; rowSet: (string | number)[][] }[];
  };
  const set = doc.resultSets[0];
  if (!set) throw new Error('no result set');
  return set.rowSet.map((r) => Object.fromEntries(set.headers.map((h, i) => [h, r[i] as string | number])));
}
const REAL = realRows();
const realByGameTeam = new Map(REAL.map((r) => [`${String(r.GAME_ID).slice(5)}:${r.TEAM_ID}`, r]));

/** The real player lines, read here with a regex of our own (not the source's CSV reader). */
function playerLines(file: string): RealRow[] {
  const [head = '', ...lines] = gunzipSync(readFileSync(new URL(file, FIXTURES)))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '');
  const cells = (line: string) =>
    [...`,${line}`.matchAll(/,("(?:[^"]|"")*"|[^,]*)/g)].map(([, c = '']) =>
      c.startsWith('"') ? c.slice(1, -1).replaceAll('""', '"') : c === '' ? '' : Number(c),
    );
  const headers = cells(head).map(String);
  return lines.map((l) => Object.fromEntries(cells(l).map((c, i) => [headers[i] as string, c])));
}
const LINES = playerLines('player_games_2023-24.csv.gz');
const POST_LINES = playerLines('player_games_2023-24_postseason.csv.gz');

const COUNTS = ['fgm', 'fga', 'fg3m', 'fg3a', 'ftm', 'fta', 'oreb', 'dreb', 'reb', 'ast', 'stl', 'blk', 'tov', 'pf', 'pts'] as const;
const REAL_HEADER: Record<(typeof COUNTS)[number], string> = {
  fgm: 'FGM',
  fga: 'FGA',
  fg3m: 'FG3M',
  fg3a: 'FG3A',
  ftm: 'FTM',
  fta: 'FTA',
  oreb: 'OREB',
  dreb: 'DREB',
  reb: 'REB',
  ast: 'AST',
  stl: 'STL',
  blk: 'BLK',
  tov: 'TOV',
  pf: 'PF',
  pts: 'PTS',
};

/** Every team's player lines add up to its team line, and each line holds together. */
function checkLines(box: ParsedBoxscore): void {
  expect(box.teams).to.have.length(2);
  for (const team of box.teams) {
    const lines = box.players.filter((p) => p.teamId === team.teamId);
    const played = lines.filter((p) => p.secondsPlayed !== null);
    const sat = lines.filter((p) => p.secondsPlayed === null);
    expect(lines.length, `${box.gameId} roster`).to.be.within(8, 18);
    expect(
      played
        .filter((p) => p.isStarter)
        .map((p) => p.startPosition)
        .sort(),
    ).to.deep.equal(['C', 'F', 'F', 'G', 'G']);
    for (const p of sat) expect(COUNTS.every((k) => p[k] === null)).to.equal(true);
    for (const k of COUNTS)
      expect(
        played.reduce((s, p) => s + (p[k] ?? 0), 0),
        `${box.gameId} ${team.teamAbbr} ${k}`,
      ).to.equal(team[k]);
    // Real lines: the players' seconds miss the team's whole minutes by up to four minutes.
    expect(Math.abs(played.reduce((s, p) => s + (p.secondsPlayed ?? 0), 0) - (team.secondsPlayed ?? 0)), `${box.gameId} seconds`).to.be.at.most(240);
    const overtimes = Math.round(((team.secondsPlayed ?? 0) / 60 - 240) / 25);
    for (const p of played) {
      const n = (v: number | null) => v ?? -1;
      expect(n(p.fg3m) <= n(p.fg3a) && n(p.fg3m) <= n(p.fgm) && n(p.fgm) <= n(p.fga) && n(p.fg3a) <= n(p.fga), `${p.playerName} shots`).to.equal(true);
      expect(n(p.fgm) - n(p.fg3m) <= n(p.fga) - n(p.fg3a)).to.equal(true);
      expect(n(p.ftm) <= n(p.fta)).to.equal(true);
      expect(p.reb).to.equal(n(p.oreb) + n(p.dreb));
      expect(p.pts).to.equal(2 * n(p.fgm) + n(p.fg3m) + n(p.ftm));
      expect(n(p.pf)).to.be.at.most(6);
      expect(n(p.secondsPlayed)).to.be.at.most((48 + 5 * overtimes) * 60);
      if (box.format === 'boxscoretraditionalv2') expect(p.fgPct).to.equal(p.fga === 0 ? null : Math.round((n(p.fgm) / n(p.fga)) * 1000) / 1000);
    }
  }
}

async function box(source: FixtureSource, game: ScheduledGame): Promise<ParsedBoxscore> {
  return parseBoxscore(await source.playerBoxscore(game), game.gameId);
}

describe('fixture source', () => {
  const source = new FixtureSource();

  it("has exactly the seed incident's 853 game dates from 2021-10-19 to 2025-06-22", async () => {
    const dates = await source.gameDates('2021-10-19', '2025-06-22');
    expect(dates).to.have.length(853);
    expect(dates[0]).to.equal('2021-10-19');
    expect(dates.at(-1)).to.equal('2025-06-22');
    expect([...dates].sort()).to.deep.equal(dates);
  });

  it('serves the real 2023-24 regular season: its 160 dates, 1,230 games, ids and teams', async () => {
    const dates = await source.gameDates('2023-10-24', '2024-04-14');
    expect(dates).to.deep.equal([...new Set(REAL.map((r) => String(r.GAME_DATE)))].sort());
    expect(dates).to.have.length(160);
    const games = (await Promise.all(dates.map((d) => source.games(d)))).flat();
    expect(games).to.have.length(1230);
    for (const g of games) {
      const home = REAL.find((r) => r.GAME_ID === g.gameId && String(r.MATCHUP).includes(' vs. '));
      expect(home, g.gameId).to.include({ GAME_DATE: g.gameDate, TEAM_ID: g.homeTeamId, TEAM_ABBREVIATION: g.homeAbbr });
    }
  });

  it('moves the schedule by whole weeks per season and rewrites the season digits of the ids', async () => {
    for (const [year, first, last] of [
      [21, '2021-10-19', '2022-04-10'],
      [22, '2022-10-18', '2023-04-09'],
      [24, '2024-10-22', '2025-04-13'],
    ] as const) {
      const dates = await source.gameDates(first, last);
      expect(dates, `20${year}`).to.have.length(160);
      expect(dates[0]).to.equal(first);
      expect(dates.at(-1)).to.equal(last);
      const games = (await Promise.all(dates.map((d) => source.games(d)))).flat();
      expect(games).to.have.length(1230);
      expect(games.every((g) => g.gameId.startsWith(`002${year}`))).to.equal(true);
      expect(new Date(`${first}T00:00:00Z`).getUTCDay()).to.equal(new Date('2023-10-24T00:00:00Z').getUTCDay());
    }
    // 2023-24's game 1 (an In-Season Tournament game on 2023-11-03) is 2021-22's game 1.
    const [g] = (await source.games('2021-10-29')).filter((x) => x.gameId === '0022100001');
    expect(g, '0022100001').to.not.equal(undefined);
    expect(seasonOf('2021-10-29')?.label).to.equal('2021-22');
  });

  it("has seed 004's Play-In ids on their dates", async () => {
    const ids = async (date: string) => (await source.games(date)).map((g) => g.gameId).filter((id) => id.startsWith('005'));
    expect(await ids('2025-04-15')).to.deep.equal(['0052400101', '0052400121']);
    expect(await ids('2025-04-16')).to.deep.equal(['0052400111', '0052400131']);
    expect(await ids('2025-04-17')).to.deep.equal([]);
    expect(await ids('2025-04-18')).to.deep.equal(['0052400201', '0052400211']);
  });

  it('plays every postseason series to four wins, the 2024-25 Finals ending 2025-06-22', async () => {
    for (const year of [21, 22, 23, 24]) {
      const dates = await source.gameDates(`20${year + 1}-04-01`, `20${year + 1}-06-30`);
      const games = (await Promise.all(dates.map((d) => source.games(d)))).flat().filter((g) => g.gameId.startsWith(`004${year}`));
      const series = new Map<string, Map<number, number>>();
      for (const game of games) {
        const b = await box(source, game);
        const [a, h] = b.teams;
        const winner = (a?.pts ?? 0) > (h?.pts ?? 0) ? a?.teamId : h?.teamId;
        const wins = series.get(game.gameId.slice(0, 9)) ?? new Map<number, number>();
        wins.set(winner ?? 0, (wins.get(winner ?? 0) ?? 0) + 1);
        series.set(game.gameId.slice(0, 9), wins);
        expect(parseGameId(game.gameId).gameType).to.equal('playoffs');
      }
      expect(series.size, `20${year} series`).to.equal(15);
      for (const [id, wins] of series) expect(Math.max(...wins.values()), id).to.equal(4);
      if (year === 24)
        expect(
          games
            .filter((g) => g.gameId.startsWith('004240040'))
            .map((g) => g.gameDate)
            .sort()
            .at(-1),
        ).to.equal('2025-06-22');
    }
  });

  it('never has a team play twice on one date', async () => {
    for (const date of await source.gameDates('2021-10-01', '2026-06-30')) {
      const teams = (await source.games(date)).flatMap((g) => [g.homeTeamId, g.awayTeamId]);
      expect(new Set(teams).size, date).to.equal(teams.length);
    }
  });

  it('splits the real team totals exactly over the players, in every season', async () => {
    const sample = [
      '2021-10-19',
      '2022-02-10',
      '2022-05-02',
      '2022-06-16',
      '2023-01-07',
      '2023-04-13',
      '2023-12-25',
      '2024-04-16',
      '2024-06-17',
      '2024-11-22',
      '2025-04-18',
      '2025-06-22',
      '2025-10-21',
      '2026-03-01',
    ];
    let regular = 0;
    for (const date of sample) {
      const games = await source.games(date);
      expect(games.length, date).to.be.greaterThan(0);
      for (const game of games) {
        const b = await box(source, game);
        checkLines(b);
        if (parseGameId(game.gameId).gameType !== 'regular_season') {
          // 2023-24's postseason is the real one (checked above); the others' totals are real
          // rows of the same team, from some regular-season game.
          if (game.gameId.slice(3, 5) === '23') continue;
          for (const team of b.teams) {
            const match = REAL.some((r) => r.TEAM_ID === team.teamId && COUNTS.every((k) => r[REAL_HEADER[k]] === team[k]));
            expect(match, `${game.gameId} ${team.teamAbbr} totals are a real row`).to.equal(true);
          }
          continue;
        }
        for (const team of b.teams) {
          const real = realByGameTeam.get(`${game.gameId.slice(5)}:${team.teamId}`);
          if (!real) throw new Error(`no real row for ${game.gameId} ${team.teamAbbr}`);
          for (const k of COUNTS) expect(team[k], `${game.gameId} ${k}`).to.equal(real[REAL_HEADER[k]]);
          expect(team.secondsPlayed).to.equal(Number(real.MIN) * 60);
          regular++;
        }
      }
    }
    expect(regular).to.be.greaterThan(50);
  });

  it('serves every real 2023-24 player line: players, minutes, DNP reasons, starters, plus-minus (regular season and postseason)', async () => {
    const byGame = new Map<string, RealRow[]>();
    for (const r of [...LINES, ...POST_LINES]) byGame.set(String(r.GAME_ID), [...(byGame.get(String(r.GAME_ID)) ?? []), r]);
    expect(byGame.size).to.equal(1230 + 88);
    for (const [gameId, rows] of byGame) {
      const doc = source.boxscore(gameId);
      const b = parseBoxscore(doc, gameId);
      const key = (teamId: number, playerId: number) => `${teamId}:${playerId}`;
      const served = new Map(b.players.map((p) => [key(p.teamId, p.playerId), p]));
      expect(b.players, gameId).to.have.length(rows.length);
      for (const r of rows) {
        const p = served.get(key(Number(r.TEAM_ID), Number(r.PLAYER_ID)));
        if (!p) throw new Error(`${gameId}: ${r.PLAYER_NAME} not served`);
        const played = r.SECONDS !== '';
        expect([p.playerName, p.startPosition ?? '', p.secondsPlayed, p.plusMinus], `${gameId} ${r.PLAYER_NAME}`).to.deep.equal([
          r.PLAYER_NAME,
          r.START_POSITION,
          played ? r.SECONDS : null,
          played ? r.PLUS_MINUS : null,
        ]);
        expect(p.comment ?? '').to.equal(r.COMMENT);
        for (const k of COUNTS) expect(p[k], `${gameId} ${r.PLAYER_NAME} ${k}`).to.equal(played ? r[REAL_HEADER[k]] : null);
      }
    }
    const [top] = parseBoxscore(source.boxscore('0022300061'), 'x').players.sort((a, b) => (b.pts ?? 0) - (a.pts ?? 0));
    expect([top?.playerName, top?.pts]).to.deep.equal(['Nikola Jokić', 29]);
  });

  it('serves the real 2024 Play-In and playoffs on their dates, and derived seasons the lines of the real game they come from', async () => {
    const real = new Map(POST_LINES.map((r) => [String(r.GAME_ID), String(r.GAME_DATE)]));
    const served = (await source.gameDates('2024-04-15', '2024-06-30')).map(async (d) => (await source.games(d)).map((g) => [g.gameId, g.gameDate]));
    expect(new Map((await Promise.all(served)).flat() as [string, string][])).to.deep.equal(real);
    // 2021-22's game 61 is 2023-24's: the same real players (a person id is one player in every season).
    const ids = (gameId: string) => parseBoxscore(source.boxscore(gameId), gameId).players.map((p) => [p.playerId, p.pts]);
    expect(ids('0022100061')).to.deep.equal(ids('0022300061'));
    expect(ids('0022500061')).to.deep.equal(ids('0022300061'));
  });

  it("serves balldontlie's rows from the same lines, under balldontlie-style ids and ASCII names", async () => {
    const rows = await source.bdlStats('2023-10-24');
    const jokic = rows.find((r) => r.player.last_name === 'Jokic');
    expect(jokic).to.deep.include({ pts: 29, min: '36' });
    expect(jokic?.player).to.deep.include({ id: bdlPlayerId(203999), first_name: 'Nikola' });
    expect(jokic?.player.id).to.be.below(1000);
    expect(rows.every((r) => /^[\x20-\x7e]*$/.test(`${r.player.first_name} ${r.player.last_name}`))).to.equal(true);
  });

  it('writes v2 with NBA.com quirks: "23:60" in clock seasons, "29.000000:53" in 2024-25', async () => {
    const minutes = async (date: string) => {
      const out: string[] = [];
      for (const g of await source.games(date)) {
        const doc = (await source.playerBoxscore(g)) as { resultSets: { name: string; headers: string[]; rowSet: unknown[][] }[] };
        const ps = doc.resultSets.find((s) => s.name === 'PlayerStats');
        const i = ps?.headers.indexOf('MIN') ?? -1;
        expect(ps?.headers).to.include('NICKNAME');
        for (const row of ps?.rowSet ?? []) if (typeof row[i] === 'string') out.push(row[i] as string);
      }
      return out;
    };
    const clock = [...(await minutes('2021-10-20')), ...(await minutes('2021-10-22')), ...(await minutes('2021-10-24'))];
    expect(clock.some((m) => /^\d+:60$/.test(m))).to.equal(true);
    expect(clock.every((m) => /^\d+:\d\d$/.test(m))).to.equal(true);
    expect((await minutes('2024-11-22')).every((m) => /^\d+\.000000:\d\d$/.test(m))).to.equal(true);
  });

  it('pads DNP comments and nulls their stats in v2', async () => {
    const [game] = await source.games('2022-02-10');
    if (!game) throw new Error('no game');
    const doc = (await source.playerBoxscore(game)) as { resultSets: { name: string; headers: string[]; rowSet: unknown[][] }[] };
    const ps = doc.resultSets.find((s) => s.name === 'PlayerStats');
    const c = ps?.headers.indexOf('COMMENT') ?? -1;
    const dnp = (ps?.rowSet ?? []).filter((r) => String(r[c]).startsWith('DN'));
    expect(dnp.length).to.be.at.least(2);
    for (const row of dnp) {
      expect(String(row[c])).to.match(/^DN[PD] - .+ {2,}$/);
      expect(row.slice(c + 1)).to.deep.equal(row.slice(c + 1).map(() => null));
    }
    expect(doc.resultSets.map((s) => s.name)).to.deep.equal(['PlayerStats', 'TeamStats', 'TeamStarterBenchStats']);
  });

  it('serves v3 for 2025-26, and the real response for 0022500165 on 2025-11-04', async () => {
    const games = await source.games('2025-11-04');
    const real = games.find((g) => g.gameId === '0022500165');
    expect(real).to.include({ homeAbbr: 'TOR', awayAbbr: 'MIL' });
    if (!real) throw new Error('no real game');
    const realDoc = JSON.parse(readFileSync(new URL('boxscoretraditionalv3_0022500165.json', FIXTURES), 'utf8')) as unknown;
    expect(await source.playerBoxscore(real)).to.deep.equal(realDoc);
    expect(await source.teamBoxscore(real)).to.deep.equal(realDoc);
    // 2023-11-07 (Election Day) had no games, so the real game is 2025-11-04's only one.
    expect(games).to.have.length(1);
    const [other] = await source.games('2025-11-05');
    if (!other) throw new Error('no generated game');
    const b = await box(source, other);
    expect(b.format).to.equal('boxscoretraditionalv3');
    expect(b.homeTeamId).to.equal(other.homeTeamId);
  });

  it('is deterministic: two sources give byte-identical documents', async () => {
    const again = new FixtureSource();
    for (const date of ['2021-12-01', '2024-05-10', '2025-04-15', '2026-01-20']) {
      expect(JSON.stringify(await again.games(date))).to.equal(JSON.stringify(await source.games(date)));
      for (const g of await source.games(date)) {
        expect(JSON.stringify(await again.playerBoxscore(g))).to.equal(JSON.stringify(await source.playerBoxscore(g)));
      }
    }
    expect(await again.gameDates('2021-01-01', '2027-01-01')).to.deep.equal(await source.gameDates('2021-01-01', '2027-01-01'));
  });

  it('returns null for the games it is told are missing', async () => {
    const missing = new FixtureSource({ missingGameIds: ['0052400101', '0052400121'] });
    const games = await missing.games('2025-04-15');
    expect(games).to.have.length(2);
    for (const g of games) {
      expect(await missing.playerBoxscore(g)).to.equal(null);
      expect(await missing.teamBoxscore(g)).to.equal(null);
    }
    const [other] = await missing.games('2025-04-16');
    if (!other) throw new Error('no game');
    expect(await missing.playerBoxscore(other)).to.not.equal(null);
  });
});

describe('what a process of the fixture source holds', () => {
  // Module state is per process and this one's other tests read every line: a fresh node answers.
  it('derives the schedule from lines it then lets go, and keeps them once it makes box scores', async function () {
    this.timeout(30_000);
    const script = [
      "const { fixtureSchedule } = await import('./src/sources/fixture/schedule.ts');",
      "const { linesKept } = await import('./src/sources/fixture/player-lines.ts');",
      "const { FixtureSource } = await import('./src/sources/fixture/fixture-source.ts');",
      'const schedule = fixtureSchedule();',
      'const afterSchedule = linesKept();',
      "const playoff = schedule.byId.get('0042300401');",
      'const source = new FixtureSource();',
      "const [game] = await source.games('2024-01-10');",
      'const doc = source.boxscore(game.gameId);',
      'console.log(JSON.stringify({ games: schedule.byId.size, afterSchedule, playoffPts: playoff?.homeTotals.pts, afterBoxscore: linesKept(), doc: doc !== null }));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '..'),
    });
    const seen = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    // The same schedule as this process built with every line kept (the 2024 Finals' first game included).
    const here = fixtureSchedule();
    expect(here.byId.get('0042300401')?.homeTotals.pts).to.be.a('number');
    expect(seen).to.deep.equal({
      games: here.byId.size,
      afterSchedule: false,
      playoffPts: here.byId.get('0042300401')?.homeTotals.pts,
      afterBoxscore: true,
      doc: true,
    });
  });
});

describe('box-score scrapers and transforms over the fixture source', () => {
  let dir: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-fixture-'));
    store = new LocalObjectStore(dir);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('scrapes a date, skips missing games, and the transforms read rows that add up to the real totals', async () => {
    const slice = '2023-11-01';
    const missingId = (await new FixtureSource().games(slice))[3]?.gameId ?? '';
    const source = new FixtureSource({ missingGameIds: [missingId] });
    const games = await source.games(slice);

    const result = await scrapePlayerBoxscores({ slice, store, source, schedule: source });
    expect(result.missing).to.deep.equal([missingId]);
    const { written } = await nbacPlayerBoxscoreScraper.run({ slice, store, source, schedule: source, clients: sourceClients(source) });
    expect(written).to.deep.equal(result.written);
    expect(written).to.have.length(games.length - 1);
    expect(written.every((k) => k.startsWith(`nba-com/player-boxscores/${slice}/`))).to.equal(true);
    const { written: teamFiles } = await nbacTeamBoxscoreScraper.run({ slice, store, source, schedule: source, clients: sourceClients(source) });
    expect(teamFiles.every((k) => k.startsWith(`nba-com/team-boxscore/${slice}/`))).to.equal(true);
    // Rerunning overwrites the same keys.
    expect(await store.list('nba-com/')).to.have.length(2 * written.length);

    const players = await nbacPlayerBoxscore.run({ slice, store, schedule: SCHEDULE });
    const teams = await nbacTeamBoxscore.run({ slice, store, schedule: SCHEDULE });
    expect(teams).to.have.length(2 * written.length);
    expect(new Set(players.map((r) => `${r.game_id}:${r.player_id}`)).size).to.equal(players.length);
    for (const t of teams) {
      const real = realByGameTeam.get(`${String(t.game_id).slice(5)}:${t.team_id}`);
      expect(t.pts).to.equal(real?.PTS);
      const mine = players.filter((p) => p.game_id === t.game_id && p.team_id === t.team_id);
      expect(mine.reduce((s, p) => s + Number(p.pts ?? 0), 0)).to.equal(t.pts);
      expect(Math.abs(mine.reduce((s, p) => s + Number(p.seconds_played ?? 0), 0) - Number(real?.MIN) * 60)).to.be.at.most(240);
      const game = games.find((g) => g.gameId === t.game_id);
      expect(t.is_home).to.equal(game?.homeTeamId === t.team_id);
      expect(t.opponent_team_id).to.equal(game?.homeTeamId === t.team_id ? game?.awayTeamId : game?.homeTeamId);
      expect(t).to.include({ game_date: slice, season: '2023-24', game_type: 'regular_season' });
    }
    expect(players.some((p) => p.dnp_reason === "Coach's Decision" && p.pts === null && p.seconds_played === null)).to.equal(true);
  });
});
