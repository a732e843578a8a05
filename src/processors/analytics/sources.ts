/**
 * Reconciliation: phase 3 reads, per game, the best source it has — NBA.com when its lines
 * cover both teams, else balldontlie — and says how good what it read is:
 * - `gold`: the primary source (NBA.com), both teams' lines and the team line, no warnings;
 * - `silver`: the fallback source, or rows that carry `warn` issues (or a team line derived
 *   from the players' lines);
 * - `bronze`: incomplete inputs (only one team's lines in any source).
 * Every phase-3+ row carries `primary_source`, `data_quality_tier` and `quality_issues`;
 * phases 4 and 5 carry the lowest tier of their inputs (`worstTier`).
 */
import { bdlPlayerBoxscore } from '../bdl/player-boxscore.ts';
import { col, key } from '../columns.ts';
import { nbacPlayerBoxscore } from '../nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../nbac/team-boxscore.ts';
import { type Tier, worstTier } from '../tiers.ts';
import { type Column, QUALITY_ISSUES_COLUMN, type QualityIssue, type Row, type TableSpec, tableId } from '../types.ts';
import { optNumber, optString, requiredNumber, requiredString } from './rows.ts';

export type SourceName = 'nbac' | 'bdl';

/** The three columns every phase-3+ table ends with. */
export const QUALITY_COLUMNS: readonly Column[] = [
  key('primary_source', 'STRING', "where the game's inputs came from: nbac (NBA.com) or bdl (balldontlie, the fallback)"),
  key('data_quality_tier', 'STRING', 'gold: primary source, complete, no warnings; silver: fallback source or warnings; bronze: incomplete inputs'),
  col(QUALITY_ISSUES_COLUMN, 'JSON', 'the issues behind the tier (JSON list of {rule, level, detail}); null when none'),
];

export interface GameSource {
  source: SourceName;
  tier: Tier;
  issues: QualityIssue[];
}

export interface SliceInputs {
  /** The chosen source's player lines, every game (NBA.com's columns; balldontlie's share their names). */
  players: Row[];
  /** Team lines: NBA.com's team table, or summed from the chosen player lines where it has none. */
  teams: Row[];
  games: Map<string, GameSource>;
}

export const SOURCE_TABLES: Record<SourceName, string> = { nbac: tableId(nbacPlayerBoxscore.table), bdl: tableId(bdlPlayerBoxscore.table) };
const TEAM_TABLE = tableId(nbacTeamBoxscore.table);

function byGame(rows: readonly Row[], table: string): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of rows) {
    const g = requiredString(r, 'game_id', table);
    const list = out.get(g) ?? [];
    list.push(r);
    out.set(g, list);
  }
  return out;
}

const teamsIn = (rows: readonly Row[] | undefined, table: string) => new Set((rows ?? []).map((r) => requiredNumber(r, 'team_id', table))).size;

const SUMMED = ['fgm', 'fga', 'fg3m', 'fg3a', 'ftm', 'fta', 'oreb', 'dreb', 'reb', 'ast', 'stl', 'blk', 'tov', 'pf', 'pts', 'seconds_played'] as const;

/** A team line per team summed from its players' lines (the counts of a team are its players'). */
export function teamRowsFromPlayers(players: readonly Row[], table: string): Row[] {
  const teams = new Map<number, Row>();
  for (const p of players) {
    const id = requiredNumber(p, 'team_id', table);
    let t = teams.get(id);
    if (!t) {
      t = {
        game_id: requiredString(p, 'game_id', table),
        game_date: optString(p, 'game_date'),
        season: optString(p, 'season'),
        game_type: optString(p, 'game_type'),
        team_id: id,
        team_abbr: optString(p, 'team_abbr'),
        is_home: typeof p.is_home === 'boolean' ? p.is_home : null,
        opponent_team_id: optNumber(p, 'opponent_team_id', table),
        ...Object.fromEntries(SUMMED.map((c) => [c, 0])),
      };
      teams.set(id, t);
    }
    for (const c of SUMMED) t[c] = (t[c] as number) + (optNumber(p, c, table) ?? 0);
  }
  return [...teams.values()];
}

function rawIssues(rows: readonly Row[]): QualityIssue[] {
  const out: QualityIssue[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    const cell = r[QUALITY_ISSUES_COLUMN];
    if (typeof cell !== 'string' || cell === '') continue;
    for (const issue of JSON.parse(cell) as QualityIssue[]) {
      const k = `${issue.rule}:${issue.detail}`;
      if (!seen.has(k)) out.push(issue);
      seen.add(k);
    }
  }
  return out;
}

/** Picks each game's source from the slice's rows of the three raw tables. Pure. */
export function reconcile(nbacPlayers: readonly Row[], nbacTeams: readonly Row[], bdlPlayers: readonly Row[]): SliceInputs {
  const np = byGame(nbacPlayers, SOURCE_TABLES.nbac);
  const nt = byGame(nbacTeams, TEAM_TABLE);
  const bp = byGame(bdlPlayers, SOURCE_TABLES.bdl);
  const out: SliceInputs = { players: [], teams: [], games: new Map() };
  for (const gameId of [...new Set([...np.keys(), ...nt.keys(), ...bp.keys()])].sort()) {
    const nbacBoth = teamsIn(np.get(gameId), SOURCE_TABLES.nbac) === 2;
    const bdlBoth = teamsIn(bp.get(gameId), SOURCE_TABLES.bdl) === 2;
    const source: SourceName = nbacBoth || (!bdlBoth && np.has(gameId)) || !bp.has(gameId) ? 'nbac' : 'bdl';
    const players = (source === 'nbac' ? np.get(gameId) : bp.get(gameId)) ?? [];
    const issues = rawIssues(players);
    let teams = source === 'nbac' ? (nt.get(gameId) ?? []) : [];
    if (teams.length < 2 && players.length > 0) {
      if (source === 'nbac')
        issues.push({ rule: 'team_line_from_players', level: 'warn', detail: 'NBA.com has no team line for this game: summed from its players' });
      teams = teamRowsFromPlayers(players, SOURCE_TABLES[source]);
    } else if (source === 'nbac') issues.push(...rawIssues(teams));
    if (source === 'bdl') issues.push({ rule: 'fallback_source', level: 'warn', detail: 'NBA.com has no box score for this game: balldontlie used' });
    const complete = source === 'nbac' ? nbacBoth || players.length === 0 : bdlBoth;
    if (!complete) issues.push({ rule: 'incomplete_input', level: 'warn', detail: 'the lines of only one team of this game are in any source' });
    const tier: Tier = !complete ? 'bronze' : source === 'bdl' || issues.length > 0 ? 'silver' : 'gold';
    out.games.set(gameId, { source, tier, issues });
    out.players.push(...players);
    out.teams.push(...teams);
  }
  return out;
}

/** The three quality cells of a row of `game`, with the row's own issues added. */
export function qualityCells(game: GameSource | undefined, extra: readonly QualityIssue[] = [], tierFloor?: Tier): Row {
  const issues = [...(game?.issues ?? []), ...extra];
  const tier = worstTier([game?.tier ?? 'bronze', tierFloor, extra.length > 0 ? 'silver' : 'gold']);
  return { primary_source: game?.source ?? 'nbac', data_quality_tier: tier, [QUALITY_ISSUES_COLUMN]: issues.length > 0 ? JSON.stringify(issues) : null };
}

/** Reads the slice's three raw tables and reconciles them. */
export async function readBestSources(readTable: (spec: TableSpec, slices: readonly string[]) => Promise<Row[]>, slice: string): Promise<SliceInputs> {
  const [players, teams, bdl] = await Promise.all([
    readTable(nbacPlayerBoxscore.table, [slice]),
    readTable(nbacTeamBoxscore.table, [slice]),
    readTable(bdlPlayerBoxscore.table, [slice]),
  ]);
  return reconcile(players, teams, bdl);
}

/** Team rows with their game's quality; a team line summed from players names that table. */
export function teamQuality(rows: readonly Row[], inputs: SliceInputs): Row[] {
  return rows.map((r) => {
    const game = inputs.games.get(String(r.game_id));
    const derived = game?.issues.some((i) => i.rule === 'team_line_from_players') || game?.source === 'bdl';
    return { ...r, ...(derived && game ? { source_tables: SOURCE_TABLES[game.source] } : {}), ...qualityCells(game) };
  });
}
