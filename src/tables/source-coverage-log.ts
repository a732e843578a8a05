/**
 * `nba_orchestration.source_coverage_log`: one row per coverage *event* of a scheduled game
 * (seed 004's "event-based log + a game-level view"). The daily audit compares the schedule
 * with the raw tables (one per source) and the analytics table and logs what changed since
 * the last row it logged for the same game and table: first seen, gone missing (silently, when
 * phasegate believed the date committed), tier dropped or raised, a re-run of the primary
 * source's raw processor from its files requested, a fallback scrape requested, no source at
 * all after the fallback.
 *
 * Event ids are derived from the event (game, table, observed state, the previous event's id),
 * never from the audit run, so an audit of the same window run twice computes the same ids
 * and the append commit — which inserts only keys the table lacks — adds nothing twice.
 * `nba_orchestration.source_coverage_by_game` is the view over it, one row per game.
 */
import { col, key } from '../processors/columns.ts';
import type { LogTableDef } from '../processors/types.ts';

export const COVERAGE_EVENT_TYPES = [
  'found',
  'missing',
  'silent_failure',
  'tier_dropped',
  'tier_changed',
  'primary_rerun_requested',
  'fallback_requested',
  'no_source',
] as const;
export type CoverageEventType = (typeof COVERAGE_EVENT_TYPES)[number];

/** Events that say what a table holds of a game (the view's latest state per game and table). */
export const OBSERVATION_EVENTS: readonly CoverageEventType[] = ['found', 'missing', 'silent_failure', 'tier_dropped', 'tier_changed'];

export const COVERAGE_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type CoverageSeverity = (typeof COVERAGE_SEVERITIES)[number];

/** `raw`: a source's raw table; `analytics`: the table phase 3 picks the best source in; `audit`: the audit's own verdicts. */
export const COVERAGE_LAYERS = ['raw', 'analytics', 'audit'] as const;
export type CoverageLayer = (typeof COVERAGE_LAYERS)[number];

export const sourceCoverageLog: LogTableDef = {
  kind: 'log',
  name: 'source_coverage_log',
  description: 'coverage events per scheduled game: which source has it, tier changes, fallbacks, games no source has',
  table: {
    dataset: 'nba_orchestration',
    table: 'source_coverage_log',
    writeMode: 'append',
    sliceColumn: 'game_date',
    primaryKey: ['event_id'],
    clusterBy: ['game_id', 'event_type'],
    columns: [
      key('event_id', 'STRING', 'deterministic: game, table, observed state and the previous event of the same game and table'),
      key('event_time', 'TIMESTAMP', 'when the audit observed it'),
      key(
        'event_type',
        'STRING',
        "'found', 'missing', 'silent_failure', 'tier_dropped', 'tier_changed', 'primary_rerun_requested' (the primary's raw files are there: its raw processor re-runs), 'fallback_requested' or 'no_source'",
      ),
      key('severity', 'STRING', "'info', 'warning' or 'critical' (no source has the game after the fallback)"),
      key('layer', 'STRING', "'raw' (a source's table), 'analytics' (phase 3's pick) or 'audit' (a verdict over all sources)"),
      key('game_id', 'STRING', 'the NBA.com game id'),
      key('game_date', 'DATE', 'the date the schedule places the game on (the partition)'),
      col('table_name', 'STRING', '`dataset.table` observed; null for an audit verdict'),
      col('source', 'STRING', "'nbac' or 'bdl': the raw table's source, or the source analytics picked"),
      key('expected', 'BOOL', 'the schedule holds the game (for the fallback source: and it was asked for the date)'),
      key('found', 'BOOL', 'the table holds rows of the game'),
      col('rows_found', 'INT64', 'rows of the game in the table'),
      key('fallback_used', 'BOOL', 'the rows came from the fallback source, or a fallback scrape was requested'),
      col('data_quality_tier', 'STRING', "analytics: the game's worst tier, 'gold', 'silver' or 'bronze'"),
      col('previous_tier', 'STRING', 'analytics: the tier the last event of the game held'),
      key('audit_run_id', 'STRING', 'the audit run that observed it first'),
      col('details', 'JSON', 'processor status of the date, the repair or fallback backfill, the previous event id'),
    ],
  },
};
