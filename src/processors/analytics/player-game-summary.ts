/**
 * Phase 3: `nba_analytics.player_game_summary`, one row per player per game *played* —
 * every raw line with `seconds_played > 0`. Players who sat (DNP/DND/NWT) are left out: a
 * summary of a game a player did not play has no minutes to rate, and their reasons stay in
 * `nba_raw.nbac_player_boxscores.dnp_reason`. So `dnp_reason` is not a column here; the
 * comment NBA.com wrote on a line of a player who did play (an ejection, say) is.
 */
import { InputError } from '../../errors/input-error.ts';
import { log } from '../../log.ts';
import { col, key } from '../columns.ts';
import { playerCrosswalk } from '../crosswalk/player-crosswalk.ts';
import { scheduledGames } from '../expectations.ts';
import { nbacPlayerBoxscore } from '../nbac/player-boxscore.ts';
import { primarySource, sourceNamed } from '../source-registry.ts';
import { type Column, type QualityIssue, type Row, type TransformDef, tableId, tableReader } from '../types.ts';
import { type Counts, effectiveFgPct, minutesDecimal, possessions, round, trueShootingPct, usageRate } from './formulas.ts';
import { addCounts, count, countsOf, optBool, optNumber, optString, projection, requiredNumber, requiredString, ZERO_COUNTS } from './rows.ts';
import { QUALITY_COLUMNS, qualityCells, readBestSources, type SliceInputs, SOURCE_TABLES } from './sources.ts';
import { TEAM_TABLE, type TeamSide, teamGames } from './team-games.ts';

const PLAYER_TABLE = tableId(nbacPlayerBoxscore.table);

const COLUMNS: readonly Column[] = [
  key('game_id', 'STRING'),
  key('game_date', 'DATE'),
  col('season', 'STRING'),
  col('game_type', 'STRING'),
  key('player_id', 'INT64', "NBA.com person id (a fallback row's matched one; its own id when unmatched)"),
  col('source_player_id', 'INT64', "the player's id in the source the row came from (balldontlie's own for a fallback row)"),
  col('player_name', 'STRING'),
  key('team_id', 'INT64'),
  col('team_abbr', 'STRING'),
  col('opponent_team_id', 'INT64'),
  col('opponent_team_abbr', 'STRING'),
  col('is_home', 'BOOL', 'null when the feed does not say'),
  col('is_starter', 'BOOL'),
  col('start_position', 'STRING'),
  col('comment', 'STRING', 'what NBA.com wrote on the line, if anything'),
  key('minutes', 'FLOAT64'),
  key('seconds_played', 'INT64'),
  ...['fgm', 'fga', 'fg3m', 'fg3a', 'ftm', 'fta', 'oreb', 'dreb', 'reb', 'ast', 'stl', 'blk', 'tov', 'pf', 'pts'].map((n) => key(n, 'INT64')),
  col('plus_minus', 'FLOAT64'),
  col('ts_pct', 'FLOAT64', 'true shooting, a fraction: PTS / (2 (FGA + 0.44 FTA)); null without attempts'),
  col('efg_pct', 'FLOAT64', 'effective FG%, a fraction: (FGM + 0.5 3PM) / FGA'),
  col('usage_rate', 'FLOAT64', 'percent: 100 (FGA + 0.44 FTA + TOV)(TmMP/5) / (MP (TmFGA + 0.44 TmFTA + TmTOV))'),
  col('team_pts', 'INT64'),
  col('opponent_pts', 'INT64'),
  col('team_minutes', 'FLOAT64'),
  col('team_possessions', 'FLOAT64', "FGA + 0.44 FTA - OREB + TOV of the player's team"),
  col('team_won', 'BOOL'),
  key('source_tables', 'STRING', 'comma-separated tables the row was computed from'),
  key('processed_at', 'TIMESTAMP'),
  ...QUALITY_COLUMNS,
];

/** Adds each row's source, tier and issues from its game (and its own: an unmatched player); a fallback's game names its table. */
export function withQuality(rows: readonly Row[], inputs: SliceInputs, own: ReadonlyMap<string, QualityIssue> = new Map()): Row[] {
  return rows.map((r) => {
    const game = inputs.games.get(String(r.game_id));
    const issue = own.get(`${r.game_id}/${r.source_player_id ?? r.player_id}`);
    const quality = qualityCells(game, issue ? [issue] : []);
    return game?.fallback ? { ...r, source_tables: SOURCE_TABLES[game.source] ?? null, ...quality } : { ...r, ...quality };
  });
}

/** `nba_reference.player_crosswalk` as phase 3 reads it: one slice's verdicts. */
const CROSSWALK = projection(playerCrosswalk.table, ['nba_person_id', 'nba_player_name', 'match_method', 'candidates']);
const CROSSWALK_TABLE = tableId(playerCrosswalk.table);

/** A slice's crosswalk rows by `source/source_player_id`. */
export function crosswalkVerdicts(rows: readonly Row[]): Map<string, Row> {
  return new Map(rows.map((r) => [`${requiredString(r, 'source', CROSSWALK_TABLE)}/${requiredNumber(r, 'source_player_id', CROSSWALK_TABLE)}`, r]));
}

/** What phase 3 did with the fallback's lines. */
export interface PersonIdMapping {
  /** The slice's lines, a fallback game's under NBA.com person ids; the games left out are not among them. */
  players: Row[];
  /** `game_id/source_player_id` → the `unmatched_player` issue of a line kept under its source id. */
  unmatched: Map<string, QualityIssue>;
  /** Fallback games left out: `game_id` → the source player ids the crosswalk has no row for. */
  uncrosswalked: Map<string, number[]>;
}

/**
 * The fallback's lines under NBA.com person ids and names, as `nba_reference.player_crosswalk`
 * recorded them for the slice, so a player's games join across sources; the source's own id
 * stays in `source_player_id`. A player the crosswalk found unmatched or ambiguous keeps his
 * source id and an `unmatched_player` issue. A fallback game with a player the crosswalk has
 * no row for is left out whole, never written under a guessed id: the slice stages without
 * it (`incomplete`, naming the game; the warehouse keeps what it held), and the crosswalk's
 * commit runs phase 3 again. Pure.
 */
export function underPersonIds(inputs: SliceInputs, crosswalk: ReadonlyMap<string, Row>): PersonIdMapping {
  const unmatched = new Map<string, QualityIssue>();
  const uncrosswalked = new Map<string, number[]>();
  const mapped = inputs.players.map((r) => {
    const game = inputs.games.get(String(r.game_id));
    if (!game?.fallback) return r;
    const table = SOURCE_TABLES[game.source] ?? game.source;
    const sourceId = requiredNumber(r, 'player_id', table);
    const label = sourceNamed(game.source).label;
    const verdict = crosswalk.get(`${game.source}/${sourceId}`);
    if (!verdict) {
      const gameId = String(r.game_id);
      uncrosswalked.set(gameId, [...(uncrosswalked.get(gameId) ?? []), sourceId]);
      return r;
    }
    const personId = optNumber(verdict, 'nba_person_id', CROSSWALK_TABLE);
    if (personId === null) {
      const candidates = optString(verdict, 'candidates');
      const why = candidates ? `could be NBA.com ${candidates.split(',').join(' or ')}` : 'no NBA.com player of that name this season or the last';
      unmatched.set(`${r.game_id}/${sourceId}`, {
        rule: 'unmatched_player',
        level: 'warn',
        detail: `${label} ${sourceId} ${optString(r, 'player_name') ?? ''}: ${why}`,
      });
      return { ...r, source_player_id: sourceId };
    }
    return { ...r, player_id: personId, source_player_id: sourceId, player_name: optString(verdict, 'nba_player_name') ?? optString(r, 'player_name') };
  });
  // Two source players matched to one person in one game: neither is trusted.
  const count = new Map<string, number>();
  for (const r of mapped) count.set(`${r.game_id}/${r.player_id}`, (count.get(`${r.game_id}/${r.player_id}`) ?? 0) + 1);
  const players = mapped.flatMap((r) => {
    if (uncrosswalked.has(String(r.game_id))) return [];
    if ((count.get(`${r.game_id}/${r.player_id}`) ?? 0) < 2) return [r];
    const sourceId = Number(r.source_player_id);
    const label = sourceNamed(inputs.games.get(String(r.game_id))?.source ?? primarySource().name).label;
    unmatched.set(`${r.game_id}/${sourceId}`, {
      rule: 'unmatched_player',
      level: 'warn',
      detail: `${label} ${sourceId}: another player of this game matched NBA.com ${r.player_id} too`,
    });
    return [{ ...r, player_id: sourceId }];
  });
  return { players, unmatched, uncrosswalked };
}

/** A team's side built from its players' lines, when the team box score lacks the game. */
function sideFromPlayers(lines: readonly Row[]): TeamSide {
  const first = lines[0] as Row;
  return {
    gameId: requiredString(first, 'game_id', PLAYER_TABLE),
    season: optString(first, 'season'),
    gameType: optString(first, 'game_type'),
    teamId: requiredNumber(first, 'team_id', PLAYER_TABLE),
    teamAbbr: optString(first, 'team_abbr'),
    isHome: optBool(first, 'is_home'),
    // Five players are on the floor at every moment, so their seconds add up to team minutes × 60.
    minutes: lines.reduce((s, r) => s + (optNumber(r, 'seconds_played', PLAYER_TABLE) ?? 0), 0) / 60,
    counts: lines.reduce<Counts>((c, r) => addCounts(c, countsOf(r, PLAYER_TABLE)), ZERO_COUNTS),
    reb: lines.reduce((s, r) => s + count(r, 'reb', PLAYER_TABLE), 0),
    ast: lines.reduce((s, r) => s + count(r, 'ast', PLAYER_TABLE), 0),
    stl: lines.reduce((s, r) => s + count(r, 'stl', PLAYER_TABLE), 0),
    blk: lines.reduce((s, r) => s + count(r, 'blk', PLAYER_TABLE), 0),
    pf: lines.reduce((s, r) => s + count(r, 'pf', PLAYER_TABLE), 0),
  };
}

/** The slice's player summaries from its raw player and team rows. Pure. */
export function summarizePlayers(slice: string, playerRows: readonly Row[], teamRows: readonly Row[], processedAt: string): Row[] {
  const sides = new Map<string, { side: TeamSide; fromTeamTable: boolean }>();
  for (const g of teamGames(teamRows)) sides.set(`${g.team.gameId}/${g.team.teamId}`, { side: g.team, fromTeamTable: true });
  const linesByTeam = new Map<string, Row[]>();
  for (const r of playerRows) {
    const k = `${requiredString(r, 'game_id', PLAYER_TABLE)}/${requiredNumber(r, 'team_id', PLAYER_TABLE)}`;
    const list = linesByTeam.get(k) ?? [];
    list.push(r);
    linesByTeam.set(k, list);
  }
  for (const [k, lines] of linesByTeam) if (!sides.has(k)) sides.set(k, { side: sideFromPlayers(lines), fromTeamTable: false });
  const opponentOf = (side: TeamSide) => [...sides.values()].find((s) => s.side.gameId === side.gameId && s.side.teamId !== side.teamId);

  const out: Row[] = [];
  const seen = new Set<string>();
  for (const r of playerRows) {
    const seconds = optNumber(r, 'seconds_played', PLAYER_TABLE);
    if (seconds === null || seconds <= 0) continue;
    const gameId = requiredString(r, 'game_id', PLAYER_TABLE);
    const playerId = requiredNumber(r, 'player_id', PLAYER_TABLE);
    if (optString(r, 'game_date') !== slice)
      throw new InputError(`${PLAYER_TABLE} row ${gameId}/${playerId} has game_date ${String(r.game_date)}, not ${slice}`);
    // The raw table's key is (game_id, player_id), so a repeat means two reads were merged.
    const id = `${gameId}/${playerId}`;
    if (seen.has(id)) throw new InputError(`${PLAYER_TABLE} has player ${playerId} twice in game ${gameId}`);
    seen.add(id);
    const teamId = requiredNumber(r, 'team_id', PLAYER_TABLE);
    const team = sides.get(`${gameId}/${teamId}`);
    if (!team) throw new InputError(`${PLAYER_TABLE} row ${gameId}/${playerId}: no team context for team ${teamId} in game ${gameId}`);
    const opponent = opponentOf(team.side);
    const c = countsOf(r, PLAYER_TABLE);
    const minutes = minutesDecimal(seconds);
    const teamPts = team.side.counts.pts;
    const oppPts = opponent?.side.counts.pts ?? null;
    const sources = team.fromTeamTable ? [PLAYER_TABLE, TEAM_TABLE] : [PLAYER_TABLE];
    out.push({
      game_id: gameId,
      game_date: slice,
      season: optString(r, 'season'),
      game_type: optString(r, 'game_type'),
      player_id: playerId,
      source_player_id: optNumber(r, 'source_player_id', PLAYER_TABLE) ?? playerId,
      player_name: optString(r, 'player_name'),
      team_id: teamId,
      team_abbr: optString(r, 'team_abbr'),
      opponent_team_id: opponent?.side.teamId ?? optNumber(r, 'opponent_team_id', PLAYER_TABLE),
      opponent_team_abbr: opponent?.side.teamAbbr ?? null,
      is_home: optBool(r, 'is_home') ?? team.side.isHome,
      is_starter: optBool(r, 'is_starter') ?? false,
      start_position: optString(r, 'start_position'),
      comment: optString(r, 'comment'),
      minutes: round(minutes),
      seconds_played: seconds,
      fgm: c.fgm,
      fga: c.fga,
      fg3m: c.fg3m,
      fg3a: c.fg3a,
      ftm: c.ftm,
      fta: c.fta,
      oreb: c.oreb,
      dreb: c.dreb,
      reb: count(r, 'reb', PLAYER_TABLE),
      ast: count(r, 'ast', PLAYER_TABLE),
      stl: count(r, 'stl', PLAYER_TABLE),
      blk: count(r, 'blk', PLAYER_TABLE),
      tov: c.tov,
      pf: count(r, 'pf', PLAYER_TABLE),
      pts: c.pts,
      plus_minus: optNumber(r, 'plus_minus', PLAYER_TABLE),
      ts_pct: round(trueShootingPct(c)),
      efg_pct: round(effectiveFgPct(c)),
      usage_rate: round(usageRate(c, minutes, team.side.counts, team.side.minutes)),
      team_pts: teamPts,
      opponent_pts: oppPts,
      team_minutes: round(team.side.minutes),
      team_possessions: round(possessions(team.side.counts)),
      team_won: oppPts === null ? null : teamPts > oppPts,
      source_tables: sources.join(','),
      processed_at: processedAt,
    });
  }
  return out;
}

export const playerGameSummary: TransformDef = {
  kind: 'transform',
  name: 'player_game_summary',
  phase: 3,
  description: 'per player per game played: box score, minutes, usage, true shooting, team and opponent context',
  table: {
    dataset: 'nba_analytics',
    table: 'player_game_summary',
    sliceColumn: 'game_date',
    primaryKey: ['game_id', 'player_id'],
    columns: COLUMNS,
    unitColumn: 'game_id',
  },
  dependsOn: primarySource().tables.map((t) => t.processor.name),
  // The fallback's lines come with the crosswalk's verdicts on its players: the crosswalk runs
  // whenever a fallback lands a date (it depends on each fallback's raw processor), so its
  // commit, not the fallback's, runs this slice — never before the verdicts are in the table.
  optionalInputs: [playerCrosswalk.name],
  readsWarehouse: true,
  expects: scheduledGames,
  run: async (ctx) => {
    const readTable = tableReader(ctx, 'player_game_summary');
    const inputs = await readBestSources(readTable, ctx.slice);
    const fallback = [...inputs.games.values()].some((g) => g.fallback);
    const { players, unmatched, uncrosswalked }: PersonIdMapping = fallback
      ? underPersonIds(inputs, crosswalkVerdicts(await readTable(CROSSWALK, [ctx.slice])))
      : { players: inputs.players, unmatched: new Map(), uncrosswalked: new Map() };
    for (const [gameId, ids] of uncrosswalked)
      log.warn(
        `player_game_summary ${ctx.slice}: game ${gameId} left out: ${CROSSWALK_TABLE} has no row for its fallback players ${ids.join(', ')} on ${ctx.slice} (player_crosswalk ${ctx.slice} has not landed them)`,
      );
    return withQuality(summarizePlayers(ctx.slice, players, inputs.teams, new Date().toISOString()), inputs, unmatched);
  },
};
