/**
 * The audit's announcements (seed 004): a game no source has after the fallback is critical —
 * one message at once per audit run, naming every such game; everything else an audit found
 * is one digest per run, through the notifier, whose window folds a burst of runs into one.
 * Each event is announced once ever: a marker per event id (SET NX), so a second audit of the
 * same window, or a second process, announces nothing again.
 */
import type { PipelineContext } from '../queues/context.ts';
import type { CoverageLogRow } from './events.ts';

/** Long enough to outlive every look-back window the audit is run over. */
const ANNOUNCED_TTL_SECONDS = 90 * 86_400;
const SHOWN = 20;

/** The digest's lines: warnings, repairs (a primary re-run, a fallback request) and fallback fills. */
export function digestWorthy(row: Pick<CoverageLogRow, 'severity' | 'event_type' | 'fallback_used' | 'found' | 'layer'>): boolean {
  if (row.severity === 'critical') return false;
  return (
    row.severity === 'warning' ||
    row.event_type === 'primary_rerun_requested' ||
    row.event_type === 'fallback_requested' ||
    (row.layer === 'raw' && row.found && row.fallback_used)
  );
}

export function describeEvent(
  r: Pick<CoverageLogRow, 'event_type' | 'layer' | 'fallback_used' | 'game_id' | 'game_date' | 'table_name' | 'source' | 'data_quality_tier' | 'previous_tier'>,
): string {
  const where = r.table_name ?? 'every source';
  switch (r.event_type) {
    case 'found':
      return r.layer === 'raw' && r.fallback_used
        ? `${r.game_id} (${r.game_date}) filled from the fallback source ${r.source ?? ''} (${where})`
        : `${r.game_id} (${r.game_date}) is in ${where}${r.source ? ` (${r.source})` : ''}`;
    case 'missing':
      return `${r.game_id} (${r.game_date}) is missing from ${where}`;
    case 'silent_failure':
      return `${r.game_id} (${r.game_date}) is missing from ${where}, though its date committed`;
    case 'tier_dropped':
    case 'tier_changed':
      return `${r.game_id} (${r.game_date}) tier ${r.previous_tier ?? '?'} → ${r.data_quality_tier ?? '?'} in ${where}`;
    case 'primary_rerun_requested':
      return `${r.game_id} (${r.game_date}): the primary source's raw files are there, ${where} re-run from them`;
    case 'fallback_requested':
      return `${r.game_id} (${r.game_date}): no source has it, fallback scrape requested (${where})`;
    case 'no_source':
      return `${r.game_id} (${r.game_date}): no source has it after the fallback`;
  }
}

/** The rows not announced before, marking them announced. */
async function firstTime(ctx: Pick<PipelineContext, 'redis' | 'keys'>, rows: readonly CoverageLogRow[]): Promise<CoverageLogRow[]> {
  const unique = [...new Map(rows.map((r) => [r.event_id, r])).values()];
  if (unique.length === 0) return [];
  const multi = ctx.redis.multi();
  for (const r of unique) multi.set(ctx.keys.coverageAnnounced(r.event_id), '1', 'EX', ANNOUNCED_TTL_SECONDS, 'NX');
  const res = (await multi.exec()) ?? [];
  return unique.filter((_, i) => res[i]?.[1] === 'OK');
}

function bullets(rows: readonly CoverageLogRow[]): string {
  const lines = rows.slice(0, SHOWN).map((r) => `• ${describeEvent(r)}`);
  if (rows.length > SHOWN) lines.push(`• … and ${rows.length - SHOWN} more`);
  return lines.join('\n');
}

export interface Announced {
  critical: CoverageLogRow[];
  digest: CoverageLogRow[];
}

export async function announceCoverage(
  ctx: Pick<PipelineContext, 'redis' | 'keys' | 'config' | 'notifier'>,
  run: { runId: string; start: string; end: string },
  rows: readonly CoverageLogRow[],
): Promise<Announced> {
  const critical = await firstTime(
    ctx,
    rows.filter((r) => r.event_type === 'no_source'),
  );
  const digest = await firstTime(ctx, rows.filter(digestWorthy));
  const notifier = ctx.notifier;
  const window = `${run.start} … ${run.end}`;
  if (critical.length > 0) {
    // Its own subject per run: a critical message is never folded into a later digest.
    await notifier.notify({
      kind: 'coverage-critical',
      subject: `source-coverage:${run.runId}`,
      title: `${critical.length} scheduled game(s) have no data from any source (${window})`,
      text: `${bullets(critical)}\nSee \`phasegate coverage --start ${run.start} --end ${run.end}\`.`,
    });
  }
  if (digest.length > 0) {
    await notifier.notify({
      kind: 'coverage-digest',
      subject: 'source-coverage',
      title: `source coverage audit ${run.runId} (${window}): ${digest.length} finding(s)`,
      text: bullets(digest),
    });
  }
  return { critical, digest };
}
