/**
 * Phase 2: balldontlie player box scores → `nba_raw.bdl_player_boxscores`, one row per player
 * per game, keyed by the NBA.com game id and NBA.com team ids (so phase 3 can put them next
 * to NBA.com's rows). `player_id` is balldontlie's: the two sources number players apart.
 */
import { InputError } from '../../errors/input-error.ts';
import { PLAYER_BOXSCORE_RULES } from '../boxscore/plausibility.ts';
import { col, key } from '../columns.ts';
import { assertScheduledHere, scheduledGames } from '../expectations.ts';
import { parseGameId } from '../game-id.ts';
import { type Column, QUALITY_ISSUES_COLUMN, type Row, type TransformDef } from '../types.ts';
import { BDL_PLAYER_BOXSCORE_PREFIX, bdlPlayerBoxscoreScraper } from './player-boxscore-scraper.ts';
import { type BdlGameFile, bdlSeconds, bdlStatSchema, homeOf, visitorOf } from './stats.ts';
import { bdlTeamAbbr, nbaTeamId } from './teams.ts';

const COUNTS = ['fgm', 'fga', 'fg3m', 'fg3a', 'ftm', 'fta', 'oreb', 'dreb', 'reb', 'ast', 'stl', 'blk', 'tov', 'pf', 'pts'] as const;

const COLUMNS: readonly Column[] = [
  key('game_id', 'STRING'),
  key('game_date', 'DATE'),
  key('season', 'STRING'),
  key('game_type', 'STRING'),
  col('bdl_game_id', 'INT64', "balldontlie's game id"),
  key('team_id', 'INT64'),
  col('bdl_team_id', 'INT64', "balldontlie's team id (1–30)"),
  col('team_abbr', 'STRING'),
  col('opponent_team_id', 'INT64'),
  col('is_home', 'BOOL'),
  key('player_id', 'INT64'),
  col('player_name', 'STRING'),
  col('position', 'STRING'),
  col('minutes', 'STRING', 'as balldontlie wrote it: "32", "32:15", "00"'),
  col('seconds_played', 'INT64'),
  ...COUNTS.map((n) => col(n, 'INT64')),
  col('fg_pct', 'FLOAT64'),
  col('fg3_pct', 'FLOAT64'),
  col('ft_pct', 'FLOAT64'),
  col('plus_minus', 'FLOAT64'),
  key('source_file', 'STRING'),
  key('processed_at', 'TIMESTAMP'),
  { name: QUALITY_ISSUES_COLUMN, type: 'JSON', description: 'warn-level plausibility issues of the row (JSON list); null when none' },
];

function readFile(bytes: Buffer, file: string): BdlGameFile {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InputError('not JSON', { file, cause: err });
  }
  const d = doc as Partial<BdlGameFile>;
  if (d.source !== 'balldontlie' || typeof d.gameId !== 'string' || !Array.isArray(d.stats)) throw new InputError('not a balldontlie game file', { file });
  const stats = d.stats.map((s, i) => {
    const parsed = bdlStatSchema.safeParse(s);
    if (!parsed.success) throw new InputError(`stats row ${i}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { file });
    return parsed.data;
  });
  return { source: 'balldontlie', gameId: d.gameId, bdlGameId: Number(d.bdlGameId ?? 0), date: String(d.date ?? ''), stats };
}

export const bdlPlayerBoxscore: TransformDef = {
  kind: 'transform',
  name: 'bdl_player_boxscore',
  phase: 2,
  description: 'balldontlie player box scores (the fallback source), one row per player per game, NBA.com game and team ids',
  table: {
    dataset: 'nba_raw',
    table: 'bdl_player_boxscores',
    sliceColumn: 'game_date',
    primaryKey: ['game_id', 'player_id'],
    columns: COLUMNS,
    unitColumn: 'game_id',
    plausibility: PLAYER_BOXSCORE_RULES,
  },
  dependsOn: [bdlPlayerBoxscoreScraper.name],
  inputPrefix: BDL_PLAYER_BOXSCORE_PREFIX,
  expects: scheduledGames,
  run: async (ctx) => {
    const processedAt = new Date().toISOString();
    const prefix = BDL_PLAYER_BOXSCORE_PREFIX(ctx.slice);
    const rows: Row[] = [];
    for (const file of await ctx.store.list(prefix)) {
      if (!file.endsWith('.json')) continue;
      const bytes = await ctx.store.get(file);
      if (bytes === null) continue;
      const doc = readFile(bytes, file);
      if (`${prefix}${doc.gameId}.json` !== file) throw new InputError(`holds game ${doc.gameId}, not the one its name says`, { file });
      await assertScheduledHere(ctx, doc.gameId, file);
      const game = parseGameId(doc.gameId);
      for (const s of doc.stats) {
        const teamId = nbaTeamId(s.team.id);
        const home = homeOf(s.game);
        const visitor = visitorOf(s.game);
        const opponent = home === s.team.id ? visitor : home;
        rows.push({
          game_id: doc.gameId,
          game_date: ctx.slice,
          season: game.season,
          game_type: game.gameType,
          bdl_game_id: s.game.id,
          team_id: teamId,
          bdl_team_id: s.team.id,
          team_abbr: s.team.abbreviation ?? bdlTeamAbbr(s.team.id),
          opponent_team_id: opponent === undefined ? null : nbaTeamId(opponent),
          is_home: home === undefined ? null : home === s.team.id,
          player_id: s.player.id,
          player_name: `${s.player.first_name} ${s.player.last_name}`.trim(),
          position: s.player.position || null,
          minutes: s.min,
          seconds_played: bdlSeconds(s.min),
          fgm: s.fgm,
          fga: s.fga,
          fg3m: s.fg3m,
          fg3a: s.fg3a,
          ftm: s.ftm,
          fta: s.fta,
          oreb: s.oreb,
          dreb: s.dreb,
          reb: s.reb,
          ast: s.ast,
          stl: s.stl,
          blk: s.blk,
          tov: s.turnover,
          pf: s.pf,
          pts: s.pts,
          fg_pct: s.fg_pct ?? null,
          fg3_pct: s.fg3_pct ?? null,
          ft_pct: s.ft_pct ?? null,
          plus_minus: s.plus_minus ?? null,
          source_file: file,
          processed_at: processedAt,
          [QUALITY_ISSUES_COLUMN]: null,
        });
      }
    }
    return rows;
  },
};
