import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parseGameId } from '../src/processors/game-id.ts';
import { nbacPlayerBoxscoreScraper, nbacTeamBoxscoreScraper, scrapePlayerBoxscores } from '../src/processors/nbac/boxscore-scrapers.ts';
import { type ParsedBoxscore, parseBoxscore } from '../src/processors/nbac/parse/boxscore.ts';
import { nbacPlayerBoxscore } from '../src/processors/nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../src/processors/nbac/team-boxscore.ts';
import type { ScheduledGame } from '../src/processors/types.ts';
import { FixtureSource, seasonOf } from '../src/sources/fixture/fixture-source.ts';
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
    expect(lines.length, `${box.gameId} roster`).to.be.within(13, 15);
    expect(played.filter((p) => p.isStarter).map((p) => p.startPosition)).to.deep.equal(['F', 'F', 'C', 'G', 'G']);
    expect(sat.length, `${box.gameId} DNPs`).to.be.within(1, 3);
    for (const p of sat) {
      expect(p.dnpReason).to.be.a('string');
      expect(COUNTS.every((k) => p[k] === null)).to.equal(true);
    }
    for (const k of COUNTS)
      expect(
        played.reduce((s, p) => s + (p[k] ?? 0), 0),
        `${box.gameId} ${team.teamAbbr} ${k}`,
      ).to.equal(team[k]);
    expect(
      played.reduce((s, p) => s + (p.secondsPlayed ?? 0), 0),
      `${box.gameId} seconds`,
    ).to.equal(team.secondsPlayed);
    for (const p of played) {
      const n = (v: number | null) => v ?? -1;
      expect(n(p.fg3m) <= n(p.fg3a) && n(p.fg3m) <= n(p.fgm) && n(p.fgm) <= n(p.fga) && n(p.fg3a) <= n(p.fga), `${p.playerName} shots`).to.equal(true);
      expect(n(p.fgm) - n(p.fg3m) <= n(p.fga) - n(p.fg3a)).to.equal(true);
      expect(n(p.ftm) <= n(p.fta)).to.equal(true);
      expect(p.reb).to.equal(n(p.oreb) + n(p.dreb));
      expect(p.pts).to.equal(2 * n(p.fgm) + n(p.fg3m) + n(p.ftm));
      expect(n(p.pf)).to.be.at.most(6);
      expect(n(p.secondsPlayed)).to.be.at.most(n(team.secondsPlayed) / 5);
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
      '2023-04-12',
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
          // Postseason totals are real rows of the same team, from some regular-season game.
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
    const { written } = await nbacPlayerBoxscoreScraper.run({ slice, store, source, schedule: source });
    expect(written).to.deep.equal(result.written);
    expect(written).to.have.length(games.length - 1);
    expect(written.every((k) => k.startsWith(`nba-com/player-boxscores/${slice}/`))).to.equal(true);
    const { written: teamFiles } = await nbacTeamBoxscoreScraper.run({ slice, store, source, schedule: source });
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
      expect(mine.reduce((s, p) => s + Number(p.seconds_played ?? 0), 0)).to.equal(Number(real?.MIN) * 60);
      const game = games.find((g) => g.gameId === t.game_id);
      expect(t.is_home).to.equal(game?.homeTeamId === t.team_id);
      expect(t.opponent_team_id).to.equal(game?.homeTeamId === t.team_id ? game?.awayTeamId : game?.homeTeamId);
      expect(t).to.include({ game_date: slice, season: '2023-24', game_type: 'regular_season' });
    }
    expect(players.some((p) => p.dnp_reason === "Coach's Decision" && p.pts === null && p.seconds_played === null)).to.equal(true);
  });
});
