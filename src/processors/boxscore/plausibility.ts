/**
 * What a box score must satisfy, whatever its source, declared once for the raw tables. The levels come
 * from what the real feeds do: in every stats.nba.com v2/v3 file the shooting and rebound
 * identities hold exactly (the feed derives them), so breaking one means the file is corrupt
 * (`fatal`). A team's totals equal the sum of its players' lines in the real v3 file
 * (0022500165) too, but v2 `TeamStats` has carried team-level turnovers and rebounds in some
 * seasons, so a mismatch there is a `warn`: the row is kept and the issue recorded with it.
 */
import type { ParsedBoxscore } from '../nbac/parse/boxscore-types.ts';
import {
  atMost,
  atMostValue,
  knownWhenPlayed,
  nonNegative,
  oneIdPerName,
  type PlausibilityRule,
  type QualityIssue,
  sumOf,
  withinGameLength,
} from '../plausibility-rules.ts';
import { COUNTING_STATS as COUNTS } from './counting-stats.ts';

/** Rules every row of every raw box-score table is checked against. */
export const BOX_SCORE_RULES: readonly PlausibilityRule[] = [
  nonNegative('counts_non_negative', COUNTS),
  atMost('fgm_le_fga', 'fgm', 'fga'),
  atMost('fg3m_le_fg3a', 'fg3m', 'fg3a'),
  atMost('fg3m_le_fgm', 'fg3m', 'fgm'),
  atMost('ftm_le_fta', 'ftm', 'fta'),
  sumOf('reb_eq_oreb_dreb', 'reb', [
    [1, 'oreb'],
    [1, 'dreb'],
  ]),
  sumOf('pts_eq_shooting', 'pts', [
    [2, 'fgm'],
    [1, 'fg3m'],
    [1, 'ftm'],
  ]),
];

const TEAM_IN_GAME = ['game_id', 'team_id'] as const;

/**
 * The player tables (NBA.com's and balldontlie's). The most points anyone scored in a game is
 * 100 (1962). Fatal besides the shared ones: a line with minutes and a null stat (null is a
 * did-not-play line's), one name twice on a team in a game under two ids (a copied line), and
 * more minutes than the game lasted. Every real 2023-24 line passes them all
 * (test/integrity-real-data.test.ts).
 */
export const PLAYER_BOXSCORE_RULES: readonly PlausibilityRule[] = [
  ...BOX_SCORE_RULES,
  atMostValue('player_pts_le_100', 'pts', 100),
  knownWhenPlayed('played_stats_known', 'seconds_played', COUNTS),
  oneIdPerName('one_id_per_player_name', TEAM_IN_GAME, 'player_name', 'player_id'),
  withinGameLength('minutes_le_game_length', TEAM_IN_GAME, 'seconds_played'),
];

/** `nba_raw.nbac_team_boxscore`. The most points a team scored in a game is 186 (1983, 3 OT). */
export const TEAM_BOXSCORE_RULES: readonly PlausibilityRule[] = [...BOX_SCORE_RULES, atMostValue('team_pts_le_200', 'pts', 200)];

/**
 * Per team of a box score, where its totals differ from the sum of its players' lines (a
 * `warn`: see above). Empty when they agree or the file has no team totals.
 */
export function teamTotalsIssues(box: ParsedBoxscore): Map<number, QualityIssue[]> {
  const out = new Map<number, QualityIssue[]>();
  for (const team of box.teams) {
    const players = box.players.filter((p) => p.teamId === team.teamId);
    if (players.length === 0) continue;
    const off: string[] = [];
    for (const c of COUNTS) {
      const total = team[c];
      if (typeof total !== 'number') continue;
      const sum = players.reduce((n, p) => n + (p[c] ?? 0), 0);
      if (sum !== total) off.push(`${c} team ${total}, players ${sum}`);
    }
    if (off.length > 0) out.set(team.teamId, [{ rule: 'team_totals_eq_players', level: 'warn', detail: off.join('; ') }]);
  }
  return out;
}
