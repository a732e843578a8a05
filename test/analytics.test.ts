/**
 * The analytics formulas and the phase 3–5 row builders, checked against numbers computed by
 * hand from the real box score in fixtures/nba/boxscoretraditionalv3_0022500165.json
 * (MIL 100 @ TOR 128, 2025-11-04). Each expected value is a literal, with its arithmetic.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { InputError } from '../src/errors/input-error.ts';
import {
  type Counts,
  defenseFourFactors,
  defensiveRating,
  effectiveFgPct,
  offenseFourFactors,
  offensiveRating,
  pace,
  possessions,
  trueShootingPct,
  usageRate,
} from '../src/processors/analytics/formulas.ts';
import { summarizePlayers } from '../src/processors/analytics/player-game-summary.ts';
import { summarizeTeamDefense } from '../src/processors/analytics/team-defense-game-summary.ts';
import { summarizeTeamOffense } from '../src/processors/analytics/team-offense-game-summary.ts';
import { PLAYER_BOXSCORE_PREFIX, TEAM_BOXSCORE_PREFIX } from '../src/processors/nbac/boxscore-scrapers.ts';
import { nbacPlayerBoxscore } from '../src/processors/nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../src/processors/nbac/team-boxscore.ts';
import { addDays, datesIn, seasonToDate } from '../src/processors/precompute/lookback.ts';
import { playerFeatures } from '../src/processors/precompute/player-rolling-features.ts';
import { rollingFeatures } from '../src/processors/precompute/rolling.ts';
import { LEAGUE_PRIOR_POINTS, predictPoints } from '../src/processors/predictions/baseline-model.ts';
import { predictSlice } from '../src/processors/predictions/player-points-predictions.ts';
import type { Row } from '../src/processors/types.ts';
import { FixtureSource } from '../src/sources/fixture/fixture-source.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';

/** The fixture schedule: what the box-score slices must contain. */
const SCHEDULE = new FixtureSource();

const FIXTURE = path.resolve('fixtures/nba/boxscoretraditionalv3_0022500165.json');
const GAME_ID = '0022500165';
const DATE = '2025-11-04';
const NOW = '2025-11-05T00:00:00.000Z';

// Team totals from the file's homeTeam/awayTeam `statistics`.
const TOR: Counts = { fgm: 44, fga: 91, fg3m: 17, fg3a: 38, ftm: 23, fta: 29, oreb: 10, dreb: 40, tov: 9, pts: 128 };
const MIL: Counts = { fgm: 37, fga: 86, fg3m: 11, fg3a: 38, ftm: 15, fta: 21, oreb: 9, dreb: 32, tov: 12, pts: 100 };
// RJ Barrett (TOR): 31:06, 6-12 FG, 4-8 3P, 7-12 FT, 1 TOV, 23 PTS.
const BARRETT: Counts = { fgm: 6, fga: 12, fg3m: 4, fg3a: 8, ftm: 7, fta: 12, oreb: 0, dreb: 8, tov: 1, pts: 23 };
// Giannis Antetokounmpo (MIL): 23:43, 9-14 FG, 0-0 3P, 4-6 FT, 1 TOV, 22 PTS.
const GIANNIS: Counts = { fgm: 9, fga: 14, fg3m: 0, fg3a: 0, ftm: 4, fta: 6, oreb: 3, dreb: 5, tov: 1, pts: 22 };

const close = (actual: number | null, expected: number, what: string) => {
  expect(actual, what).to.not.equal(null);
  expect(actual as number, what).to.be.closeTo(expected, 1e-4);
};

describe('analytics formulas against the real v3 box score (MIL @ TOR, 2025-11-04)', () => {
  it('possessions, pace and ratings of both teams', () => {
    // TOR: 91 + 0.44·29 − 10 + 9 = 91 + 12.76 − 10 + 9 = 102.76
    close(possessions(TOR), 102.76, 'TOR possessions');
    // MIL: 86 + 0.44·21 − 9 + 12 = 86 + 9.24 − 9 + 12 = 98.24
    close(possessions(MIL), 98.24, 'MIL possessions');
    // 48 · ((102.76 + 98.24) / 2) / (240 / 5) = 48 · 100.5 / 48 = 100.5
    close(pace(102.76, 98.24, 240), 100.5, 'pace');
    // 100 · 128 / 102.76 = 124.5621
    close(offensiveRating(128, 102.76), 124.5621, 'TOR ORtg');
    // 100 · 100 / 98.24 = 101.7915, which is also TOR's defensive rating
    close(offensiveRating(100, 98.24), 101.7915, 'MIL ORtg');
    close(defensiveRating(100, 98.24), 101.7915, 'TOR DRtg');
    expect(offensiveRating(10, 0)).to.equal(null);
  });

  it('four factors of offense and defense', () => {
    const off = offenseFourFactors(TOR, MIL);
    // eFG% = (44 + 0.5·17) / 91 = 52.5 / 91 = 0.576923
    close(off.efgPct, 0.576923, 'TOR eFG%');
    // TOV% = 9 / (91 + 0.44·29 + 9) = 9 / 112.76 = 0.079816
    close(off.tovPct, 0.079816, 'TOR TOV%');
    // ORB% = 10 / (10 + 32) = 0.238095
    close(off.rebPct, 0.238095, 'TOR ORB%');
    // FTr = 23 / 91 = 0.252747
    close(off.ftRate, 0.252747, 'TOR FT rate');
    const def = defenseFourFactors(TOR, MIL);
    // opponent eFG% = (37 + 0.5·11) / 86 = 42.5 / 86 = 0.494186
    close(def.efgPct, 0.494186, 'MIL eFG% allowed');
    // opponent TOV% = 12 / (86 + 0.44·21 + 12) = 12 / 107.24 = 0.111899
    close(def.tovPct, 0.111899, 'MIL TOV% forced');
    // DRB% = 40 / (40 + 9) = 0.816327
    close(def.rebPct, 0.816327, 'TOR DRB%');
    // opponent FTr = 15 / 86 = 0.174419
    close(def.ftRate, 0.174419, 'MIL FT rate allowed');
  });

  it('true shooting, effective FG% and usage of two players', () => {
    // Barrett TS% = 23 / (2·(12 + 0.44·12)) = 23 / 34.56 = 0.665509
    close(trueShootingPct(BARRETT), 0.665509, 'Barrett TS%');
    // Barrett eFG% = (6 + 0.5·4) / 12 = 8 / 12 = 0.666667
    close(effectiveFgPct(BARRETT), 0.666667, 'Barrett eFG%');
    // Barrett USG% = 100·((12 + 5.28 + 1)·(240/5)) / ((1866/60)·(91 + 12.76 + 9))
    //             = 100·(18.28·48) / (31.1·112.76) = 87744 / 3506.836 = 25.0208
    close(usageRate(BARRETT, 1866 / 60, TOR, 240), 25.0208, 'Barrett USG%');
    // Giannis TS% = 22 / (2·(14 + 0.44·6)) = 22 / 33.28 = 0.661058
    close(trueShootingPct(GIANNIS), 0.661058, 'Giannis TS%');
    // Giannis USG% = 100·((14 + 2.64 + 1)·48) / ((1423/60)·(86 + 9.24 + 12))
    //             = 100·(17.64·48) / (23.716667·107.24) = 84672 / 2543.3553 = 33.2912
    close(usageRate(GIANNIS, 1423 / 60, MIL, 240), 33.2912, 'Giannis USG%');
    // No attempts at all: no true-shooting percentage rather than a zero one.
    expect(trueShootingPct({ pts: 0, fga: 0, fta: 0 })).to.equal(null);
    expect(usageRate(GIANNIS, 0, MIL, 240)).to.equal(null);
  });
});

describe('phase 3 rows from the real v3 box score through the phase 2 processors', () => {
  let dir: string;
  let players: Row[];
  let teams: Row[];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-analytics-'));
    const store = new LocalObjectStore(dir);
    const body = await readFile(FIXTURE);
    await store.put(`${PLAYER_BOXSCORE_PREFIX(DATE)}${GAME_ID}.json`, body);
    await store.put(`${TEAM_BOXSCORE_PREFIX(DATE)}${GAME_ID}.json`, body);
    players = await nbacPlayerBoxscore.run({ slice: DATE, store, schedule: SCHEDULE });
    teams = await nbacTeamBoxscore.run({ slice: DATE, store, schedule: SCHEDULE });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('player_game_summary: one row per player who played, none for the two DNPs, exact figures', () => {
    const rows = summarizePlayers(DATE, players, teams, NOW);
    // TOR dressed 14 (Garrett Temple DNP), MIL 15 (Thanasis Antetokounmpo DNP): 13 + 14 played.
    expect(players).to.have.length(29);
    expect(rows).to.have.length(27);
    expect(rows.map((r) => r.player_id)).to.not.include.members([202066, 203648]);
    const barrett = rows.find((r) => r.player_id === 1629628) as Row;
    expect(barrett).to.include({
      team_abbr: 'TOR',
      opponent_team_abbr: 'MIL',
      is_home: true,
      is_starter: true,
      pts: 23,
      seconds_played: 1866,
      team_pts: 128,
      opponent_pts: 100,
      team_won: true,
    });
    close(barrett.minutes as number, 31.1, 'minutes 1866 / 60');
    close(barrett.ts_pct as number, 0.6655, 'TS% stored to 4 places');
    close(barrett.usage_rate as number, 25.0208, 'USG% stored to 4 places');
    close(barrett.team_possessions as number, 102.76, 'team possessions');
    expect(barrett.source_tables).to.equal('nba_raw.nbac_player_boxscores,nba_raw.nbac_team_boxscore');
    const giannis = rows.find((r) => r.player_id === 203507) as Row;
    expect(giannis).to.include({ team_abbr: 'MIL', is_home: false, is_starter: true, team_won: false });
    close(giannis.usage_rate as number, 33.2912, 'Giannis USG%');
    // Bench players: no start position.
    expect((rows.find((r) => r.player_id === 1642367) as Row).is_starter).to.equal(false);
  });

  it("player_game_summary falls back to the players' own totals when the team line is missing", () => {
    const rows = summarizePlayers(DATE, players, [], NOW);
    expect(rows).to.have.length(27);
    const barrett = rows.find((r) => r.player_id === 1629628) as Row;
    // The TOR players' lines add up to the team line: same team figures, same usage.
    close(barrett.team_minutes as number, 240, 'team minutes from player seconds');
    close(barrett.usage_rate as number, 25.0208, 'USG% from player sums');
    expect(barrett.source_tables).to.equal('nba_raw.nbac_player_boxscores');
  });

  it('team offense and defense: one row per team-game with ratings that mirror each other', () => {
    const off = summarizeTeamOffense(DATE, teams, NOW);
    const def = summarizeTeamDefense(DATE, teams, NOW);
    expect(off).to.have.length(2);
    expect(def).to.have.length(2);
    const torOff = off.find((r) => r.team_abbr === 'TOR') as Row;
    const milDef = def.find((r) => r.team_abbr === 'MIL') as Row;
    close(torOff.possessions as number, 102.76, 'TOR possessions');
    close(torOff.pace as number, 100.5, 'pace');
    close(torOff.offensive_rating as number, 124.5621, 'TOR ORtg');
    close(torOff.efg_pct as number, 0.5769, 'TOR eFG%');
    close(torOff.oreb_pct as number, 0.2381, 'TOR ORB%');
    expect(torOff).to.include({ won: true, opponent_pts: 100, is_home: true });
    // MIL's defense faced TOR's possessions: its rating is TOR's offensive rating.
    close(milDef.defensive_possessions as number, 102.76, 'MIL defensive possessions');
    close(milDef.defensive_rating as number, 124.5621, 'MIL DRtg');
    close(milDef.dreb_pct as number, 0.7619, 'MIL DRB% = 32 / (32 + 10)');
    expect(milDef).to.include({ points_allowed: 128, won: false });
  });
});

describe('phase 4 rolling features and the phase 5 baseline', () => {
  const game = (gameDate: string, pts: number, minutes = 30, usageRate: number | null = 20) => ({ gameDate, pts, minutes, usageRate });

  it('uses earlier games only, with last-5/last-10 windows, rest and back-to-back', () => {
    // Twelve games on consecutive odd days of November, then the game on Nov 25 itself (40 points).
    const games = Array.from({ length: 12 }, (_, i) => game(`2023-11-${String(1 + 2 * i).padStart(2, '0')}`, i + 1));
    const f = rollingFeatures('2023-11-25', [...games, game('2023-11-25', 40)]);
    expect(f.gamesPlayedSeason).to.equal(12);
    // Last 5 before Nov 25: points 12, 11, 10, 9, 8 → 50 / 5 = 10; last 10: 12..3 → 75 / 10 = 7.5
    expect(f.ptsAvgLast5).to.equal(10);
    expect(f.ptsAvgLast10).to.equal(7.5);
    // Season: 1..12 → 78 / 12 = 6.5 (the 40 of the same day never counts)
    expect(f.ptsAvgSeason).to.equal(6.5);
    expect(f.previousGameDate).to.equal('2023-11-23');
    // Nov 23 → Nov 25: one full day off, not a back-to-back.
    expect(f).to.include({ daysRest: 1, backToBack: false, last5Games: 5, last10Games: 10 });
    expect(rollingFeatures('2023-11-24', games)).to.include({ daysRest: 0, backToBack: true });
    const first = rollingFeatures('2023-10-24', []);
    expect(first).to.include({ gamesPlayedSeason: 0, ptsAvgLast5: null, daysRest: null, backToBack: false });
    // Usage averages skip unknown values instead of counting them as zero.
    expect(rollingFeatures('2023-11-10', [game('2023-11-01', 10, 30, null), game('2023-11-03', 10, 30, 30)]).usageAvgLast5).to.equal(30);
  });

  it('builds one feature row per player of the day and predicts 0.6·last5 + 0.4·last10', () => {
    const summary = (date: string, player: number, pts: number): Row => ({
      game_date: date,
      game_id: `g${date}`,
      player_id: player,
      player_name: `p${player}`,
      team_id: 1,
      pts,
      minutes: 30,
      usage_rate: 20,
    });
    const rows = [
      ...['2023-11-01', '2023-11-03', '2023-11-05', '2023-11-07', '2023-11-09', '2023-11-11'].map((d, i) => summary(d, 7, 10 + i)),
      summary('2023-11-12', 7, 99),
      summary('2023-11-12', 8, 5),
      summary('2023-11-14', 7, 1),
    ];
    const features = playerFeatures('2023-11-12', rows, NOW);
    expect(features).to.have.length(2);
    const p7 = features.find((r) => r.player_id === 7) as Row;
    // Last 5 before Nov 12: 15, 14, 13, 12, 11 → 13; last 10 (six games): 10..15 → 75 / 6 = 12.5
    expect(p7).to.include({ games_played_season: 6, pts_avg_last5: 13, pts_avg_last10: 12.5, back_to_back: true, days_rest: 0 });
    const predictions = predictSlice('2023-11-12', features, NOW);
    // 0.6·13 + 0.4·12.5 = 7.8 + 5 = 12.8
    expect(predictions.find((r) => r.player_id === 7)).to.include({
      predicted_points: 12.8,
      prediction_basis: 'last5_last10',
      model_version: 'baseline-last5-last10-v1',
    });
    expect(JSON.parse(String((predictions.find((r) => r.player_id === 7) as Row).features_used))).to.include({
      pts_avg_last5: 13,
      pts_avg_last10: 12.5,
      weight_last5: 0.6,
    });
    // Player 8's first game: the league prior.
    expect(predictions.find((r) => r.player_id === 8)).to.include({ predicted_points: LEAGUE_PRIOR_POINTS, prediction_basis: 'prior' });
    expect(predictPoints({ ptsAvgLast5: 20, ptsAvgLast10: 10, last5Games: 5, last10Games: 10 }).points).to.equal(16);
  });

  it('reads cells that come as text as the typed ones, and refuses a cell that is not a number', () => {
    const typed = (date: string, pts: number): Row => ({
      game_date: date,
      game_id: `g${date}`,
      player_id: 7,
      pts,
      minutes: 30,
      usage_rate: 20,
      data_quality_tier: 'gold',
    });
    const dates = ['2023-11-01', '2023-11-03', '2023-11-05', '2023-11-12'];
    const asTyped = playerFeatures(
      '2023-11-12',
      dates.map((d, i) => typed(d, 10 + i)),
      NOW,
    );
    const asText = playerFeatures(
      '2023-11-12',
      dates.map((d, i) => ({ ...typed(d, 10 + i), player_id: '7', pts: String(10 + i), minutes: '30', usage_rate: i === 1 ? null : '20' })),
      NOW,
    );
    expect(asText.map((r) => ({ ...r, usage_avg_last5: null, usage_avg_last10: null }))).to.deep.equal(
      asTyped.map((r) => ({ ...r, usage_avg_last5: null, usage_avg_last10: null })),
    );
    expect(asText[0]).to.include({ player_id: 7, pts_avg_season: 11, usage_avg_last5: 20 });
    const bad = dates.map((d, i) => (i === 1 ? { ...typed(d, 0), pts: Number.NaN } : typed(d, 10 + i)));
    expect(() => playerFeatures('2023-11-12', bad, NOW)).to.throw(InputError, /nba_analytics\.player_game_summary row g2023-11-03\/7: pts is null/);
  });

  it('the season window reads July 1 to the day before, and refreshes to June 30', () => {
    const w = seasonToDate('player_game_summary');
    expect(w.earlier('2023-11-12')).to.deep.equal({ start: '2023-07-01', end: '2023-11-11' });
    expect(w.later('2023-11-12')).to.deep.equal({ start: '2023-11-13', end: '2024-06-30' });
    expect(w.earlier('2024-03-01').start).to.equal('2023-07-01');
  });

  it('lists a range of calendar dates across month, year and leap-day ends, and adds days either way', () => {
    expect(datesIn({ start: '2023-12-30', end: '2024-01-02' })).to.deep.equal(['2023-12-30', '2023-12-31', '2024-01-01', '2024-01-02']);
    expect(datesIn({ start: '2024-02-28', end: '2024-03-01' })).to.deep.equal(['2024-02-28', '2024-02-29', '2024-03-01']);
    expect(datesIn({ start: '2024-03-02', end: '2024-03-01' })).to.deep.equal([]);
    expect(datesIn({ start: '2023-07-01', end: '2024-06-30' })).to.have.length(366);
    expect(addDays('2024-03-01', -1)).to.equal('2024-02-29');
    expect(addDays('2023-12-31', 1)).to.equal('2024-01-01');
    expect(addDays('2024-01-01', -365)).to.equal('2023-01-01');
    expect(() => addDays('not a date', 1)).to.throw(RangeError);
  });
});
