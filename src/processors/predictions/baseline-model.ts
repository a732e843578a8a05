/**
 * The baseline points model: a weighted average of recent form, so that a later model has
 * something honest to beat. It reads only Phase 4 features, which come from games before the
 * one predicted.
 *
 *   predicted = 0.6 · avg(points, last 5 games) + 0.4 · avg(points, last 10 games)
 *
 * Recent games weigh more because minutes and roles change within a season. With fewer
 * than five earlier games both averages cover the same games, so the prediction is their
 * average; with none (a player's first game of the season) it is the league prior below.
 */
export const BASELINE_MODEL_VERSION = 'baseline-last5-last10-v1';

export const WEIGHT_LAST5 = 0.6;
export const WEIGHT_LAST10 = 0.4;

/**
 * Points of an average NBA player-game: about 10–11 (a team scores ~114 over ~10.5 players
 * who play). Used only when a player has no earlier game in the season.
 */
export const LEAGUE_PRIOR_POINTS = 10.5;

export interface PointsFeatures {
  ptsAvgLast5: number | null;
  ptsAvgLast10: number | null;
  last5Games: number;
  last10Games: number;
}

export interface PointsPrediction {
  points: number;
  /** `last5_last10` when recent form was used, `prior` when the player had no earlier game. */
  basis: 'last5_last10' | 'prior';
  /** The features and weights the prediction used, as stored in `features_used`. */
  used: Record<string, number | string | null>;
}

export function predictPoints(f: PointsFeatures): PointsPrediction {
  if (f.ptsAvgLast5 === null || f.ptsAvgLast10 === null) {
    return { points: LEAGUE_PRIOR_POINTS, basis: 'prior', used: { league_prior_points: LEAGUE_PRIOR_POINTS, last5_games: f.last5Games } };
  }
  return {
    points: WEIGHT_LAST5 * f.ptsAvgLast5 + WEIGHT_LAST10 * f.ptsAvgLast10,
    basis: 'last5_last10',
    used: {
      pts_avg_last5: f.ptsAvgLast5,
      pts_avg_last10: f.ptsAvgLast10,
      last5_games: f.last5Games,
      last10_games: f.last10Games,
      weight_last5: WEIGHT_LAST5,
      weight_last10: WEIGHT_LAST10,
    },
  };
}
