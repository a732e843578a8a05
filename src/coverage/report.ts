/**
 * Per date, what `phasegate coverage`, the dashboard's Coverage page and the audit's snapshot
 * show: scheduled games, games found per source, tier counts, the games no source has. Pure.
 */

import { TIERS, tierRank, worstOf } from '../processors/tiers.ts';
import type { CoverageScan, DateScan } from './scan.ts';
import { sourceHas } from './sources.ts';

export interface GameCoverage {
  gameId: string;
  scheduled: boolean;
  /** Raw sources holding the game, primary first. */
  sources: string[];
  /** Primary sources that do not hold the scheduled game (the fallback is only expected when the primary lacks it). */
  missingFrom: string[];
  /** The game's worst tier in the analytics table; null when analytics holds none of it yet. */
  tier: string | null;
  /** The source(s) phase 3 picked for it. */
  primarySource: string | null;
}

/**
 * A date's colour on the calendar: the worst tier of its games; `missing` when a scheduled
 * game has no source at all; `pending` when some game is in a raw table but not (yet) in
 * analytics; `none` when nothing is scheduled and nothing found.
 */
export type DateState = 'gold' | 'silver' | 'bronze' | 'pending' | 'missing' | 'none';
export const DATE_STATES: readonly DateState[] = ['gold', 'silver', 'bronze', 'pending', 'missing', 'none'];

export interface DateCoverage {
  date: string;
  scheduledGames: number;
  /** Games found per raw source (every source is listed, 0 included). */
  found: Record<string, number>;
  /** Games the analytics table holds. */
  analyticsGames: number;
  /** Games per tier; `none` counts scheduled games analytics does not hold. */
  tiers: Record<string, number>;
  worst: DateState;
  /** Scheduled games no source has. */
  missing: string[];
  games: GameCoverage[];
}

export function dateCoverage(scan: Pick<CoverageScan, 'targets'>, d: DateScan): DateCoverage {
  const { targets } = scan;
  const found: Record<string, number> = Object.fromEntries(targets.names.map((s) => [s, 0]));
  const primaries = [...new Set(targets.sources.filter((s) => s.role === 'primary').map((s) => s.source))];
  const tiers: Record<string, number> = Object.fromEntries([...TIERS, 'none'].map((t) => [t, 0]));
  const games: GameCoverage[] = [];
  const missing: string[] = [];
  let analyticsGames = 0;
  let pending = false;
  for (const g of d.games) {
    const has = targets.names.filter((s) => sourceHas(targets, g.raw, s));
    for (const s of has) found[s] = (found[s] ?? 0) + 1;
    const tier = g.analytics?.tier ?? null;
    if (g.analytics) analyticsGames += 1;
    if (tier) tiers[tier] = (tiers[tier] ?? 0) + 1;
    else if (g.scheduled) tiers.none = (tiers.none ?? 0) + 1;
    // No raw source: whatever analytics still holds of it cannot be recomputed (seed 004's gap).
    if (g.scheduled && has.length === 0) missing.push(g.gameId);
    else if (!tier) pending = true;
    games.push({
      gameId: g.gameId,
      scheduled: g.scheduled,
      sources: has,
      missingFrom: g.scheduled ? primaries.filter((s) => !has.includes(s)) : [],
      tier,
      primarySource: g.analytics?.sources.join(',') || null,
    });
  }
  const worstTier = worstOf(games.map((g) => g.tier));
  const worst: DateState =
    missing.length > 0
      ? 'missing'
      : pending
        ? 'pending'
        : worstTier === null
          ? 'none'
          : tierRank(worstTier) >= TIERS.length
            ? 'bronze'
            : (worstTier as DateState);
  return { date: d.date, scheduledGames: d.scheduled.length, found, analyticsGames, tiers, worst, missing, games };
}

export function coverageReport(scan: CoverageScan): DateCoverage[] {
  return scan.dates.map((d) => dateCoverage(scan, d));
}
