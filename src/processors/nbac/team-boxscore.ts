/** Phase 2: NBA.com team box scores → `nba_raw.nbac_team_boxscore`, one row per team per game. */

import { TEAM_BOXSCORE_RULES } from '../boxscore/plausibility.ts';
import { key } from '../columns.ts';
import { scheduledGames } from '../expectations.ts';
import { type Column, QUALITY_ISSUES_COLUMN, type TransformDef } from '../types.ts';
import { TEAM_BOXSCORE_PREFIX } from './boxscore-scrapers.ts';
import { STAT_COLUMNS, sliceLineRows } from './line-rows.ts';

const COLUMNS: readonly Column[] = [
  key('game_id', 'STRING'),
  key('game_date', 'DATE'),
  key('season', 'STRING'),
  key('game_type', 'STRING'),
  key('team_id', 'INT64'),
  { name: 'team_abbr', type: 'STRING' },
  { name: 'team_city', type: 'STRING' },
  { name: 'team_name', type: 'STRING' },
  { name: 'opponent_team_id', type: 'INT64' },
  { name: 'is_home', type: 'BOOL', description: 'null when the feed does not say' },
  { name: 'minutes', type: 'STRING', description: 'as the feed wrote it: 240:00, 265.000000:00' },
  { name: 'seconds_played', type: 'INT64' },
  ...STAT_COLUMNS,
  key('source_file', 'STRING'),
  key('processed_at', 'TIMESTAMP'),
  { name: QUALITY_ISSUES_COLUMN, type: 'JSON', description: 'warn-level plausibility issues of the row (JSON list); null when none' },
];

export const nbacTeamBoxscore: TransformDef = {
  kind: 'transform',
  name: 'nbac_team_boxscore',
  phase: 2,
  description: 'NBA.com team box scores, one row per team per game',
  table: {
    dataset: 'nba_raw',
    table: 'nbac_team_boxscore',
    sliceColumn: 'game_date',
    primaryKey: ['game_id', 'team_id'],
    columns: COLUMNS,
    unitColumn: 'game_id',
    plausibility: TEAM_BOXSCORE_RULES,
  },
  dependsOn: ['nbac_team_boxscore_scraper'],
  inputPrefix: TEAM_BOXSCORE_PREFIX,
  expects: scheduledGames,
  run: (ctx) =>
    sliceLineRows(
      ctx,
      TEAM_BOXSCORE_PREFIX(ctx.slice),
      (box) => box.teams,
      (t) => ({ team_city: t.teamCity, team_name: t.teamName, minutes: t.minutes, seconds_played: t.secondsPlayed }),
    ),
};
