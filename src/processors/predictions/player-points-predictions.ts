/**
 * Phase 5: `nba_predictions.player_points_predictions`, one row per player with a game on the
 * date: a baseline points prediction from the Phase 4 features, with the model version and
 * the features it used, so a later model can replace it row for row.
 */

import { round } from '../analytics/formulas.ts';
import { count, optBool, optNumber, optString, requiredNumber, requiredString } from '../analytics/rows.ts';
import { QUALITY_COLUMNS } from '../analytics/sources.ts';
import { col, key } from '../columns.ts';
import { scheduledGames } from '../expectations.ts';
import { playerRollingFeatures } from '../precompute/player-rolling-features.ts';
import { primarySource } from '../source-registry.ts';
import { worstTier } from '../tiers.ts';
import { type Column, QUALITY_ISSUES_COLUMN, type Row, type TransformDef, tableId, tableReader } from '../types.ts';
import { BASELINE_MODEL_VERSION, predictPoints } from './baseline-model.ts';

const SOURCE = tableId(playerRollingFeatures.table);

const COLUMNS: readonly Column[] = [
  key('game_date', 'DATE'),
  key('player_id', 'INT64'),
  key('game_id', 'STRING'),
  col('player_name', 'STRING'),
  col('team_id', 'INT64'),
  col('team_abbr', 'STRING'),
  col('opponent_team_id', 'INT64'),
  col('is_home', 'BOOL'),
  key('predicted_points', 'FLOAT64'),
  key('prediction_basis', 'STRING', 'last5_last10, or prior for a first game of the season'),
  key('model_version', 'STRING'),
  key('features_used', 'STRING', 'JSON object of the features and weights behind the prediction'),
  key('source_tables', 'STRING'),
  key('processed_at', 'TIMESTAMP'),
  ...QUALITY_COLUMNS,
];

/** The slice's predictions from its feature rows. Pure. */
export function predictSlice(slice: string, features: readonly Row[], processedAt: string): Row[] {
  return features
    .filter((r) => requiredString(r, 'game_date', SOURCE) === slice)
    .map((r) => {
      const p = predictPoints({
        ptsAvgLast5: optNumber(r, 'pts_avg_last5', SOURCE),
        ptsAvgLast10: optNumber(r, 'pts_avg_last10', SOURCE),
        last5Games: count(r, 'last5_games', SOURCE),
        last10Games: count(r, 'last10_games', SOURCE),
      });
      return {
        game_date: slice,
        player_id: requiredNumber(r, 'player_id', SOURCE),
        game_id: requiredString(r, 'game_id', SOURCE),
        player_name: optString(r, 'player_name'),
        team_id: optNumber(r, 'team_id', SOURCE),
        team_abbr: optString(r, 'team_abbr'),
        opponent_team_id: optNumber(r, 'opponent_team_id', SOURCE),
        is_home: optBool(r, 'is_home'),
        predicted_points: round(p.points, 2),
        prediction_basis: p.basis,
        model_version: BASELINE_MODEL_VERSION,
        features_used: JSON.stringify(p.used),
        source_tables: SOURCE,
        processed_at: processedAt,
        // A prediction is as good as the features it stands on.
        primary_source: optString(r, 'primary_source') ?? primarySource().name,
        data_quality_tier: worstTier([optString(r, 'data_quality_tier')]),
        [QUALITY_ISSUES_COLUMN]: r[QUALITY_ISSUES_COLUMN] ?? null,
      };
    });
}

export const playerPointsPredictions: TransformDef = {
  kind: 'transform',
  name: 'player_points_predictions',
  phase: 5,
  description: 'per player with a game on the date: baseline points prediction from rolling features',
  table: {
    dataset: 'nba_predictions',
    table: 'player_points_predictions',
    sliceColumn: 'game_date',
    primaryKey: ['game_date', 'player_id'],
    columns: COLUMNS,
    unitColumn: 'game_id',
  },
  dependsOn: [playerRollingFeatures.name],
  readsWarehouse: true,
  expects: scheduledGames,
  run: async (ctx) => {
    const readTable = tableReader(ctx, 'player_points_predictions');
    return predictSlice(ctx.slice, await readTable(playerRollingFeatures.table, [ctx.slice]), new Date().toISOString());
  },
};
