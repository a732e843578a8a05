/**
 * Coverage events from a scan: for each scheduled game and table, what changed since the last
 * event the log holds for them. Pure and deterministic — an event's id is a hash of the game,
 * the table, the observed state and the previous event's id — so two audits that see the same
 * thing compute the same rows, and the log's append commit (new keys only) keeps one of each.
 */
import { createHash } from 'node:crypto';
import { tierRank } from '../processors/tiers.ts';
import type { Row } from '../processors/types.ts';
import type { SliceState, SliceStatus } from '../queues/status-store.ts';
import { type CoverageEventType, type CoverageLayer, type CoverageSeverity, OBSERVATION_EVENTS } from '../tables/source-coverage-log.ts';
import type { CoverageScan, GameScan } from './scan.ts';
import { sourceHas } from './sources.ts';

/** One row of `nba_orchestration.source_coverage_log` (a type, so it is a `Row`). */
export type CoverageLogRow = {
  event_id: string;
  event_time: string;
  event_type: CoverageEventType;
  severity: CoverageSeverity;
  layer: CoverageLayer;
  game_id: string;
  game_date: string;
  table_name: string | null;
  source: string | null;
  expected: boolean;
  found: boolean;
  rows_found: number | null;
  fallback_used: boolean;
  data_quality_tier: string | null;
  previous_tier: string | null;
  audit_run_id: string;
  /** JSON text. */
  details: string | null;
};

/** The last observation of one game in one table, as the log (or this run) holds it. */
export interface Observation {
  eventId: string;
  state: string;
  tier: string | null;
  at: string;
}

/** `game_id|table_name` → its latest observation. */
export type LastObservations = Map<string, Observation>;

const OBSERVED: ReadonlySet<string> = new Set(OBSERVATION_EVENTS);

/** States in which a slice will still change without a person: the audit does not judge it yet. */
const IN_PROGRESS: ReadonlySet<SliceState> = new Set(['pending', 'running', 'staged', 'waiting']);

/** Whether a processor is still working on the slice (its table may be about to change). */
export function inProgress(status: Pick<SliceStatus, 'status'> | undefined): boolean {
  return status !== undefined && IN_PROGRESS.has(status.status);
}

export function observationKey(gameId: string, table: string): string {
  return `${gameId}|${table}`;
}

function eventId(parts: readonly (string | null)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

function rawState(found: boolean): string {
  return found ? 'found' : 'missing';
}

function analyticsState(found: boolean, tier: string | null, source: string | null): string {
  return found ? `found:${tier ?? ''}:${source ?? ''}` : 'missing';
}

/** The latest observation per (game, table) among log rows (any order). */
export function lastObservations(rows: readonly Row[]): LastObservations {
  const out: LastObservations = new Map();
  const sorted = rows
    .filter((r) => OBSERVED.has(String(r.event_type)) && typeof r.table_name === 'string')
    .map((r) => ({ r, at: new Date(String(r.event_time)).toISOString() }))
    .sort((a, b) => (a.at === b.at ? String(a.r.event_id).localeCompare(String(b.r.event_id)) : a.at.localeCompare(b.at)));
  for (const { r, at } of sorted) {
    const found = r.found === true;
    const tier = typeof r.data_quality_tier === 'string' ? r.data_quality_tier : null;
    const state = r.layer === 'analytics' ? analyticsState(found, tier, typeof r.source === 'string' ? r.source : null) : rawState(found);
    out.set(observationKey(String(r.game_id), String(r.table_name)), { eventId: String(r.event_id), state, tier, at });
  }
  return out;
}

/** Whether phasegate believes the slice landed this game: a silent failure when the table lacks it. */
function believedLanded(status: SliceStatus | undefined, gameId: string): boolean {
  if (status?.status === 'committed') return true;
  return status?.status === 'incomplete' && !status.nothingLanded && !(status.missingGames ?? []).includes(gameId);
}

export interface EventInput {
  scan: CoverageScan;
  last: LastObservations;
  runId: string;
  now: Date;
  /** Games this run asked the fallback source for (their fallback rows are expected). */
  fallbackRequested?: ReadonlySet<string>;
}

export interface EventOutput {
  rows: CoverageLogRow[];
  /** `last` with this run's observations applied. */
  last: LastObservations;
  /** Scheduled games no source has (no player lines) whose primary source is not still running. */
  uncovered: GameScan[];
}

/**
 * The observation events of a scan: for each (game, table) that is expected or holds rows,
 * an event when its state differs from the last one logged. Tables whose processor is still
 * working on the date are not judged until it is done.
 */
export function observationEvents(input: EventInput): EventOutput {
  const { scan, runId } = input;
  const at = input.now.toISOString();
  const last: LastObservations = new Map(input.last);
  const rows: CoverageLogRow[] = [];
  const uncovered: GameScan[] = [];
  const emit = (
    g: GameScan,
    table: string,
    layer: CoverageLayer,
    o: {
      state: string;
      type: CoverageEventType;
      severity: CoverageSeverity;
      source: string | null;
      expected: boolean;
      found: boolean;
      rows: number;
      fallback: boolean;
      tier?: string | null;
      details: Record<string, unknown>;
    },
  ) => {
    const key = observationKey(g.gameId, table);
    const prev = last.get(key);
    if (prev?.state === o.state) return;
    const id = eventId([g.gameId, table, o.state, prev?.eventId ?? null]);
    const tier = o.tier ?? null;
    let type = o.type;
    let severity = o.severity;
    if (layer === 'analytics' && o.found && prev?.tier && tier && prev.tier !== tier) {
      type = tierRank(tier) > tierRank(prev.tier) ? 'tier_dropped' : 'tier_changed';
      severity = type === 'tier_dropped' ? 'warning' : 'info';
    }
    rows.push({
      event_id: id,
      event_time: at,
      event_type: type,
      severity,
      layer,
      game_id: g.gameId,
      game_date: g.date,
      table_name: table,
      source: o.source,
      expected: o.expected,
      found: o.found,
      rows_found: o.rows,
      fallback_used: o.fallback,
      data_quality_tier: tier,
      previous_tier: prev?.tier ?? null,
      audit_run_id: runId,
      details: JSON.stringify({ ...o.details, previous_event_id: prev?.eventId ?? null }),
    });
    last.set(key, { eventId: id, state: o.state, tier, at });
  };

  for (const d of scan.dates) {
    for (const g of d.games) {
      let primaryJudged = false;
      for (const s of scan.targets.sources) {
        const status = d.statuses[s.processor];
        if (inProgress(status)) continue;
        const rows = g.raw[s.tableName] ?? 0;
        const found = rows > 0;
        const asked = status !== undefined || (input.fallbackRequested?.has(g.gameId) ?? false);
        const expected = g.scheduled && (s.role === 'primary' || asked);
        if (s === scan.targets.primary) primaryJudged = true;
        if (!expected && !found) continue;
        const silent = !found && believedLanded(status, g.gameId);
        emit(g, s.tableName, 'raw', {
          state: rawState(found),
          type: found ? 'found' : silent ? 'silent_failure' : 'missing',
          severity: found ? 'info' : 'warning',
          source: s.source,
          expected,
          found,
          rows,
          fallback: s.role === 'fallback',
          details: {
            processor: s.processor,
            status: status?.status ?? null,
            ...(silent ? { note: `${s.processor} says ${d.date} landed, but the table lacks the game` } : {}),
          },
        });
      }
      const anySource = scan.targets.names.some((src) => sourceHas(scan.targets, g.raw, src));
      if (g.scheduled && !anySource && primaryJudged) uncovered.push(g);
      const a = scan.targets.analytics;
      if (!a) continue;
      const status = d.statuses[a.def.name];
      if (inProgress(status)) continue;
      const found = g.analytics !== undefined;
      if (!g.scheduled && !found) continue;
      const source = g.analytics?.sources.join(',') || null;
      const tier = g.analytics?.tier ?? null;
      const silent = !found && believedLanded(status, g.gameId);
      const fallbackSources = new Set(scan.targets.sources.filter((s) => s.role === 'fallback').map((s) => s.source));
      emit(g, a.tableName, 'analytics', {
        state: analyticsState(found, tier, source),
        type: found ? 'found' : silent ? 'silent_failure' : 'missing',
        severity: found ? 'info' : silent || anySource ? 'warning' : 'info',
        source,
        expected: g.scheduled,
        found,
        rows: g.analytics?.rows ?? 0,
        fallback: (g.analytics?.sources ?? []).some((src) => fallbackSources.has(src)),
        tier,
        details: { processor: a.def.name, status: status?.status ?? null },
      });
    }
  }
  return { rows, last, uncovered };
}

/**
 * The audit's verdict rows about a game: a re-run of a primary raw table from its files, a
 * fallback requested, no source at all.
 */
export function verdictRow(
  type: 'primary_rerun_requested' | 'fallback_requested' | 'no_source',
  g: Pick<GameScan, 'gameId' | 'date'>,
  ctx: {
    runId: string;
    now: Date;
    last: LastObservations;
    primaryTable: string | undefined;
    /** The table re-run (primary_rerun_requested) or filled (fallback_requested). */
    table?: string | undefined;
    details: Record<string, unknown>;
  },
): CoverageLogRow {
  // Tied to the current episode of missing the game — the primary's player table's, or for a
  // re-run the re-run table's own: once per episode.
  const episodeTable = type === 'primary_rerun_requested' ? ctx.table : ctx.primaryTable;
  const episode = episodeTable ? (ctx.last.get(observationKey(g.gameId, episodeTable))?.eventId ?? null) : null;
  return {
    // The re-run names its table (one per table); the other two keep the ids they always had.
    event_id: eventId(type === 'primary_rerun_requested' ? [type, g.gameId, ctx.table ?? null, episode] : [type, g.gameId, episode]),
    event_time: ctx.now.toISOString(),
    event_type: type,
    severity: type === 'no_source' ? 'critical' : 'info',
    layer: type === 'no_source' ? 'audit' : 'raw',
    game_id: g.gameId,
    game_date: g.date,
    table_name: type === 'no_source' ? null : (ctx.table ?? null),
    source: null,
    expected: true,
    found: false,
    rows_found: null,
    fallback_used: type === 'fallback_requested',
    data_quality_tier: null,
    previous_tier: null,
    audit_run_id: ctx.runId,
    details: JSON.stringify({ ...ctx.details, episode_event_id: episode }),
  };
}
