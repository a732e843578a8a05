/**
 * The counting stats of a box-score line, a player's or a team's — one list and one type for
 * every feed, the fixture source, the plausibility rules and the analytics formulas.
 */
export const COUNTING_STATS = ['fgm', 'fga', 'fg3m', 'fg3a', 'ftm', 'fta', 'oreb', 'dreb', 'reb', 'ast', 'stl', 'blk', 'tov', 'pf', 'pts'] as const;

export type CountingStat = (typeof COUNTING_STATS)[number];

/** One line's counting stats, all known (a parsed feed line has them nullable: a player who did not play). */
export type CountingStats = Record<CountingStat, number>;
