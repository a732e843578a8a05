/**
 * One player identity across sources: balldontlie's players matched to NBA.com person ids by
 * normalised name, team and season (the rule, pure); phase 3 reading those verdicts from
 * `nba_reference.player_crosswalk` and run by its commit; and end to end a player whose season
 * has one game only the fallback had, whose rolling window then includes it — and which phase 3
 * leaves out, under no guessed id, while the crosswalk table has no row for him.
 */
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { requestFallback } from '../src/coverage/audit.ts';
import { coverageTargets } from '../src/coverage/sources.ts';
import { crosswalkVerdicts, underPersonIds } from '../src/processors/analytics/player-game-summary.ts';
import type { SliceInputs } from '../src/processors/analytics/sources.ts';
import { CandidateIndex, normaliseName } from '../src/processors/crosswalk/match.ts';
import { crosswalkRows } from '../src/processors/crosswalk/player-crosswalk.ts';
import { PROCESSORS, Registry } from '../src/processors/registry.ts';
import type { TransformDef } from '../src/processors/types.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { PHASES } from '../src/queues/names.ts';
import { inputVerdict, inputViews } from '../src/queues/runs/graph.ts';
import type { SliceStatus } from '../src/queues/status-store.ts';
import { bdlPlayerId } from '../src/sources/fixture/bdl-documents.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

const DEN = 1610612743;
const UTA = 1610612762;

describe('player crosswalk', () => {
  describe('matching (pure)', () => {
    it('normalises accents, suffixes, punctuation and case', () => {
      expect(normaliseName('Nikola Jokić')).to.equal(normaliseName('Nikola Jokic'));
      expect(normaliseName('Jaren Jackson Jr.')).to.equal('jaren jackson');
      expect(normaliseName('Gary Payton II')).to.equal('gary payton');
      expect(normaliseName('P.J. Washington')).to.equal(normaliseName('PJ Washington'));
      expect(normaliseName("Royce O'Neale")).to.equal('royce oneale');
      expect(normaliseName('Karl-Anthony Towns')).to.equal('karl anthony towns');
    });

    it('matches by name, team and season; lists an ambiguous name instead of guessing; says unmatched', () => {
      const index = new CandidateIndex([
        { personId: 203999, name: 'Nikola Jokić', teamId: DEN, season: '2023-24' },
        { personId: 1, name: 'Sam Smith', teamId: UTA, season: '2023-24' },
        { personId: 2, name: 'Sam Smith Jr.', teamId: UTA, season: '2023-24' },
        { personId: 3, name: 'Traded Player', teamId: UTA, season: '2023-24' },
        { personId: 4, name: 'Last Year', teamId: DEN, season: '2022-23' },
      ]);
      expect(index.match({ name: 'Nikola Jokic', teamId: DEN, season: '2023-24' })).to.deep.include({
        personId: 203999,
        method: 'name_team_season',
        confidence: 1,
      });
      expect(index.match({ name: 'Traded Player', teamId: DEN, season: '2023-24' })).to.deep.include({ personId: 3, method: 'name_season' });
      expect(index.match({ name: 'Last Year', teamId: DEN, season: '2023-24' })).to.deep.include({ personId: 4, method: 'name_team_previous_season' });
      expect(index.match({ name: 'Sam Smith', teamId: UTA, season: '2023-24' })).to.deep.include({ personId: null, method: 'ambiguous', candidates: [1, 2] });
      expect(index.match({ name: 'Nobody Known', teamId: UTA, season: '2023-24' })).to.deep.include({ personId: null, method: 'unmatched', confidence: 0 });

      const rows = crosswalkRows(
        '2023-10-30',
        [
          { player_id: 11, player_name: 'Nikola Jokic', team_id: DEN, team_abbr: 'DEN', season: '2023-24' },
          { player_id: 12, player_name: 'Sam Smith', team_id: UTA, team_abbr: 'UTA', season: '2023-24' },
        ],
        index,
        '2026-01-01T00:00:00Z',
      );
      expect(rows.map((r) => [r.source_player_id, r.nba_person_id, r.match_method, r.candidates])).to.deep.equal([
        [11, 203999, 'name_team_season', null],
        [12, null, 'ambiguous', '1,2'],
      ]);
    });

    it('phase 3 puts a fallback line under the person id the crosswalk table recorded, flags an unmatched one, and leaves out a game it has no row for', () => {
      const cw = (id: number, personId: number | null, extra: Record<string, string | null> = {}) => ({
        game_date: '2023-10-30',
        source: 'bdl',
        source_player_id: id,
        nba_person_id: personId,
        nba_player_name: personId === null ? null : 'Nikola Jokić',
        candidates: null,
        ...extra,
      });
      const inputs: SliceInputs = {
        players: [
          { game_id: 'g', player_id: 11, player_name: 'Nikola Jokic', team_id: DEN, season: '2023-24' },
          { game_id: 'g', player_id: 12, player_name: 'Someone Else', team_id: DEN, season: '2023-24' },
          { game_id: 'g', player_id: 13, player_name: 'Sam Smith', team_id: DEN, season: '2023-24' },
          { game_id: 'h', player_id: 21, player_name: 'Not Crosswalked', team_id: UTA, season: '2023-24' },
          { game_id: 'h', player_id: 11, player_name: 'Nikola Jokic', team_id: UTA, season: '2023-24' },
        ],
        teams: [],
        games: new Map([
          ['g', { source: 'bdl', fallback: true, tier: 'silver', issues: [] }],
          ['h', { source: 'bdl', fallback: true, tier: 'silver', issues: [] }],
        ]),
      };
      const verdicts = crosswalkVerdicts([cw(11, 203999), cw(12, null), cw(13, null, { candidates: '1,2' })]);
      const { players, unmatched, uncrosswalked } = underPersonIds(inputs, verdicts);
      // Game h has a player with no crosswalk row: none of its lines is written, under any id.
      expect(players.map((r) => [r.game_id, r.player_id, r.source_player_id, r.player_name])).to.deep.equal([
        ['g', 203999, 11, 'Nikola Jokić'],
        ['g', 12, 12, 'Someone Else'],
        ['g', 13, 13, 'Sam Smith'],
      ]);
      expect([...uncrosswalked]).to.deep.equal([['h', [21]]]);
      expect([...unmatched.keys()]).to.deep.equal(['g/12', 'g/13']);
      expect(unmatched.get('g/12')).to.include({ rule: 'unmatched_player', level: 'warn' });
      expect(unmatched.get('g/13')?.detail).to.include('could be NBA.com 1 or 2');
    });

    it('phase 3 runs on the crosswalk’s commit, not the fallback’s, and a fallback night waits for the crosswalk', () => {
      const registry = new Registry(PROCESSORS);
      const summary = registry.get('player_game_summary') as TransformDef;
      expect(registry.dependents('bdl_player_boxscore').map((d) => d.name)).to.not.include('player_game_summary');
      expect(registry.dependents('player_crosswalk').map((d) => d.name)).to.include('player_game_summary');
      // A night only the fallback has: NBA.com's raw slices landed nothing, balldontlie's did.
      const nothing: SliceStatus = { status: 'incomplete', nothingLanded: true, updatedAt: '' };
      const statuses = (crosswalk: SliceStatus | undefined) => (p: string) =>
        p === 'player_crosswalk' ? crosswalk : p.startsWith('nbac_') ? nothing : undefined;
      const verdict = (crosswalk: SliceStatus | undefined) =>
        inputVerdict(
          '2024-04-16',
          inputViews(summary, '2024-04-16', () => true, statuses(crosswalk)),
        );
      expect(verdict({ status: 'running', updatedAt: '' })).to.deep.equal({ kind: 'wait' });
      expect(verdict({ status: 'committed', rows: 26, updatedAt: '' })).to.deep.equal({ kind: 'ready' });
      expect(verdict({ status: 'upstream_failed', error: 'upstream bdl_player_boxscore 2024-04-16 failed: boom', updatedAt: '' })).to.deep.include({
        kind: 'ended',
        status: 'upstream_failed',
      });
    });
  });

  describe('end to end: a game only the fallback had joins the player’s NBA.com games', function () {
    this.timeout(180_000);
    let env: TestEnv;
    // Nikola Jokić's 2023-24 opening: 10-24 29, 10-27 22, 10-29 28, 10-30 27 (UTA at DEN, the
    // game NBA.com is told to miss), 11-01 25.
    const MISSING = '0022300110';

    before(async () => {
      env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_GATHER_SECONDS: '10', PHASEGATE_FIXTURE_MISSING_GAMES: MISSING });
      await env.rt.startWorkers({ phases: PHASES, commit: true, concurrency: 4 });
      const rt = env.rt;
      const dates = await rt.source.gameDates('2023-10-24', '2023-11-01');
      const raw = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
      const record = await startCascadingBackfill(rt, { processors: raw.map((n) => rt.registry.get(n)), dates, cascade: true });
      await waitForBackfill(rt, record, { bars: false, pollMs: 100, timeoutMs: 120_000 });
      const fallback = coverageTargets(rt.registry).fallback;
      if (!fallback) throw new Error('no fallback source');
      const fb = await requestFallback(rt, fallback, ['2023-10-30']);
      await waitForBackfill(rt, fb, { bars: false, pollMs: 100, timeoutMs: 120_000 });
      await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 120_000 });
      await waitForCascade(rt, fb, { pollMs: 100, timeoutMs: 120_000 });
    });
    after(async () => env.cleanup());

    it('records the match, writes the fallback line under his person id, and his rolling window includes it', async () => {
      const w = await env.rt.warehouse();
      const [cw] = await w.query(
        "SELECT nba_person_id, match_method, confidence, source_player_name FROM nba_reference.player_crosswalk WHERE game_date = '2023-10-30' AND source = 'bdl' AND source_player_id = $id",
        { id: bdlPlayerId(203999) },
      );
      expect(cw).to.deep.equal({ nba_person_id: 203999, match_method: 'name_team_season', confidence: 1, source_player_name: 'Nikola Jokic' });
      const [unmatched] = await w.query("SELECT count(*) AS n FROM nba_reference.player_crosswalk WHERE nba_person_id IS NULL AND game_date = '2023-10-30'");
      const [bdlRows] = await w.query("SELECT count(DISTINCT player_id) AS n FROM nba_raw.bdl_player_boxscores WHERE game_date = '2023-10-30'");
      const [all] = await w.query("SELECT count(*) AS n FROM nba_reference.player_crosswalk WHERE game_date = '2023-10-30'");
      expect(Number(all?.n)).to.equal(Number(bdlRows?.n));
      // Players of that game who had not played for NBA.com yet this season (or the last) stay unmatched, and say so.
      const flagged = await w.query(
        "SELECT player_id, quality_issues FROM nba_analytics.player_game_summary WHERE game_id = $g AND quality_issues LIKE '%unmatched_player%'",
        {
          g: MISSING,
        },
      );
      expect(flagged.length).to.be.at.most(Number(unmatched?.n));

      const [summary] = await w.query(
        'SELECT player_id, source_player_id, player_name, pts, primary_source FROM nba_analytics.player_game_summary WHERE game_id = $g AND player_id = 203999',
        { g: MISSING },
      );
      // Under his NBA.com id and name (balldontlie writes it without the accent).
      expect(summary).to.deep.equal({ player_id: 203999, source_player_id: bdlPlayerId(203999), player_name: 'Nikola Jokić', pts: 27, primary_source: 'bdl' });

      const [nov1] = await w.query(
        "SELECT games_played_season, pts_avg_last5, previous_game_date, data_quality_tier FROM nba_precompute.player_rolling_features WHERE game_date = '2023-11-01' AND player_id = 203999",
      );
      // (29 + 22 + 28 + 27) / 4: the fallback game is in his window, under his NBA.com id.
      expect(nov1).to.deep.include({ games_played_season: 4, pts_avg_last5: 26.5 });
      expect(String(nov1?.previous_game_date).slice(0, 10)).to.equal('2023-10-30');
      const [prediction] = await w.query(
        "SELECT predicted_points FROM nba_predictions.player_points_predictions WHERE game_date = '2023-11-01' AND player_id = 203999",
      );
      expect(Number(prediction?.predicted_points)).to.equal(26.5);
    });

    it('without the crosswalk’s rows phase 3 writes the fallback game under no guessed id and names it missing; with them back, under the person id', async () => {
      const rt = env.rt;
      const w = await rt.warehouse();
      if (!(w instanceof BigQueryRulesWarehouse)) throw new Error('the embedded default is DuckDB behind the BigQuery rules');
      const crosswalk = rt.registry.get('player_crosswalk') as TransformDef;
      const summary = rt.registry.get('player_game_summary');
      const jokic = () =>
        w.query('SELECT player_id, source_player_id, pts FROM nba_analytics.player_game_summary WHERE game_id = $g AND source_player_id = $id', {
          g: MISSING,
          id: bdlPlayerId(203999),
        });
      // The crosswalk's verdicts for the night are gone (behind phasegate's back); phase 3 runs alone.
      expect((await w.dml(crosswalk.table, { kind: 'DELETE', slices: ['2023-10-30'] })).rowsAffected).to.be.greaterThan(0);
      const alone = await startBackfill(rt, { processors: [summary], dates: ['2023-10-30'] });
      await waitForBackfill(rt, alone, { bars: false, pollMs: 100, timeoutMs: 60_000 });
      const without = await rt.statuses.get('player_game_summary', '2023-10-30');
      expect(without).to.deep.include({ status: 'incomplete', missingGames: [MISSING] });
      // Nothing under balldontlie's id; the warehouse keeps what it held (his person id).
      expect(await jokic()).to.deep.equal([{ player_id: 203999, source_player_id: bdlPlayerId(203999), pts: 27 }]);

      // The crosswalk runs again for the night: its commit runs phase 3, which lands the game.
      const again = await startCascadingBackfill(rt, { processors: [crosswalk], dates: ['2023-10-30'], cascade: true });
      await waitForBackfill(rt, again, { bars: false, pollMs: 100, timeoutMs: 60_000 });
      await waitForCascade(rt, again, { pollMs: 100, timeoutMs: 60_000 });
      const back = await rt.statuses.get('player_game_summary', '2023-10-30');
      expect(back?.status).to.equal('committed');
      expect(back?.missingGames).to.equal(undefined);
      expect(await jokic()).to.deep.equal([{ player_id: 203999, source_player_id: bdlPlayerId(203999), pts: 27 }]);
    });
  });
});
