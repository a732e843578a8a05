/** Reconciliation and quality tiers: which source phase 3 reads per game, and what tier every row carries. */
import { expect } from 'chai';
import { reconcile, SOURCE_TABLES } from '../src/processors/analytics/sources.ts';
import { nbacTeamBoxscore } from '../src/processors/nbac/team-boxscore.ts';
import { playerFeatures } from '../src/processors/precompute/player-rolling-features.ts';
import { worstTier } from '../src/processors/tiers.ts';
import { type Row, tableId } from '../src/processors/types.ts';

const line = (game: string, team: number, player: number, extra: Row = {}): Row => ({
  game_id: game,
  game_date: '2024-01-10',
  season: '2023-24',
  game_type: 'regular_season',
  team_id: team,
  team_abbr: `T${team}`,
  is_home: team === 1,
  player_id: player,
  seconds_played: 1800,
  fgm: 5,
  fga: 10,
  fg3m: 1,
  fg3a: 3,
  ftm: 2,
  fta: 2,
  oreb: 1,
  dreb: 3,
  reb: 4,
  ast: 2,
  stl: 1,
  blk: 0,
  tov: 1,
  pf: 2,
  pts: 13,
  quality_issues: null,
  ...extra,
});
const teamLine = (game: string, team: number): Row => ({ ...line(game, team, 0), seconds_played: 14_400 });

describe('quality tiers', () => {
  it('NBA.com complete → gold; balldontlie only → silver (fallback); one team in any source → bronze; warn issues → silver', () => {
    const nbacPlayers = [
      line('A', 1, 11),
      line('A', 2, 21),
      line('C', 1, 12),
      line('D', 1, 13, { quality_issues: JSON.stringify([{ rule: 'team_totals_eq_players', level: 'warn', detail: 'tov' }]) }),
      line('D', 2, 23),
    ];
    const nbacTeams = [teamLine('A', 1), teamLine('A', 2), teamLine('D', 1), teamLine('D', 2)];
    const bdl = [line('B', 1, 91), line('B', 2, 92), line('A', 1, 93), line('A', 2, 94)];
    const { games, players, teams } = reconcile({
      [SOURCE_TABLES.nbac as string]: nbacPlayers,
      [tableId(nbacTeamBoxscore.table)]: nbacTeams,
      [SOURCE_TABLES.bdl as string]: bdl,
    });
    expect(games.get('A')).to.deep.include({ source: 'nbac', tier: 'gold', issues: [] });
    expect(games.get('B')?.source).to.equal('bdl');
    expect(games.get('B')?.tier).to.equal('silver');
    expect(games.get('B')?.issues.map((i) => i.rule)).to.deep.equal(['fallback_source']);
    expect(games.get('C')?.tier).to.equal('bronze');
    expect(games.get('C')?.issues.map((i) => i.rule)).to.include('incomplete_input');
    expect(games.get('D')?.tier).to.equal('silver');
    // NBA.com's lines win where both sources have the game; balldontlie's team lines are summed from its players.
    expect(players.filter((p) => p.game_id === 'A').map((p) => p.player_id)).to.deep.equal([11, 21]);
    const bTeams = teams.filter((t) => t.game_id === 'B');
    expect(bTeams.map((t) => t.pts)).to.deep.equal([13, 13]);
    expect(bTeams[0]?.seconds_played).to.equal(1800);
  });

  it('the worst tier wins', () => {
    expect(worstTier(['gold', 'silver', 'gold'])).to.equal('silver');
    expect(worstTier(['gold', 'bronze', 'silver'])).to.equal('bronze');
    expect(worstTier([null, undefined])).to.equal('gold');
  });

  it("rolling features carry their inputs' lowest tier; few games is a warning only once the season has settled", () => {
    const summary = (date: string, tier: string, player = 7): Row => ({
      game_date: date,
      player_id: player,
      game_id: `G${date}`,
      season: '2023-24',
      pts: 20,
      minutes: 30,
      usage_rate: 20,
      data_quality_tier: tier,
      primary_source: 'nbac',
      quality_issues: null,
    });
    // Early season: two earlier games, all gold → gold, no few_games.
    const early = playerFeatures('2023-10-30', [summary('2023-10-24', 'gold'), summary('2023-10-26', 'gold'), summary('2023-10-30', 'gold')], 'now');
    expect(early[0]).to.include({ data_quality_tier: 'gold', quality_issues: null });
    // An earlier game from the fallback source makes the row silver.
    const fallback = playerFeatures('2023-10-30', [summary('2023-10-24', 'silver'), summary('2023-10-30', 'gold')], 'now');
    expect(fallback[0]?.data_quality_tier).to.equal('silver');
    expect(String(fallback[0]?.quality_issues)).to.include('input_tier');
    // Mid-season, a player with one earlier game: silver with few_games (a team-mate with many is gold).
    const rows = [
      summary('2023-10-24', 'gold', 8),
      ...['2023-11-01', '2023-11-10', '2023-11-20', '2023-12-01'].map((d) => summary(d, 'gold', 9)),
      summary('2023-12-05', 'gold', 8),
      summary('2023-12-05', 'gold', 9),
    ];
    const mid = playerFeatures('2023-12-05', rows, 'now');
    expect(mid.find((r) => r.player_id === 8)).to.include({ data_quality_tier: 'silver' });
    expect(String(mid.find((r) => r.player_id === 8)?.quality_issues)).to.include('few_games');
    expect(mid.find((r) => r.player_id === 9)).to.include({ data_quality_tier: 'gold' });
  });
});
