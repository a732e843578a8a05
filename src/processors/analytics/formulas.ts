/**
 * Basketball analytics formulas, as pure functions of box-score counts. Every formula is the
 * standard published definition (Dean Oliver's possessions and four factors, Basketball-
 * Reference's true shooting and usage rate); where several variants exist the one chosen is
 * stated next to it. A ratio whose denominator is zero is `null`, never `NaN` or `Infinity`:
 * a player with no shot attempts has no true-shooting percentage, not a zero one.
 */

import type { CountingStats } from '../boxscore/counting-stats.ts';

/** The counting stats the formulas read (of the one `CountingStats`); one player's or one team's line for one game. */
export type Counts = Pick<CountingStats, 'fgm' | 'fga' | 'fg3m' | 'fg3a' | 'ftm' | 'fta' | 'oreb' | 'dreb' | 'tov' | 'pts'>;

/**
 * The share of free-throw attempts that end a possession. 0.44 (not 0.5) because and-ones,
 * technicals and three-shot fouls put more than one attempt on some possessions; it is the
 * coefficient Basketball-Reference and NBA.com use.
 */
export const FTA_POSSESSION_FACTOR = 0.44;

/** Regulation minutes in one player's slot of a game (48); five slots make 240 team minutes. */
export const GAME_MINUTES = 48;

function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}

/** Minutes as a decimal: 1866 s → 31.1. */
export function minutesDecimal(seconds: number): number {
  return seconds / 60;
}

/**
 * True shooting percentage, a fraction: TS% = PTS / (2 · (FGA + 0.44 · FTA)).
 * Null without a shot or free-throw attempt.
 */
export function trueShootingPct(c: Pick<Counts, 'pts' | 'fga' | 'fta'>): number | null {
  return ratio(c.pts, 2 * (c.fga + FTA_POSSESSION_FACTOR * c.fta));
}

/** Effective field-goal percentage, a fraction: eFG% = (FGM + 0.5 · 3PM) / FGA. */
export function effectiveFgPct(c: Pick<Counts, 'fgm' | 'fg3m' | 'fga'>): number | null {
  return ratio(c.fgm + 0.5 * c.fg3m, c.fga);
}

/** Possessions a line used: FGA + 0.44 · FTA + TOV (the usage and turnover-rate denominator). */
export function possessionsUsed(c: Pick<Counts, 'fga' | 'fta' | 'tov'>): number {
  return c.fga + FTA_POSSESSION_FACTOR * c.fta + c.tov;
}

/**
 * Usage rate, in percent (Basketball-Reference):
 * USG% = 100 · ((FGA + 0.44 · FTA + TOV) · (TmMP / 5)) / (MP · (TmFGA + 0.44 · TmFTA + TmTOV)),
 * the share of the team's possessions a player used while on the floor. `minutes` and
 * `teamMinutes` are decimal minutes (TmMP is 240 for a regulation game, 265 after one
 * overtime). Null for a player with no minutes or a team with no possessions.
 */
export function usageRate(
  player: Pick<Counts, 'fga' | 'fta' | 'tov'>,
  minutes: number,
  team: Pick<Counts, 'fga' | 'fta' | 'tov'>,
  teamMinutes: number,
): number | null {
  if (minutes <= 0) return null;
  const share = ratio(possessionsUsed(player) * (teamMinutes / 5), minutes * possessionsUsed(team));
  return share === null ? null : 100 * share;
}

/**
 * A team's possessions in a game, Dean Oliver's basic estimate from its own line:
 * Poss = FGA + 0.44 · FTA − OREB + TOV. Each team gets its own estimate (rather than
 * Basketball-Reference's two-team average) so that one team's offensive rating is exactly its
 * opponent's defensive rating, and both are computable from the two team lines alone.
 */
export function possessions(c: Pick<Counts, 'fga' | 'fta' | 'oreb' | 'tov'>): number {
  return c.fga + FTA_POSSESSION_FACTOR * c.fta - c.oreb + c.tov;
}

/** Offensive rating: points scored per 100 own possessions, ORtg = 100 · PTS / Poss. */
export function offensiveRating(pts: number, poss: number): number | null {
  const r = ratio(pts, poss);
  return r === null ? null : 100 * r;
}

/**
 * Defensive rating: points allowed per 100 opponent possessions,
 * DRtg = 100 · OppPTS / OppPoss — the opponent's offensive rating.
 */
export function defensiveRating(opponentPts: number, opponentPoss: number): number | null {
  return offensiveRating(opponentPts, opponentPoss);
}

/**
 * Pace: possessions per 48 minutes, Pace = 48 · ((TmPoss + OppPoss) / 2) / (TmMP / 5).
 * Both teams' estimates are averaged because a game has one pace; dividing team minutes by
 * five makes an overtime game comparable to a regulation one.
 */
export function pace(teamPoss: number, opponentPoss: number, teamMinutes: number): number | null {
  const r = ratio((teamPoss + opponentPoss) / 2, teamMinutes / 5);
  return r === null ? null : GAME_MINUTES * r;
}

/** Turnover rate, a fraction: TOV% = TOV / (FGA + 0.44 · FTA + TOV). */
export function turnoverPct(c: Pick<Counts, 'fga' | 'fta' | 'tov'>): number | null {
  return ratio(c.tov, possessionsUsed(c));
}

/** Offensive rebound rate, a fraction: ORB% = OREB / (OREB + OppDREB). */
export function offensiveReboundPct(oreb: number, opponentDreb: number): number | null {
  return ratio(oreb, oreb + opponentDreb);
}

/** Defensive rebound rate, a fraction: DRB% = DREB / (DREB + OppOREB). */
export function defensiveReboundPct(dreb: number, opponentOreb: number): number | null {
  return ratio(dreb, dreb + opponentOreb);
}

/** Free-throw rate, a fraction: FTr = FTM / FGA (Oliver's fourth factor uses makes, not attempts). */
export function freeThrowRate(c: Pick<Counts, 'ftm' | 'fga'>): number | null {
  return ratio(c.ftm, c.fga);
}

/** Dean Oliver's four factors of one side of a game. */
export interface FourFactors {
  efgPct: number | null;
  tovPct: number | null;
  /** Offensive rebound rate for the offense; defensive rebound rate for the defense. */
  rebPct: number | null;
  ftRate: number | null;
}

/** The four factors of a team's offense: its own shooting, turnovers, offensive boards, free throws. */
export function offenseFourFactors(team: Counts, opponent: Counts): FourFactors {
  return { efgPct: effectiveFgPct(team), tovPct: turnoverPct(team), rebPct: offensiveReboundPct(team.oreb, opponent.dreb), ftRate: freeThrowRate(team) };
}

/**
 * The four factors of a team's defense: what it allowed the opponent (eFG%, TOV%, FTr) and
 * the share of the opponent's misses it rebounded (DRB%).
 */
export function defenseFourFactors(team: Counts, opponent: Counts): FourFactors {
  return {
    efgPct: effectiveFgPct(opponent),
    tovPct: turnoverPct(opponent),
    rebPct: defensiveReboundPct(team.dreb, opponent.oreb),
    ftRate: freeThrowRate(opponent),
  };
}

/** Rounds for storage: ratings and rates keep more digits than any report shows. */
export function round(value: number | null, digits = 4): number | null {
  if (value === null) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
