/**
 * Several processes, any order: a process running only phase work never takes the embedded
 * DuckDB file itself, even when it starts before the process running the table gates; its
 * phase 3–5 jobs read through that process's read relay once it serves, and the run ends.
 */
import { rm } from 'node:fs/promises';
import { expect } from 'chai';
import { backfillProgress } from '../src/queues/backfill/backfill.ts';
import { startCascadingBackfill } from '../src/queues/backfill/cascade.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { deleteKeys, openRuntimes, TEST_REDIS_URL, testConfig, until } from './helpers.ts';

describe('a phase-3–5 worker started before the commit worker', function () {
  this.timeout(90_000);
  const opened: Runtime[] = [];
  let cleanup: () => Promise<void> = async () => undefined;

  after(async () => {
    for (const rt of opened.reverse()) {
      openRuntimes.delete(rt);
      await rt.close();
    }
    await cleanup();
  });

  it('never opens the DuckDB file; its jobs read through the gate process, and every slice commits', async () => {
    const { config, dir } = await testConfig({ PHASEGATE_TIME_SCALE: '200', PHASEGATE_JOB_BACKOFF_SECONDS: '20' });
    cleanup = async () => {
      await deleteKeys(TEST_REDIS_URL, `${config.prefix}:*`);
      await rm(dir, { recursive: true, force: true });
    };
    const open = async () => {
      const rt = await openRuntime(config, { redisExplicit: true });
      openRuntimes.set(rt, 'test/phase-worker-first.test.ts');
      opened.push(rt);
      return rt;
    };
    // First: phases 3–5 only (as `phasegate worker --phases 3,4,5`).
    const phases = await open();
    await phases.startWorkers({ phases: [3, 4, 5], commit: false, concurrency: 2 });
    // Then: the gates, with phases 1–2 (as `phasegate worker --phases 1,2,commit`).
    const gates = await open();
    await gates.startWorkers({ phases: [1, 2], commit: true, concurrency: 2 });
    const dates = await gates.source.gameDates('2023-11-01', '2023-11-03');
    const scrapers = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper'].map((p) => gates.registry.get(p));
    const record = await startCascadingBackfill(gates, { processors: scrapers, dates, cascade: true });
    const progress = await until(
      async () => {
        const p = await backfillProgress(gates, record);
        return p.done && p;
      },
      'every slice of the cascade to end',
      60_000,
    );
    for (const p of ['player_game_summary', 'player_rolling_features', 'player_points_predictions'])
      expect(progress.perProcessor[p], p).to.include({ committed: dates.length });
    // The phase process never took the file: before, it opened it read-write and the gate process died on the lock.
    expect(phases.openedWarehouse()).to.equal(undefined);
    expect(gates.openedWarehouse()).to.not.equal(undefined);
  });
});
