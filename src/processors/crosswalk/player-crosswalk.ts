/**
 * Phase 3: `nba_reference.player_crosswalk`, one row per fallback-source player per game date
 * he appeared on: his source id, the NBA.com person id he was matched to (null when unmatched
 * or ambiguous), how, and how sure. Filled from what the sources report (`match.ts`), never by
 * hand; the distinct (source, source_player_id, nba_person_id) rows are the mapping.
 *
 * It runs when the fallback lands a date, and `player_game_summary` runs when it lands: that
 * slice reads the fallback's lines with these verdicts (an optional input of it), so its rows
 * for a fallback game wait for them instead of guessing. The NBA.com candidates are what NBA.com's player
 * table holds for the season to date and the season before: a name seen nowhere there is
 * `unmatched`, a name two NBA.com players share is `ambiguous` (their ids listed).
 */

import { optNumber, optString, projection, requiredNumber, requiredString } from '../analytics/rows.ts';
import { col, key } from '../columns.ts';
import { addDays, datesIn, seasonBounds } from '../precompute/lookback.ts';
import { fallbackSources, playerProcessor, primarySource } from '../source-registry.ts';
import { type Column, type Row, type TableSpec, type TransformDef, tableId, tableReader } from '../types.ts';
import { type Candidate, CandidateIndex, type Match } from './match.ts';

const PRIMARY_PLAYERS = playerProcessor(primarySource()).table;
const NBAC = tableId(PRIMARY_PLAYERS);

/** A fallback source's player table, as the crosswalk reads it. */
export interface CrosswalkSource {
  /** The source's name: the rows' `source`. */
  source: string;
  /** Its player table (`dataset.table`), for error messages. */
  table: string;
  /** The raw processor writing that table: what the crosswalk waits for. */
  processor: string;
  read: TableSpec;
}

/** Every fallback source numbers its players apart from the primary: each is matched. */
const FALLBACKS: readonly CrosswalkSource[] = fallbackSources().map((s) => {
  const { name, table } = playerProcessor(s);
  return { source: s.name, table: tableId(table), processor: name, read: projection(table, ['player_name', 'team_id', 'team_abbr', 'season']) };
});

const COLUMNS: readonly Column[] = [
  key('game_date', 'DATE', 'a date the source player appeared on'),
  col('season', 'STRING'),
  key('source', 'STRING', 'the source that numbers the player: bdl (balldontlie)'),
  key('source_player_id', 'INT64', "the source's own player id"),
  col('source_player_name', 'STRING'),
  col('team_id', 'INT64', 'NBA.com team id of the team he played for'),
  col('team_abbr', 'STRING'),
  col('nba_person_id', 'INT64', 'NBA.com person id; null when unmatched or ambiguous'),
  col('nba_player_name', 'STRING'),
  key('match_method', 'STRING', 'name_team_season, name_season, name_team_previous_season, name_previous_season, ambiguous or unmatched'),
  key('confidence', 'FLOAT64', '1 for name, team and season; 0 when unmatched or ambiguous'),
  col('candidates', 'STRING', 'an ambiguous name: the NBA.com person ids it could be, comma-separated'),
  key('processed_at', 'TIMESTAMP'),
];

const CANDIDATES = projection(PRIMARY_PLAYERS, ['player_name', 'team_id', 'season']);

type ReadTable = (spec: TableSpec, slices: readonly string[]) => Promise<Row[]>;

/** NBA.com's players of the season to date (the slice included) and of the season before. */
export async function nbaCandidates(readTable: ReadTable, slice: string): Promise<CandidateIndex> {
  const start = addDays(seasonBounds(slice).start, -365);
  const rows = await readTable(CANDIDATES, datesIn({ start, end: slice }));
  const seen = new Map<string, Candidate>();
  for (const r of rows) {
    const c: Candidate = {
      personId: requiredNumber(r, 'player_id', NBAC),
      name: requiredString(r, 'player_name', NBAC),
      teamId: requiredNumber(r, 'team_id', NBAC),
      season: requiredString(r, 'season', NBAC),
    };
    seen.set(`${c.personId}/${c.teamId}/${c.season}`, c);
  }
  return new CandidateIndex(seen.values());
}

/** A fallback row's match: its name, team and season against NBA.com's. */
function matchRow(index: CandidateIndex, row: Row, table: string): Match {
  return index.match({ name: optString(row, 'player_name') ?? '', teamId: requiredNumber(row, 'team_id', table), season: optString(row, 'season') ?? '' });
}

/** The slice's crosswalk rows from one fallback source's rows (the first fallback by default). Pure. */
export function crosswalkRows(
  slice: string,
  sourceRows: readonly Row[],
  index: CandidateIndex,
  processedAt: string,
  from: Pick<CrosswalkSource, 'source' | 'table'> = FALLBACKS[0] ?? { source: '', table: '' },
): Row[] {
  const { source, table } = from;
  const out = new Map<number, Row>();
  for (const r of sourceRows) {
    const id = requiredNumber(r, 'player_id', table);
    if (out.has(id)) continue;
    const m = matchRow(index, r, table);
    out.set(id, {
      game_date: slice,
      season: optString(r, 'season'),
      source,
      source_player_id: id,
      source_player_name: optString(r, 'player_name'),
      team_id: optNumber(r, 'team_id', table),
      team_abbr: optString(r, 'team_abbr'),
      nba_person_id: m.personId,
      nba_player_name: m.nbaName,
      match_method: m.method,
      confidence: m.confidence,
      candidates: m.candidates.length > 0 ? m.candidates.join(',') : null,
      processed_at: processedAt,
    });
  }
  return [...out.values()].sort((a, b) => Number(a.source_player_id) - Number(b.source_player_id));
}

export const playerCrosswalk: TransformDef = {
  kind: 'transform',
  name: 'player_crosswalk',
  phase: 3,
  description: 'fallback-source players matched to NBA.com person ids by normalised name, team and season (ambiguous names listed, not guessed)',
  table: {
    dataset: 'nba_reference',
    table: 'player_crosswalk',
    sliceColumn: 'game_date',
    primaryKey: ['game_date', 'source', 'source_player_id'],
    columns: COLUMNS,
  },
  dependsOn: FALLBACKS.map((f) => f.processor),
  readsWarehouse: true,
  run: async (ctx) => {
    const readTable = tableReader(ctx, 'player_crosswalk');
    const [perSource, index] = await Promise.all([Promise.all(FALLBACKS.map((f) => readTable(f.read, [ctx.slice]))), nbaCandidates(readTable, ctx.slice)]);
    const processedAt = new Date().toISOString();
    return FALLBACKS.flatMap((f, i) => crosswalkRows(ctx.slice, perSource[i] ?? [], index, processedAt, f));
  },
};
