/** Phase 2: NBA.com team box scores → `nba_raw.nbac_team_boxscore`, one row per team per game. */

import { TEAM_BOXSCORE_RULES, teamTotalsIssues } from '../boxscore/plausibility.ts';
import { key } from '../columns.ts';
import { scheduledGames } from '../expectations.ts';
import { type Column, QUALITY_ISSUES_COLUMN, type Row, type TransformDef } from '../types.ts';
import { TEAM_BOXSCORE_PREFIX } from './boxscore-scrapers.ts';
import { isHome, opponentOf, readSliceBoxscores } from './parse/slice-files.ts';
import { STAT_COLUMNS, statCells } from './player-boxscore.ts';

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
  run: async (ctx) => {
    const processedAt = new Date().toISOString();
    const rows: Row[] = [];
    for (const { key: file, box, game } of await readSliceBoxscores(ctx, TEAM_BOXSCORE_PREFIX(ctx.slice))) {
      const teamIssues = teamTotalsIssues(box);
      for (const t of box.teams) {
        const issues = teamIssues.get(t.teamId);
        rows.push({
          game_id: box.gameId,
          game_date: ctx.slice,
          season: game.season,
          game_type: game.gameType,
          team_id: t.teamId,
          team_abbr: t.teamAbbr,
          team_city: t.teamCity,
          team_name: t.teamName,
          opponent_team_id: opponentOf(box, t.teamId),
          is_home: isHome(box, t.teamId),
          minutes: t.minutes,
          seconds_played: t.secondsPlayed,
          ...statCells(t),
          source_file: file,
          processed_at: processedAt,
          [QUALITY_ISSUES_COLUMN]: issues ? JSON.stringify(issues) : null,
        });
      }
    }
    return rows;
  },
};
