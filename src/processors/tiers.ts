/**
 * Quality tiers, best first (phase 3 tags every row, see src/processors/analytics/sources.ts):
 * a row's tier is its inputs' worst, a game's its worst row's, a date's its worst game's. The
 * one place tiers are ranked: the processors and the coverage audit both read them here.
 */
export const TIERS = ['gold', 'silver', 'bronze'] as const;
export type Tier = (typeof TIERS)[number];

/** Lower is better; a tier phasegate does not know ranks below bronze. */
export function tierRank(tier: string): number {
  const i = (TIERS as readonly string[]).indexOf(tier);
  return i === -1 ? TIERS.length : i;
}

/** The worst of some tiers, or null when there are none. */
export function worstOf(tiers: Iterable<string | null | undefined>): string | null {
  let worst: string | null = null;
  for (const t of tiers) if (t && (worst === null || tierRank(t) > tierRank(worst))) worst = t;
  return worst;
}

export function isTier(value: string | null | undefined): value is Tier {
  return (TIERS as readonly (string | null | undefined)[]).includes(value);
}

/**
 * The worst known tier of a row's inputs: unknown values are not inputs' tiers and are left
 * out, and a row none of whose inputs carries a tier is `gold` (nothing says otherwise).
 */
export function worstTier(tiers: Iterable<string | null | undefined>): Tier {
  const worst = worstOf([...tiers].filter(isTier));
  return worst === null ? 'gold' : (worst as Tier);
}
