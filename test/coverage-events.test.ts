/**
 * Coverage events are a pure function of (scan, last logged state): deterministic ids, one
 * event per change and none without one, silent failures told apart from plain gaps, tier
 * drops, and slices still in progress left alone.
 */
import { expect } from 'chai';
import { type CoverageLogRow, lastObservations, observationEvents, verdictRow } from '../src/coverage/events.ts';
import { dateCoverage } from '../src/coverage/report.ts';
import type { CoverageScan, DateScan, GameScan } from '../src/coverage/scan.ts';
import { COVERAGE_SOURCES, coverageTargets } from '../src/coverage/sources.ts';
import { auditWindow } from '../src/coverage/window.ts';
import { InputError } from '../src/errors/input-error.ts';
import type { SliceStatus } from '../src/queues/status-store.ts';
import { defaultRegistry } from '../src/runtime.ts';

// The player tables only: NBA.com's team table is judged the same way (the audit's test has it).
const targets = coverageTargets(
  defaultRegistry(),
  COVERAGE_SOURCES.filter((s) => s.lines === 'player'),
);
const NBAC = 'nba_raw.nbac_player_boxscores';
const NBAC_TEAM = 'nba_raw.nbac_team_boxscore';
const BDL = 'nba_raw.bdl_player_boxscores';
const TABLE_OF: Record<string, string> = { nbac: NBAC, bdl: BDL };
const PGS = 'nba_analytics.player_game_summary';
const now = new Date('2025-04-20T12:00:00Z');

/** A scanned game; `raw` per source (`nbac` → 24), held in that source's player table. */
function game(gameId: string, raw: Record<string, number>, tier?: string, source = 'nbac'): GameScan {
  const tables = Object.fromEntries(Object.entries(raw).map(([src, n]) => [TABLE_OF[src] ?? src, n]));
  return { gameId, date: '2025-04-19', scheduled: true, raw: tables, ...(tier ? { analytics: { rows: 20, tier, sources: [source] } } : {}) };
}

function scan(games: GameScan[], statuses: Record<string, Partial<SliceStatus>> = {}): CoverageScan {
  const all: Record<string, SliceStatus | undefined> = {
    nbac_player_boxscore: { status: 'committed', updatedAt: '' },
    player_game_summary: { status: 'committed', updatedAt: '' },
  };
  for (const [p, s] of Object.entries(statuses)) all[p] = s.status ? ({ updatedAt: '', ...s } as SliceStatus) : undefined;
  const d: DateScan = { date: '2025-04-19', scheduled: games.map((g) => g.gameId), games, statuses: all };
  return { targets, dates: [d] };
}

/** What the log would hand back for rows that landed. */
const landed = (rows: readonly CoverageLogRow[]) => lastObservations(rows.map((r) => ({ ...r })));

describe('coverage events', () => {
  it('resolves the sources and the analytics table from the registry, primary first', () => {
    const all = coverageTargets(defaultRegistry());
    expect(all.sources.map((s) => [s.source, s.role, s.tableName, s.lines])).to.deep.equal([
      ['nbac', 'primary', NBAC, 'player'],
      ['nbac', 'primary', NBAC_TEAM, 'team'],
      ['bdl', 'fallback', BDL, 'player'],
    ]);
    expect(all.names).to.deep.equal(['nbac', 'bdl']);
    expect(all.primary?.tableName).to.equal(NBAC);
    expect(all.fallback?.scraper).to.equal('bdl_player_boxscore_scraper');
    expect(targets.analytics?.tableName).to.equal(PGS);
  });

  it('logs a first observation per game and table, the same ids every time, and nothing once it landed', () => {
    const s = scan([game('g1', { nbac: 24 }, 'gold'), game('g2', { nbac: 22 }, 'gold')]);
    const first = observationEvents({ scan: s, last: new Map(), runId: 'r1', now });
    expect(first.rows.map((r) => [r.game_id, r.table_name, r.event_type])).to.deep.equal([
      ['g1', NBAC, 'found'],
      ['g1', PGS, 'found'],
      ['g2', NBAC, 'found'],
      ['g2', PGS, 'found'],
    ]);
    // balldontlie was never asked for the date: no row says it lacks the games.
    expect(first.rows.some((r) => r.table_name === BDL)).to.equal(false);
    const again = observationEvents({ scan: s, last: new Map(), runId: 'r2', now: new Date(now.getTime() + 60_000) });
    expect(again.rows.map((r) => r.event_id)).to.deep.equal(first.rows.map((r) => r.event_id));
    expect(observationEvents({ scan: s, last: landed(first.rows), runId: 'r3', now }).rows).to.deep.equal([]);
  });

  it('a game gone from a date its processor says committed is a silent failure, a tier drop is its own event', () => {
    const before = observationEvents({ scan: scan([game('g1', { nbac: 24 }, 'gold')]), last: new Map(), runId: 'r1', now });
    const after = observationEvents({ scan: scan([game('g1', {}, 'silver', 'bdl')]), last: landed(before.rows), runId: 'r2', now });
    const nbac = after.rows.find((r) => r.table_name === NBAC);
    expect(nbac).to.include({ event_type: 'silent_failure', severity: 'warning', found: false, expected: true });
    expect(JSON.parse(nbac?.details ?? '{}').previous_event_id).to.equal(before.rows[0]?.event_id);
    expect(after.rows.find((r) => r.table_name === PGS)).to.include({
      event_type: 'tier_dropped',
      previous_tier: 'gold',
      data_quality_tier: 'silver',
      fallback_used: true,
    });
    expect(after.uncovered.map((g) => g.gameId)).to.deep.equal(['g1']);
    // Only when its processor says so: an incomplete date naming the game is a plain gap.
    const plain = observationEvents({
      scan: scan([game('g1', {})], { nbac_player_boxscore: { status: 'incomplete', missingGames: ['g1'] } }),
      last: new Map(),
      runId: 'r',
      now,
    });
    expect(plain.rows.find((r) => r.table_name === NBAC)?.event_type).to.equal('missing');
  });

  it('leaves a slice whose processor is still working alone, and expects the fallback only once it was asked', () => {
    const busy = observationEvents({ scan: scan([game('g1', {})], { nbac_player_boxscore: { status: 'running' } }), last: new Map(), runId: 'r', now });
    expect(busy.rows.some((r) => r.table_name === NBAC)).to.equal(false);
    expect(busy.uncovered).to.deep.equal([]);
    const asked = observationEvents({ scan: scan([game('g1', {})]), last: new Map(), runId: 'r', now, fallbackRequested: new Set(['g1']) });
    expect(asked.rows.find((r) => r.table_name === BDL)).to.include({ event_type: 'missing', expected: true, fallback_used: true });
  });

  it('a verdict is tied to the episode of the primary source missing the game: once per episode', () => {
    const obs = observationEvents({ scan: scan([game('g1', {})]), last: new Map(), runId: 'r', now });
    const one = verdictRow('no_source', { gameId: 'g1', date: '2025-04-19' }, { runId: 'r', now, last: obs.last, primaryTable: NBAC, details: {} });
    const two = verdictRow('no_source', { gameId: 'g1', date: '2025-04-19' }, { runId: 'r9', now, last: landed(obs.rows), primaryTable: NBAC, details: {} });
    expect(one.event_id).to.equal(two.event_id);
    expect(one).to.include({ severity: 'critical', layer: 'audit', table_name: null });
    const found = observationEvents({ scan: scan([game('g1', { nbac: 3 })]), last: landed(obs.rows), runId: 'r', now });
    const lostAgain = observationEvents({ scan: scan([game('g1', {})]), last: found.last, runId: 'r', now });
    const three = verdictRow('no_source', { gameId: 'g1', date: '2025-04-19' }, { runId: 'r', now, last: lostAgain.last, primaryTable: NBAC, details: {} });
    expect(three.event_id).to.not.equal(one.event_id);
  });

  it("a date's colour is its worst game; a scheduled game in no source is missing whatever analytics still holds", () => {
    const d = scan([game('g1', { nbac: 24 }, 'gold'), game('g2', { bdl: 20 }, 'silver', 'bdl'), game('g3', {}, 'gold')]).dates[0] as DateScan;
    const c = dateCoverage({ targets }, d);
    expect(c).to.deep.include({ worst: 'missing', missing: ['g3'], found: { nbac: 1, bdl: 1 }, tiers: { gold: 2, silver: 1, bronze: 0, none: 0 } });
    const ok = dateCoverage({ targets }, scan([game('g1', { nbac: 24 }, 'gold'), game('g2', { bdl: 20 }, 'silver', 'bdl')]).dates[0] as DateScan);
    expect(ok.worst).to.equal('silver');
    expect(dateCoverage({ targets }, scan([game('g1', { nbac: 24 })]).dates[0] as DateScan).worst).to.equal('pending');
  });

  it('the look-back window: 7 days before today to yesterday, in the schedule time zone', () => {
    expect(auditWindow({ now })).to.deep.equal({ start: '2025-04-13', end: '2025-04-19' });
    expect(auditWindow({ now, since: '3d' })).to.deep.equal({ start: '2025-04-17', end: '2025-04-19' });
    expect(auditWindow({ now: new Date('2025-04-20T03:00:00Z'), tz: 'America/Los_Angeles' }).end).to.equal('2025-04-18');
    expect(auditWindow({ now, since: '2025-04-15', until: '2025-04-18' })).to.deep.equal({ start: '2025-04-15', end: '2025-04-18' });
    for (const bad of [{ since: 'last week' }, { since: '2025-04-19', until: '2025-04-15' }, { until: '2025-02-30' }, { tz: 'Nowhere/Land' }]) {
      expect(() => auditWindow({ now, ...bad }), JSON.stringify(bad)).to.throw(InputError);
    }
  });
});
