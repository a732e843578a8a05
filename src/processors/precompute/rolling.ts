/**
 * Rolling player features, as pure functions of a player's earlier games. Only games strictly
 * before the date being computed are read: a feature that saw the game it describes would
 * leak the answer into any model trained on it.
 */

/** What one earlier game contributes. */
export interface PastGame {
  gameDate: string;
  pts: number;
  minutes: number;
  /** Null when the player's team had no possessions on record. */
  usageRate: number | null;
}

export interface RollingFeatures {
  /** Games the player played earlier in the season. */
  gamesPlayedSeason: number;
  /** Games behind the last-5 and last-10 averages (fewer early in the season). */
  last5Games: number;
  last10Games: number;
  ptsAvgLast5: number | null;
  ptsAvgLast10: number | null;
  ptsAvgSeason: number | null;
  minutesAvgLast5: number | null;
  minutesAvgLast10: number | null;
  usageAvgLast5: number | null;
  usageAvgLast10: number | null;
  /** The player's previous game date in the season; null before his first game. */
  previousGameDate: string | null;
  /** Full days off between the previous game and this one: 0 on the second night of a back-to-back. */
  daysRest: number | null;
  backToBack: boolean;
}

function mean(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/**
 * Features for a player's game on `date` from his games of the season so far. Games on or
 * after `date` are ignored, whatever the caller passed.
 */
export function rollingFeatures(date: string, games: readonly PastGame[]): RollingFeatures {
  const past = games.filter((g) => g.gameDate < date).sort((a, b) => (a.gameDate < b.gameDate ? 1 : -1));
  const last5 = past.slice(0, 5);
  const last10 = past.slice(0, 10);
  const previous = past[0]?.gameDate ?? null;
  const gap = previous === null ? null : daysBetween(previous, date);
  return {
    gamesPlayedSeason: past.length,
    last5Games: last5.length,
    last10Games: last10.length,
    ptsAvgLast5: mean(last5.map((g) => g.pts)),
    ptsAvgLast10: mean(last10.map((g) => g.pts)),
    ptsAvgSeason: mean(past.map((g) => g.pts)),
    minutesAvgLast5: mean(last5.map((g) => g.minutes)),
    minutesAvgLast10: mean(last10.map((g) => g.minutes)),
    usageAvgLast5: mean(last5.map((g) => g.usageRate)),
    usageAvgLast10: mean(last10.map((g) => g.usageRate)),
    previousGameDate: previous,
    daysRest: gap === null ? null : gap - 1,
    backToBack: gap === 1,
  };
}
