import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { InputError } from '../src/errors/input-error.ts';
import { parseGameId } from '../src/processors/game-id.ts';
import { parseBoxscore, parseBoxscoreV2, parseBoxscoreV3, parseMinutes } from '../src/processors/nbac/parse/boxscore.ts';
import { nbacPlayerBoxscore } from '../src/processors/nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../src/processors/nbac/team-boxscore.ts';
import { FixtureSource } from '../src/sources/fixture/fixture-source.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';

/** The fixture schedule: what the box-score slices must contain. */
const SCHEDULE = new FixtureSource();

const REAL_V3 = new URL('../fixtures/nba/boxscoretraditionalv3_0022500165.json', import.meta.url);

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

async function rejectsInput(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

// Columns deliberately out of NBA.com's order and without NICKNAME (absent before 2019-20):
// the parser must find every column by name.
const V2_HEADERS = [
  'PLAYER_ID',
  'GAME_ID',
  'TEAM_ID',
  'TEAM_ABBREVIATION',
  'TEAM_CITY',
  'PLAYER_NAME',
  'START_POSITION',
  'COMMENT',
  'MIN',
  'PTS',
  'FGM',
  'FGA',
  'FG_PCT',
  'FG3M',
  'FG3A',
  'FG3_PCT',
  'FTM',
  'FTA',
  'FT_PCT',
  'OREB',
  'DREB',
  'REB',
  'AST',
  'STL',
  'BLK',
  'TO',
  'PF',
  'PLUS_MINUS',
];
const TEAM_HEADERS = [
  'GAME_ID',
  'TEAM_ID',
  'TEAM_NAME',
  'TEAM_ABBREVIATION',
  'TEAM_CITY',
  'MIN',
  'FGM',
  'FGA',
  'FG_PCT',
  'FG3M',
  'FG3A',
  'FG3_PCT',
  'FTM',
  'FTA',
  'FT_PCT',
  'OREB',
  'DREB',
  'REB',
  'AST',
  'STL',
  'BLK',
  'TO',
  'PF',
  'PTS',
  'PLUS_MINUS',
];
const nulls = (n: number) => Array.from({ length: n }, () => null);

function v2Doc(): { resource: string; parameters: object; resultSets: { name: string; headers: string[]; rowSet: unknown[][] }[] } {
  return {
    resource: 'boxscore',
    parameters: { GameID: '0042400101' },
    resultSets: [
      {
        name: 'PlayerStats',
        headers: [...V2_HEADERS],
        rowSet: [
          // Visitors first.
          [
            2544,
            '0042400101',
            1610612739,
            'CLE',
            'Cleveland',
            'LeBron James',
            'F',
            '',
            '40:02',
            28,
            9,
            20,
            0.45,
            2,
            6,
            0.333,
            8,
            12,
            0.667,
            3,
            12,
            15,
            8,
            0,
            2,
            8,
            4,
            -22,
          ],
          [2738, '0042400101', 1610612739, 'CLE', 'Cleveland', 'Bench Guy', '', '', '23:60', 7, 3, 4, 0.75, 1, 1, 1, 0, 2, 0, 1, 2, 3, 1, 2, 1, 0, 3, 14.0],
          [1628398, '0042400101', 1610612739, 'CLE', 'Cleveland', 'Sat Down', '', "DNP - Coach's Decision                ", null, ...nulls(18), null],
          [
            201939,
            '0042400101',
            1610612744,
            'GSW',
            'Golden State',
            'Stephen Curry',
            'G',
            '',
            '29.000000:53',
            28,
            11,
            22,
            0.5,
            6,
            11,
            0.545,
            0,
            0,
            null,
            1,
            5,
            6,
            10,
            3,
            0,
            2,
            3,
            20,
          ],
        ],
      },
      {
        name: 'TeamStats',
        headers: [...TEAM_HEADERS],
        rowSet: [
          [
            '0042400101',
            1610612744,
            'Warriors',
            'GSW',
            'Golden State',
            '240:00',
            45,
            106,
            0.425,
            12,
            33,
            0.364,
            11,
            16,
            0.688,
            14,
            36,
            50,
            31,
            12,
            3,
            4,
            24,
            113,
            22,
          ],
          [
            '0042400101',
            1610612739,
            'Cavaliers',
            'CLE',
            'Cleveland',
            '265.000000:00',
            30,
            86,
            0.349,
            11,
            31,
            0.355,
            20,
            25,
            0.8,
            15,
            44,
            59,
            15,
            0,
            6,
            20,
            23,
            91,
            -22,
          ],
        ],
      },
    ],
  };
}

describe('parseMinutes', () => {
  const cases: [unknown, number | null][] = [
    ['40:02', 2402],
    ['23:60', 1440],
    ['29.000000:53', 1793],
    ['PT32M15.00S', 1935],
    ['PT05M00.00S', 300],
    ['35', 2100],
    ['', null],
    [null, null],
    [undefined, null],
    ['  6:30 ', 390],
    ['240:00', 14400],
  ];
  for (const [raw, seconds] of cases) {
    it(`reads ${JSON.stringify(raw)} as ${seconds}`, () => expect(parseMinutes(raw)).to.equal(seconds));
  }

  it('refuses text in no known format, so a feed change fails loudly', () => {
    for (const bad of ['abc', '12:61', '1:2:3', 'PT', true]) expect(() => parseMinutes(bad)).to.throw(InputError);
  });
});

describe('parseGameId', () => {
  it('reads season and game type from the id', () => {
    expect(parseGameId('0022400123')).to.include({ seasonStartYear: 2024, season: '2024-25', gameType: 'regular_season', number: 123 });
    expect(parseGameId('0052400101')).to.include({ season: '2024-25', gameType: 'play_in' });
    expect(parseGameId('0042300407')).to.include({ season: '2023-24', gameType: 'playoffs' });
    expect(parseGameId('0012100001')).to.include({ season: '2021-22', gameType: 'preseason' });
    expect(parseGameId('0062300001')).to.include({ gameType: 'ist_final' });
    expect(parseGameId('0029900001')).to.include({ seasonStartYear: 1999, season: '1999-00' });
  });

  it('refuses ids that are not 00TSSNNNNN with a known type', () => {
    for (const bad of ['22400123', '0032400001', '1022400123', '00224001234', 'abc', '0072400001']) {
      expect(inputError(() => parseGameId(bad)).message).to.contain(bad);
    }
  });
});

describe('boxscoretraditionalv3 (real response, MIL @ TOR 2025-11-04)', () => {
  const box = parseBoxscore(readFileSync(REAL_V3), 'nba-com/player-boxscores/2025-11-04/0022500165.json');

  it('is detected as v3 and knows home and away', () => {
    expect(box.format).to.equal('boxscoretraditionalv3');
    expect(box.gameId).to.equal('0022500165');
    expect(box.homeTeamId).to.equal(1610612761);
    expect(box.awayTeamId).to.equal(1610612749);
  });

  it('has every player line of both teams', () => {
    expect(box.players.filter((p) => p.teamAbbr === 'TOR')).to.have.length(14);
    expect(box.players.filter((p) => p.teamAbbr === 'MIL')).to.have.length(15);
    expect(box.players.filter((p) => p.isStarter)).to.have.length(10);
  });

  it("reads Ingram's line", () => {
    const ingram = box.players.find((p) => p.playerId === 1627742);
    expect(ingram).to.include({
      playerName: 'Brandon Ingram',
      minutes: '30:49',
      secondsPlayed: 1849,
      pts: 13,
      fgm: 6,
      fga: 12,
      reb: 8,
      startPosition: 'F',
      isStarter: true,
    });
    expect(ingram?.plusMinus).to.equal(17);
  });

  it('gives a player who sat null stats and the reason, not the zeros v3 sends', () => {
    const temple = box.players.find((p) => p.playerName === 'Garrett Temple');
    expect(temple).to.include({ comment: "DNP - Coach's Decision", dnpReason: "Coach's Decision", minutes: null, secondsPlayed: null, isStarter: false });
    expect(temple?.pts).to.equal(null);
    expect(temple?.fga).to.equal(null);
    expect(temple?.plusMinus).to.equal(null);
  });

  it('has team lines whose points the players add up to', () => {
    for (const team of box.teams) {
      const players = box.players.filter((p) => p.teamId === team.teamId);
      expect(players.reduce((s, p) => s + (p.pts ?? 0), 0)).to.equal(team.pts);
      expect(team.secondsPlayed).to.equal(14400);
    }
    expect(box.teams.map((t) => [t.teamAbbr, t.pts])).to.deep.equal([
      ['MIL', 100],
      ['TOR', 128],
    ]);
  });
});

describe('boxscoretraditionalv2', () => {
  const box = parseBoxscoreV2(v2Doc(), 'raw/0042400101.json');

  it('reads columns by name, without NICKNAME', () => {
    const lebron = box.players.find((p) => p.playerId === 2544);
    expect(lebron).to.include({
      gameId: '0042400101',
      teamId: 1610612739,
      teamAbbr: 'CLE',
      teamCity: 'Cleveland',
      nickname: null,
      pts: 28,
      fgm: 9,
      tov: 8,
      secondsPlayed: 2402,
    });
  });

  it('reads the MIN quirks', () => {
    expect(box.players.map((p) => [p.minutes, p.secondsPlayed])).to.deep.equal([
      ['40:02', 2402],
      ['23:60', 1440],
      [null, null],
      ['29.000000:53', 1793],
    ]);
    expect(box.teams.map((t) => t.secondsPlayed)).to.deep.equal([14400, 15900]);
  });

  it('trims a padded DNP comment and extracts the reason', () => {
    const sat = box.players.find((p) => p.playerName === 'Sat Down');
    expect(sat).to.include({ comment: "DNP - Coach's Decision", dnpReason: "Coach's Decision", startPosition: null, isStarter: false, pts: null, fgPct: null });
    expect(box.players.find((p) => p.playerId === 2544)).to.include({ comment: null, dnpReason: null, startPosition: 'F' });
  });

  it('takes the team listed first in PlayerStats as the visitor', () => {
    expect(box.awayTeamId).to.equal(1610612739);
    expect(box.homeTeamId).to.equal(1610612744);
  });

  it('reads NICKNAME when present', () => {
    const doc = v2Doc();
    const ps = doc.resultSets[0];
    if (!ps) throw new Error('no PlayerStats');
    ps.headers.push('NICKNAME');
    for (const row of ps.rowSet) row.push('Nick');
    expect(parseBoxscore(doc, 'x.json').players[0]?.nickname).to.equal('Nick');
  });

  const malformed: [string, () => unknown, RegExp][] = [
    ['not JSON', () => '{"resultSets": [', /not valid JSON/],
    ['no resultSets', () => ({ resource: 'boxscore' }), /neither a boxscoretraditionalv2/],
    ['no PlayerStats', () => ({ ...v2Doc(), resultSets: v2Doc().resultSets.slice(1) }), /no PlayerStats result set/],
    [
      'a missing header',
      () => {
        const d = v2Doc();
        const ps = d.resultSets[0];
        if (ps) ps.headers[ps.headers.indexOf('PTS')] = 'POINTS';
        return d;
      },
      /PlayerStats lacks header PTS/,
    ],
    [
      'a string player id',
      () => {
        const d = v2Doc();
        const row = d.resultSets[0]?.rowSet[0];
        if (row) row[0] = 'abc';
        return d;
      },
      /PlayerStats row 1: PLAYER_ID must be an integer, got "abc"/,
    ],
    [
      'a numeric GAME_ID',
      () => {
        const d = v2Doc();
        const row = d.resultSets[0]?.rowSet[1];
        if (row) row[1] = 42400101;
        return d;
      },
      /PlayerStats row 2: GAME_ID must be a string/,
    ],
    [
      'unreadable minutes',
      () => {
        const d = v2Doc();
        const row = d.resultSets[0]?.rowSet[0];
        if (row) row[8] = 'forty';
        return d;
      },
      /PlayerStats row 1: MIN: minutes "forty"/,
    ],
    [
      'a short row',
      () => {
        const d = v2Doc();
        d.resultSets[0]?.rowSet[0]?.pop();
        return d;
      },
      /PlayerStats row 1 is not a list of 28 cells/,
    ],
  ];
  for (const [what, make, reason] of malformed) {
    it(`refuses ${what} with an InputError naming the file`, () => {
      const err = inputError(() => parseBoxscore(make(), 'nba-com/player-boxscores/2025-04-19/0042400101.json'));
      expect(err.file).to.equal('nba-com/player-boxscores/2025-04-19/0042400101.json');
      expect(err.message).to.match(reason);
      expect(err.message.startsWith('nba-com/player-boxscores/2025-04-19/0042400101.json: ')).to.equal(true);
      expect(err.message).to.not.contain('\n');
      expect(err.retryable).to.equal(false);
    });
  }

  it('refuses a v3 document whose team ids disagree', () => {
    const doc = JSON.parse(readFileSync(REAL_V3, 'utf8')) as { boxScoreTraditional: { homeTeamId: number } };
    doc.boxScoreTraditional.homeTeamId = 1;
    expect(inputError(() => parseBoxscoreV3(doc, 'f.json')).message).to.match(/homeTeam.teamId 1610612761 is not homeTeamId 1/);
  });
});

describe('phase-2 box-score processors on a local store', () => {
  let dir: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-parsers-'));
    store = new LocalObjectStore(dir);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('turns the real v3 file into one row per player and per team', async () => {
    await store.put('nba-com/player-boxscores/2025-11-04/0022500165.json', readFileSync(REAL_V3));
    await store.put('nba-com/team-boxscore/2025-11-04/0022500165.json', readFileSync(REAL_V3));
    const players = await nbacPlayerBoxscore.run({ slice: '2025-11-04', store, schedule: SCHEDULE });
    const teams = await nbacTeamBoxscore.run({ slice: '2025-11-04', store, schedule: SCHEDULE });
    expect(players).to.have.length(29);
    const ingram = players.find((r) => r.player_id === 1627742);
    expect(ingram).to.include({
      game_id: '0022500165',
      game_date: '2025-11-04',
      season: '2025-26',
      game_type: 'regular_season',
      team_id: 1610612761,
      team_abbr: 'TOR',
      opponent_team_id: 1610612749,
      is_home: true,
      seconds_played: 1849,
      pts: 13,
      minutes: '30:49',
      source_file: 'nba-com/player-boxscores/2025-11-04/0022500165.json',
    });
    expect(Date.parse(String(ingram?.processed_at))).to.be.a('number').and.not.NaN;
    expect(teams.map((r) => [r.team_abbr, r.is_home, r.pts, r.seconds_played])).to.deep.equal([
      ['MIL', false, 100, 14400],
      ['TOR', true, 128, 14400],
    ]);
    // Every declared column is present in every row, and nothing else.
    for (const [def, rows] of [
      [nbacPlayerBoxscore, players],
      [nbacTeamBoxscore, teams],
    ] as const) {
      const names = def.table.columns.map((c) => c.name).sort();
      for (const row of rows) expect(Object.keys(row).sort()).to.deep.equal(names);
      for (const c of def.table.columns.filter((c) => c.nullable === false)) {
        expect(
          rows.every((r) => r[c.name] !== null && r[c.name] !== undefined),
          c.name,
        ).to.equal(true);
      }
    }
  });

  it('fails with the file named when a raw file is malformed', async () => {
    await store.put('nba-com/player-boxscores/2024-04-19/0042300101.json', '{"resultSets": [');
    const err = await rejectsInput(nbacPlayerBoxscore.run({ slice: '2024-04-19', store, schedule: SCHEDULE }));
    expect(err.file).to.equal('nba-com/player-boxscores/2024-04-19/0042300101.json');
  });

  it('refuses a file whose game is not of the slice date', async () => {
    await store.put('nba-com/player-boxscores/2021-11-03/0022500165.json', readFileSync(REAL_V3));
    const err = await rejectsInput(nbacPlayerBoxscore.run({ slice: '2021-11-03', store, schedule: SCHEDULE }));
    expect(err.message).to.match(/game 0022500165 is scheduled on 2025-11-04, but its file is under 2021-11-03/);
    expect(err.file).to.equal('nba-com/player-boxscores/2021-11-03/0022500165.json');
  });

  it('refuses a file named for another game', async () => {
    await store.put('nba-com/team-boxscore/2025-11-04/0022500166.json', readFileSync(REAL_V3));
    const err = await rejectsInput(nbacTeamBoxscore.run({ slice: '2025-11-04', store, schedule: SCHEDULE }));
    expect(err.message).to.match(/holds game 0022500165, not 0022500166/);
  });

  it('returns no rows for a slice without files', async () => {
    expect(await nbacPlayerBoxscore.run({ slice: '2025-11-04', store, schedule: SCHEDULE })).to.deep.equal([]);
  });
});
