/**
 * `--only-missing` resumes a stopped cascade from what the warehouse holds: the slices the
 * tables already have are not run again, and the downstream phases fill in every date.
 */
import { rm } from 'node:fs/promises';
import { expect } from 'chai';
import { PROCESSORS, Registry } from '../src/processors/registry.ts';
import type { ProcessorContext, ProcessorDef } from '../src/processors/types.ts';
import { onlyMissing, startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { PHASES } from '../src/queues/names.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { deleteKeys, openRuntimes, TEST_REDIS_URL, testConfig, until } from './helpers.ts';

const ROOTS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
const TABLES = [
  'nba_raw.nbac_player_boxscores',
  'nba_raw.nbac_team_boxscore',
  'nba_analytics.player_game_summary',
  'nba_analytics.team_offense_game_summary',
  'nba_analytics.team_defense_game_summary',
  'nba_precompute.player_rolling_features',
  'nba_predictions.player_points_predictions',
];

function countingRegistry(runs: Map<string, number>): Registry {
  const defs = PROCESSORS.map((def): ProcessorDef => {
    // Scrapers count too: --only-missing must not fetch files for dates the tables hold.
    const count = (slice: string) => runs.set(`${def.name}/${slice}`, (runs.get(`${def.name}/${slice}`) ?? 0) + 1);
    if (def.kind === 'scraper') {
      return {
        ...def,
        run: async (ctx: Parameters<typeof def.run>[0]) => {
          count(ctx.slice);
          return def.run(ctx);
        },
      };
    }
    return {
      ...def,
      run: async (ctx: ProcessorContext) => {
        count(ctx.slice);
        return def.run(ctx);
      },
    };
  });
  return new Registry(defs);
}

/** The dates of the fortnight a table holds (a table no commit has reached yet holds none). */
async function datesIn(rt: Runtime, table: string): Promise<string[]> {
  const w = await rt.warehouse();
  const def = rt.registry.writerOf(table);
  await w.ensureTable(def.table);
  return w.presentSlices(def.table, await rt.source.gameDates('2023-11-01', '2023-11-14'));
}

describe('--only-missing resumes a stopped cascade backfill from the warehouse', function () {
  this.timeout(240_000);

  it('skips the slices the tables hold and completes every phase for every date', async () => {
    const { config, dir } = await testConfig({
      PHASEGATE_TIME_SCALE: '100',
      PHASEGATE_COMMIT_GATHER_SECONDS: '10',
      PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS: '100000',
    });
    const open = async (runs: Map<string, number>) => {
      const rt = await openRuntime(config, { redisExplicit: true, registry: countingRegistry(runs) });
      openRuntimes.set(rt, 'test/downstream.test.ts');
      return rt;
    };
    const close = async (rt: Runtime) => {
      openRuntimes.delete(rt);
      await rt.close();
    };
    let rt: Runtime | undefined;
    try {
      // First run: stopped once Phase 3 has landed for a few dates.
      const firstRuns = new Map<string, number>();
      rt = await open(firstRuns);
      const first = rt;
      const dates = await first.source.gameDates('2023-11-01', '2023-11-14');
      await first.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
      // The stopped backfill had reached the first week when it was stopped.
      await startCascadingBackfill(first, { processors: ROOTS.map((p) => first.registry.get(p)), dates: dates.slice(0, 6), cascade: true });
      const landed = async (p: string) => (await first.statuses.getMany(p, dates)).filter((s) => s?.status === 'committed').length;
      await until(async () => (await landed('player_game_summary')) >= 2, 'phase 3 to land for a few dates');
      await close(first);
      rt = undefined;

      // The operator stops the backfill: its queued jobs are dropped.
      const secondRuns = new Map<string, number>();
      rt = await open(secondRuns);
      const second = rt;
      for (const phase of PHASES) await second.queues.phase(phase).obliterate({ force: true });
      for (const def of second.registry.transforms()) await second.queues.commit(`${def.table.dataset}.${def.table.table}`).obliterate({ force: true });
      const heldPlayer = await datesIn(second, 'nba_raw.nbac_player_boxscores');
      const heldTeam = await datesIn(second, 'nba_raw.nbac_team_boxscore');
      expect(heldPlayer.length, 'dates the first run landed').to.be.within(1, dates.length - 1);

      const req = await onlyMissing(second, { processors: ROOTS.map((p) => second.registry.get(p)), dates, cascade: true });
      expect(req.only?.nbac_player_boxscore).to.deep.equal(dates.filter((d) => !heldPlayer.includes(d)));
      expect(req.only?.nbac_team_boxscore).to.deep.equal(dates.filter((d) => !heldTeam.includes(d)));
      // Dates whose inputs are all held but whose own table is not: started directly.
      expect(Object.keys(req.startDownstream ?? {})).to.not.be.empty;
      // Resumed with workers: everything ends up committed, for every date and phase.
      await second.startWorkers({ phases: PHASES, commit: true, concurrency: 4 });
      const record = await startCascadingBackfill(second, req);
      const progress = await waitForCascade(second, record, { pollMs: 100, timeoutMs: 180_000 });
      expect(progress.done, JSON.stringify(progress.perPhase)).to.equal(true);
      await until(
        async () => (await datesIn(second, 'nba_predictions.player_points_predictions')).length === dates.length,
        'predictions for every date',
        60_000,
      );
      for (const t of TABLES) expect(await datesIn(second, t), t).to.deep.equal(dates);

      // Nothing the warehouse already held was fetched or loaded again.
      for (const d of heldPlayer) {
        expect(secondRuns.get(`nbac_player_boxscore/${d}`) ?? 0, `nbac_player_boxscore ${d}`).to.equal(0);
        if (heldTeam.includes(d)) expect(secondRuns.get(`nbac_player_boxscore_scraper/${d}`) ?? 0, `scraper ${d}`).to.equal(0);
      }
      for (const d of dates.filter((x) => !heldPlayer.includes(x))) expect(secondRuns.get(`nbac_player_boxscore/${d}`), `resumed ${d}`).to.equal(1);
      const w = await second.warehouse();
      const [dups] = await w.query('SELECT count(*) - count(DISTINCT (game_id, player_id)) AS d FROM nba_analytics.player_game_summary');
      expect(Number(dups?.d)).to.equal(0);
    } finally {
      if (rt) await close(rt);
      await deleteKeys(TEST_REDIS_URL, `${config.prefix}:*`);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
