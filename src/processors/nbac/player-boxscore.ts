/**
 * Phase 2: NBA.com player box scores → `nba_raw.nbac_player_boxscores`, one row per player
 * per game, players who sat included (their stats null, their reason in `dnp_reason`).
 */

import { PLAYER_BOXSCORE_RULES } from '../boxscore/plausibility.ts';
import { col, key } from '../columns.ts';
import { scheduledGames } from '../expectations.ts';
import { type Column, QUALITY_ISSUES_COLUMN, type TransformDef } from '../types.ts';
import { PLAYER_BOXSCORE_PREFIX } from './boxscore-scrapers.ts';
import { STAT_COLUMNS, sliceLineRows } from './line-rows.ts';

const COLUMNS: readonly Column[] = [
  key('game_id', 'STRING'),
  key('game_date', 'DATE'),
  key('season', 'STRING'),
  key('game_type', 'STRING'),
  key('team_id', 'INT64'),
  col('team_abbr', 'STRING'),
  col('opponent_team_id', 'INT64'),
  col('is_home', 'BOOL', 'null when the feed does not say'),
  key('player_id', 'INT64'),
  col('player_name', 'STRING'),
  col('nickname', 'STRING'),
  col('start_position', 'STRING', 'F, C or G for starters; null for the bench'),
  col('is_starter', 'BOOL'),
  col('comment', 'STRING'),
  col('dnp_reason', 'STRING', "e.g. Coach's Decision; null when the player played"),
  col('minutes', 'STRING', 'as the feed wrote it: 40:02, 23:60, 29.000000:53'),
  col('seconds_played', 'INT64'),
  ...STAT_COLUMNS,
  key('source_file', 'STRING'),
  key('processed_at', 'TIMESTAMP'),
  { name: QUALITY_ISSUES_COLUMN, type: 'JSON', description: 'warn-level plausibility issues of the row (JSON list); null when none' },
];

export const nbacPlayerBoxscore: TransformDef = {
  kind: 'transform',
  name: 'nbac_player_boxscore',
  phase: 2,
  description: 'NBA.com player box scores, one row per player per game',
  table: {
    dataset: 'nba_raw',
    table: 'nbac_player_boxscores',
    sliceColumn: 'game_date',
    primaryKey: ['game_id', 'player_id'],
    columns: COLUMNS,
    unitColumn: 'game_id',
    plausibility: PLAYER_BOXSCORE_RULES,
  },
  dependsOn: ['nbac_player_boxscore_scraper'],
  inputPrefix: PLAYER_BOXSCORE_PREFIX,
  expects: scheduledGames,
  run: (ctx) =>
    sliceLineRows(
      ctx,
      PLAYER_BOXSCORE_PREFIX(ctx.slice),
      (box) => box.players,
      (p) => ({
        player_id: p.playerId,
        player_name: p.playerName,
        nickname: p.nickname,
        start_position: p.startPosition,
        is_starter: p.isStarter,
        comment: p.comment,
        dnp_reason: p.dnpReason,
        minutes: p.minutes,
        seconds_played: p.secondsPlayed,
      }),
    ),
};
