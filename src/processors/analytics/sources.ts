/**
 * Reconciliation: phase 3 reads, per game, the best source it has — the first source of the
 * registry (the primary, NBA.com, first) whose lines cover both teams, else the first with any
 * lines (balldontlie after NBA.com) — and says how good what it read is:
 * - `gold`: the primary source (NBA.com), both teams' lines and the team line, no warnings;
 * - `silver`: the fallback source, or rows that carry `warn` issues (or a team line derived
 *   from the players' lines);
 * - `bronze`: incomplete inputs (only one team's lines in any source).
 * Every phase-3+ row carries `primary_source`, `data_quality_tier` and `quality_issues`;
 * phases 4 and 5 carry the lowest tier of their inputs (`worstTier`).
 */
import { col, key } from '../columns.ts';
import type { SourceDef } from '../source-def.ts';
import { playerProcessor, primarySource, SOURCES } from '../source-registry.ts';
import { type Tier, worstTier } from '../tiers.ts';
import { type Column, QUALITY_ISSUES_COLUMN, type QualityIssue, type Row, type TableSpec, tableId } from '../types.ts';
import { optNumber, optString, requiredNumber, requiredString } from './rows.ts';

/** The three columns every phase-3+ table ends with. */
export const QUALITY_COLUMNS: readonly Column[] = [
  key('primary_source', 'STRING', "where the game's inputs came from: nbac (NBA.com) or bdl (balldontlie, the fallback)"),
  key('data_quality_tier', 'STRING', 'gold: primary source, complete, no warnings; silver: fallback source or warnings; bronze: incomplete inputs'),
  col(QUALITY_ISSUES_COLUMN, 'JSON', 'the issues behind the tier (JSON list of {rule, level, detail}); null when none'),
];

export interface GameSource {
  /** The source's name (`SourceDef.name`). */
  source: string;
  /** The source is not the primary: its rows name their table, its players are matched by the crosswalk. */
  fallback: boolean;
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

function tableOf(source: SourceDef, lines: 'player' | 'team'): string | undefined {
  const t = source.tables.find((x) => x.lines === lines);
  return t ? tableId(t.processor.table) : undefined;
}

const playerTableOf = (source: SourceDef): string => tableId(playerProcessor(source).table);

/** Each source's player table (`dataset.table`), by source name. */
export const SOURCE_TABLES: Readonly<Record<string, string>> = Object.fromEntries(SOURCES.map((s) => [s.name, playerTableOf(s)]));

/** The sources phase 3 reads, the primary first, then the others in the registry's order. */
function readOrder(sources: readonly SourceDef[]): SourceDef[] {
  const primary = primarySource(sources);
  return [primary, ...sources.filter((s) => s !== primary)];
}

/** Every table phase 3 reads for the sources: each one's player lines, and its team lines when it has them. */
export function sourceTables(sources: readonly SourceDef[] = SOURCES): TableSpec[] {
  return readOrder(sources).flatMap((s) => s.tables.map((t) => t.processor.table));
}

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

/**
 * Picks each game's source from the slice's rows of the sources' raw tables, keyed by
 * `dataset.table` (a table with no rows may be left out). Pure.
 */
export function reconcile(rowsByTable: Readonly<Record<string, readonly Row[]>>, sources: readonly SourceDef[] = SOURCES): SliceInputs {
  const primary = primarySource(sources);
  const reads = readOrder(sources).map((source) => {
    const playerTable = playerTableOf(source);
    const teamTable = tableOf(source, 'team');
    return {
      source,
      playerTable,
      players: byGame(rowsByTable[playerTable] ?? [], playerTable),
      teams: teamTable === undefined ? undefined : byGame(rowsByTable[teamTable] ?? [], teamTable),
    };
  });
  const gameIds = new Set(reads.flatMap((r) => [...r.players.keys(), ...(r.teams?.keys() ?? [])]));
  const out: SliceInputs = { players: [], teams: [], games: new Map() };
  for (const gameId of [...gameIds].sort()) {
    const chosen =
      reads.find((r) => teamsIn(r.players.get(gameId), r.playerTable) === 2) ?? reads.find((r) => r.players.has(gameId)) ?? (reads[0] as (typeof reads)[0]);
    const fallback = chosen.source !== primary;
    const players = chosen.players.get(gameId) ?? [];
    const issues = rawIssues(players);
    let teams = chosen.teams?.get(gameId) ?? [];
    if (teams.length < 2 && players.length > 0) {
      if (chosen.teams)
        issues.push({
          rule: 'team_line_from_players',
          level: 'warn',
          detail: `${chosen.source.label} has no team line for this game: summed from its players`,
        });
      teams = teamRowsFromPlayers(players, chosen.playerTable);
    } else if (chosen.teams) issues.push(...rawIssues(teams));
    if (fallback)
      issues.push({ rule: 'fallback_source', level: 'warn', detail: `${primary.label} has no box score for this game: ${chosen.source.label} used` });
    // No lines at all (only team lines in the primary) is not incomplete: its players are what is missing.
    const complete = teamsIn(players, chosen.playerTable) === 2 || (!fallback && players.length === 0);
    if (!complete) issues.push({ rule: 'incomplete_input', level: 'warn', detail: 'the lines of only one team of this game are in any source' });
    const tier: Tier = !complete ? 'bronze' : fallback || issues.length > 0 ? 'silver' : 'gold';
    out.games.set(gameId, { source: chosen.source.name, fallback, tier, issues });
    out.players.push(...players);
    out.teams.push(...teams);
  }
  return out;
}

/** The three quality cells of a row of `game`, with the row's own issues added. */
export function qualityCells(game: GameSource | undefined, extra: readonly QualityIssue[] = [], tierFloor?: Tier): Row {
  const issues = [...(game?.issues ?? []), ...extra];
  const tier = worstTier([game?.tier ?? 'bronze', tierFloor, extra.length > 0 ? 'silver' : 'gold']);
  return {
    primary_source: game?.source ?? primarySource().name,
    data_quality_tier: tier,
    [QUALITY_ISSUES_COLUMN]: issues.length > 0 ? JSON.stringify(issues) : null,
  };
}

/** Reads the slice's rows of every source's raw tables and reconciles them. */
export async function readBestSources(readTable: (spec: TableSpec, slices: readonly string[]) => Promise<Row[]>, slice: string): Promise<SliceInputs> {
  const tables = sourceTables();
  const rows = await Promise.all(tables.map((t) => readTable(t, [slice])));
  return reconcile(Object.fromEntries(tables.map((t, i) => [tableId(t), rows[i] ?? []])));
}

/** Team rows with their game's quality; a team line summed from players names that table. */
export function teamQuality(rows: readonly Row[], inputs: SliceInputs): Row[] {
  return rows.map((r) => {
    const game = inputs.games.get(String(r.game_id));
    const derived = game?.issues.some((i) => i.rule === 'team_line_from_players') || game?.fallback;
    return { ...r, ...(derived && game ? { source_tables: SOURCE_TABLES[game.source] ?? null } : {}), ...qualityCells(game) };
  });
}
