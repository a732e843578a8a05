/**
 * What NBA.com's two raw box-score tables share: the stat columns, and how the lines of a
 * slice's box scores become rows — the game's columns, the line's side (team, opponent, home),
 * its stats, where it came from and the plausibility warnings of its team. Each table adds
 * only its own columns (a player's name and minutes, a team's city).
 */
import { COUNTING_STATS } from '../boxscore/counting-stats.ts';
import { teamTotalsIssues } from '../boxscore/plausibility.ts';
import { col } from '../columns.ts';
import { type Column, type ProcessorContext, QUALITY_ISSUES_COLUMN, type Row } from '../types.ts';
import type { ParsedBoxscore, StatLine } from './parse/boxscore-types.ts';
import { isHome, opponentOf, readSliceBoxscores } from './parse/slice-files.ts';

/** The counting stats and rates of a line, as the raw tables' cells (players' and teams' alike). */
export function statCells(l: StatLine): Row {
  const cells: Row = {};
  for (const stat of COUNTING_STATS) cells[stat] = l[stat];
  return { ...cells, fg_pct: l.fgPct, fg3_pct: l.fg3Pct, ft_pct: l.ftPct, plus_minus: l.plusMinus };
}

export const STAT_COLUMNS: readonly Column[] = [
  ...COUNTING_STATS.map((n) => col(n, 'INT64')),
  col('fg_pct', 'FLOAT64'),
  col('fg3_pct', 'FLOAT64'),
  col('ft_pct', 'FLOAT64'),
  col('plus_minus', 'FLOAT64'),
];

/**
 * One row per line (`linesOf` picks a box score's player or team lines) of every box score
 * under `prefix` for the slice; `own` gives the table's own cells of a line.
 */
export async function sliceLineRows<L extends StatLine & { teamId: number; teamAbbr: string }>(
  ctx: ProcessorContext,
  prefix: string,
  linesOf: (box: ParsedBoxscore) => readonly L[],
  own: (line: L) => Row,
): Promise<Row[]> {
  const processedAt = new Date().toISOString();
  const rows: Row[] = [];
  for (const { key: file, box, game } of await readSliceBoxscores(ctx, prefix)) {
    const teamIssues = teamTotalsIssues(box);
    for (const line of linesOf(box)) {
      const issues = teamIssues.get(line.teamId);
      rows.push({
        game_id: box.gameId,
        game_date: ctx.slice,
        season: game.season,
        game_type: game.gameType,
        team_id: line.teamId,
        team_abbr: line.teamAbbr,
        opponent_team_id: opponentOf(box, line.teamId),
        is_home: isHome(box, line.teamId),
        ...own(line),
        ...statCells(line),
        source_file: file,
        processed_at: processedAt,
        [QUALITY_ISSUES_COLUMN]: issues ? JSON.stringify(issues) : null,
      });
    }
  }
  return rows;
}
