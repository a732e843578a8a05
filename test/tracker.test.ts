/**
 * Completion events and the dependency tracker, end to end on the real Redis and a real
 * DuckDB behind the BigQuery rules: a cascade backfill of Phase 1–2 carries three weeks of the
 * real season down to predictions; the tables are checked with SQL; a recommitted date re-runs
 * exactly its dependent work once; a duplicate delivery of every event queues nothing.
 */
import { expect } from 'chai';
import { PROCESSORS, Registry } from '../src/processors/registry.ts';
import type { ProcessorContext, ProcessorDef } from '../src/processors/types.ts';
import { type CascadeProgress, cascadeProgress, startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { parseEventFields } from '../src/queues/events/stream.ts';
import { BackfillLookup, handleEvent } from '../src/queues/events/unlocks.ts';
import { PHASES } from '../src/queues/names.ts';
import type { Runtime } from '../src/runtime.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const START = '2023-11-01';
const END = '2023-11-21';
const ROOTS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
const DOWNSTREAM = ['player_game_summary', 'team_offense_game_summary', 'team_defense_game_summary', 'player_rolling_features', 'player_points_predictions'];

/** The shipped processors, each transform counting its runs per slice. */
function countingRegistry(): { registry: Registry; runs: Map<string, number> } {
  const runs = new Map<string, number>();
  const defs = PROCESSORS.map((def): ProcessorDef => {
    if (def.kind !== 'transform') return def;
    return {
      ...def,
      run: async (ctx: ProcessorContext) => {
        const k = `${def.name}/${ctx.slice}`;
        runs.set(k, (runs.get(k) ?? 0) + 1);
        return def.run(ctx);
      },
    };
  });
  return { registry: new Registry(defs), runs };
}

/** Settings for exact run counts: a look-back date never gives up waiting for its window. */
const ENV = { PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_GATHER_SECONDS: '30', PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS: '100000' };

async function number(rt: Runtime, sql: string): Promise<number> {
  const w = await rt.warehouse();
  const [row] = await w.query(sql);
  return Number(Object.values(row ?? {})[0]);
}

/** Nothing queued, running, staged or unacknowledged — twice, 300 ms apart. */
async function quiescent(rt: Runtime): Promise<void> {
  const busy = async () => {
    for (const q of rt.queues.all()) {
      const c = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      if (Object.values(c).some((n) => n > 0)) return true;
    }
    for (const def of rt.registry.transforms()) if ((await rt.gate.pendingCount(`${def.table.dataset}.${def.table.table}`)) > 0) return true;
    const groups = (await rt.redis.xinfo('GROUPS', rt.keys.events())) as unknown[][];
    for (const g of groups) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      if (Number(info.pending) > 0 || Number(info.lag) > 0) return true;
    }
    return false;
  };
  await until(
    async () => !(await busy()) && (await new Promise((r) => setTimeout(r, 300))) === undefined && !(await busy()),
    'the pipeline to go quiet',
    120_000,
    100,
  );
}

/** The Done-when checks of issue 4, in SQL. */
async function expectCompleteDownstream(rt: Runtime, dates: string[]): Promise<void> {
  const raw = 'nba_raw.nbac_player_boxscores';
  const pgs = 'nba_analytics.player_game_summary';
  // Every raw (player, game) with minutes > 0 has exactly one summary row, and nothing else does.
  expect(await number(rt, `SELECT count(*) FROM ${raw} WHERE seconds_played > 0`)).to.be.above(1000);
  expect(
    await number(
      rt,
      `SELECT count(*) FROM ${raw} r WHERE r.seconds_played > 0 AND (SELECT count(*) FROM ${pgs} p WHERE p.game_id = r.game_id AND p.player_id = r.player_id) <> 1`,
    ),
  ).to.equal(0);
  expect(
    await number(
      rt,
      `SELECT count(*) FROM ${pgs} p WHERE NOT EXISTS (SELECT 1 FROM ${raw} r WHERE r.game_id = p.game_id AND r.player_id = p.player_id AND r.seconds_played > 0)`,
    ),
  ).to.equal(0);
  // Every team-game has one row in each team summary.
  for (const t of ['nba_analytics.team_offense_game_summary', 'nba_analytics.team_defense_game_summary']) {
    expect(
      await number(
        rt,
        `SELECT count(*) FROM nba_raw.nbac_team_boxscore r WHERE (SELECT count(*) FROM ${t} s WHERE s.game_id = r.game_id AND s.team_id = r.team_id) <> 1`,
      ),
      t,
    ).to.equal(0);
    expect(await number(rt, `SELECT count(*) FROM ${t}`), t).to.equal(await number(rt, 'SELECT count(*) FROM nba_raw.nbac_team_boxscore'));
  }
  // Every player with a game has one Phase 4 row and one prediction for that date.
  for (const t of ['nba_precompute.player_rolling_features', 'nba_predictions.player_points_predictions']) {
    expect(
      await number(rt, `SELECT count(*) FROM ${pgs} p WHERE (SELECT count(*) FROM ${t} f WHERE f.game_date = p.game_date AND f.player_id = p.player_id) <> 1`),
      t,
    ).to.equal(0);
    expect(await number(rt, `SELECT count(*) FROM ${t}`), t).to.equal(await number(rt, `SELECT count(*) FROM ${pgs}`));
  }
  for (const t of [pgs, 'nba_precompute.player_rolling_features', 'nba_predictions.player_points_predictions']) {
    expect(await number(rt, `SELECT count(DISTINCT game_date) FROM ${t}`), t).to.equal(dates.length);
  }
}

function expectEachRanOnce(runs: Map<string, number>, dates: string[]): void {
  for (const p of DOWNSTREAM) for (const d of dates) expect(runs.get(`${p}/${d}`) ?? 0, `${p} ${d} runs`).to.equal(1);
}

describe('dependency tracker: a cascade backfill runs all five phases from completion events', function () {
  this.timeout(240_000);

  it('carries Phase 2 down to predictions for every date, each downstream slice once; recommit and duplicate delivery', async () => {
    const { registry, runs } = countingRegistry();
    const env: TestEnv = await openTestRuntime(ENV, { registry });
    try {
      const rt = env.rt;
      const dates = await rt.source.gameDates(START, END);
      await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 4 });
      expect(rt.trackers).to.have.length(1);

      const record = await startCascadingBackfill(rt, { processors: ROOTS.map((p) => rt.registry.get(p)), dates, cascade: true });
      const progress: CascadeProgress = await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 180_000 });
      expect(progress.done).to.equal(true);
      for (const p of [...ROOTS, ...DOWNSTREAM]) expect(progress.perProcessor[p]?.committed, p).to.equal(dates.length);
      for (const phase of [1, 2, 3, 4, 5] as const) expect(progress.perPhase[phase]?.failed, `phase ${phase}`).to.equal(0);
      await quiescent(rt);
      await expectCompleteDownstream(rt, dates);
      // A burst of events per date (two raw tables, three analytics tables) → one run each.
      expectEachRanOnce(runs, dates);

      // Features come from earlier games only: a player's first game of the season has none.
      expect(
        await number(rt, 'SELECT count(*) FROM nba_precompute.player_rolling_features WHERE games_played_season = 0 AND pts_avg_last5 IS NOT NULL'),
      ).to.equal(0);
      expect(
        await number(
          rt,
          `SELECT count(*) FROM nba_precompute.player_rolling_features f WHERE f.games_played_season <>
             (SELECT count(*) FROM nba_analytics.player_game_summary p WHERE p.player_id = f.player_id AND p.game_date < f.game_date)`,
        ),
      ).to.equal(0);

      // Duplicate delivery: handling every event again queues nothing and runs nothing.
      const before = new Map(runs);
      const entries = (await rt.redis.xrange(rt.keys.events(), '-', '+')) as [string, string[]][];
      // One event per committed slice of each table (log tables, if any commit, aside).
      const pipelineEvents = entries.filter(([, fields]) => [...ROOTS, ...DOWNSTREAM].includes(parseEventFields(fields).processor));
      expect(pipelineEvents.length).to.equal(dates.length * (2 + 3 + 1 + 1));
      const lookup = new BackfillLookup(rt);
      for (const [id, fields] of entries) {
        expect(await handleEvent(rt, parseEventFields(fields), id, lookup, { debounceMs: 0, windowWaitMs: 0 })).to.equal('done');
      }
      await quiescent(rt);
      expect(runs).to.deep.equal(before);

      // Recommit one date of Phase 2: its downstream work runs again once, and so do the later
      // Phase 4 dates whose window includes it (and their predictions); nothing else runs.
      const date = dates[dates.length - 4] as string;
      const later = dates.filter((d) => d > date);
      const again = await startCascadingBackfill(rt, {
        processors: ['nbac_player_boxscore', 'nbac_team_boxscore'].map((p) => rt.registry.get(p)),
        dates: [date],
        cascade: true,
      });
      expect((await waitForCascade(rt, again, { pollMs: 100, timeoutMs: 60_000 })).done).to.equal(true);
      await quiescent(rt);
      const delta = new Map<string, number>();
      for (const [k, n] of runs) if (n !== (before.get(k) ?? 0)) delta.set(k, n - (before.get(k) ?? 0));
      const expected = new Map<string, number>([
        [`nbac_player_boxscore/${date}`, 1],
        [`nbac_team_boxscore/${date}`, 1],
        [`player_game_summary/${date}`, 1],
        [`team_offense_game_summary/${date}`, 1],
        [`team_defense_game_summary/${date}`, 1],
        ...[date, ...later].flatMap((d) => [[`player_rolling_features/${d}`, 1] as const, [`player_points_predictions/${d}`, 1] as const]),
      ]);
      expect(Object.fromEntries(delta)).to.deep.equal(Object.fromEntries(expected));
      await expectCompleteDownstream(rt, dates);
      expect((await cascadeProgress(rt, record)).done).to.equal(true);
    } finally {
      await env.cleanup();
    }
  });
});
