/**
 * Phase 2: NBA.com player box scores → `nba_raw.nbac_player_boxscores`, one row per player
 * per game, players who sat included (their stats null, their reason in `dnp_reason`).
 */

import { PLAYER_BOXSCORE_RULES, teamTotalsIssues } from '../boxscore/plausibility.ts';
import { col, key } from '../columns.ts';
import { scheduledGames } from '../expectations.ts';
import { type Column, QUALITY_ISSUES_COLUMN, type Row, type TransformDef } from '../types.ts';
import { PLAYER_BOXSCORE_PREFIX } from './boxscore-scrapers.ts';
import type { StatLine } from './parse/boxscore-types.ts';
import { isHome, opponentOf, readSliceBoxscores } from './parse/slice-files.ts';

/** The counting stats and rates of a line, as the raw tables' cells (players' and teams' alike). */
export function statCells(l: StatLine): Row {
  return {
    fgm: l.fgm,
    fga: l.fga,
    fg3m: l.fg3m,
    fg3a: l.fg3a,
    ftm: l.ftm,
    fta: l.fta,
    oreb: l.oreb,
    dreb: l.dreb,
    reb: l.reb,
    ast: l.ast,
    stl: l.stl,
    blk: l.blk,
    tov: l.tov,
    pf: l.pf,
    pts: l.pts,
    fg_pct: l.fgPct,
    fg3_pct: l.fg3Pct,
    ft_pct: l.ftPct,
    plus_minus: l.plusMinus,
  };
}

export const STAT_COLUMNS: readonly Column[] = [
  ...['fgm', 'fga', 'fg3m', 'fg3a', 'ftm', 'fta', 'oreb', 'dreb', 'reb', 'ast', 'stl', 'blk', 'tov', 'pf', 'pts'].map((n) => col(n, 'INT64')),
  col('fg_pct', 'FLOAT64'),
  col('fg3_pct', 'FLOAT64'),
  col('ft_pct', 'FLOAT64'),
  col('plus_minus', 'FLOAT64'),
];

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
  run: async (ctx) => {
    const processedAt = new Date().toISOString();
    const rows: Row[] = [];
    for (const { key: file, box, game } of await readSliceBoxscores(ctx, PLAYER_BOXSCORE_PREFIX(ctx.slice))) {
      const teamIssues = teamTotalsIssues(box);
      for (const p of box.players) {
        const issues = teamIssues.get(p.teamId);
        rows.push({
          game_id: box.gameId,
          game_date: ctx.slice,
          season: game.season,
          game_type: game.gameType,
          team_id: p.teamId,
          team_abbr: p.teamAbbr,
          opponent_team_id: opponentOf(box, p.teamId),
          is_home: isHome(box, p.teamId),
          player_id: p.playerId,
          player_name: p.playerName,
          nickname: p.nickname,
          start_position: p.startPosition,
          is_starter: p.isStarter,
          comment: p.comment,
          dnp_reason: p.dnpReason,
          minutes: p.minutes,
          seconds_played: p.secondsPlayed,
          ...statCells(p),
          source_file: file,
          processed_at: processedAt,
          [QUALITY_ISSUES_COLUMN]: issues ? JSON.stringify(issues) : null,
        });
      }
    }
    return rows;
  },
};
