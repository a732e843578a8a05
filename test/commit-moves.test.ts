/**
 * The group commit reads and writes only its batch's partitions (src/warehouse/bigquery/sql.ts,
 * mergeStatement). An allowed move (`--allow-move`) is the one case where a key sits in a
 * partition outside the batch: the gate finds where from (its unit-holdings read) and the
 * statement deletes the moved game there, so the game ends up under its new date only — no
 * duplicate keys, nothing else in the old partition touched. Real queues, Redis and DuckDB.
 */
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import { batchMoves } from '../src/queues/commit/integrity.ts';
import { stageRows } from '../src/queues/commit/staging.ts';
import type { SliceStatus } from '../src/queues/status-store.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const PLAYERS = 'nba_raw.nbac_player_boxscores';
const PROCESSOR = 'nbac_player_boxscore';
const SCRAPER = 'nbac_player_boxscore_scraper';

describe('commit: an allowed move rewrites the old partition too, and only the moved game there', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let dates: string[];

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '400', PHASEGATE_COMMIT_GATHER_SECONDS: '20' });
    dates = (await env.rt.source.gameDates('2023-11-01', '2023-11-08')).slice(0, 2);
    await env.rt.startWorkers({ phases: [1, 2], commit: true, concurrency: 2 });
    const seed = await startBackfill(env.rt, { processors: [env.rt.registry.get(SCRAPER), env.rt.registry.get(PROCESSOR)], dates });
    const { progress } = await waitForBackfill(env.rt, seed, { bars: false, pollMs: 50, timeoutMs: 90_000 });
    expect(progress.perProcessor[PROCESSOR]).to.include({ committed: dates.length });
  });
  after(async () => env.cleanup());

  it('batchMoves merges the moves of the slices still in the batch', () => {
    const moves = new Map([
      ['2024-01-02', { from: ['2024-01-01'], units: ['g1'] }],
      ['2024-01-03', { from: ['2024-01-01', '2023-12-30'], units: ['g2', 'g3'] }],
    ]);
    expect(batchMoves(moves, ['2024-01-03', '2024-01-04'])).to.deep.equal({ moveFrom: ['2023-12-30', '2024-01-01'], moveUnits: ['g2', 'g3'] });
    expect(batchMoves(moves, ['2024-01-04'])).to.deep.equal({ moveFrom: [], moveUnits: [] });
  });

  it('a game re-dated with --allow-move lives under its new date only; the old date keeps its other games', async () => {
    const [home, other] = dates as [string, string];
    const w = await env.rt.warehouse();
    const count = async (where: string, params: Record<string, string>) =>
      Number((await w.query(`SELECT count(*) AS n FROM ${PLAYERS} WHERE ${where}`, params))[0]?.n ?? 0);
    const homeRows = await w.query(`SELECT * FROM ${PLAYERS} WHERE game_date = $d ORDER BY game_id, player_id`, { d: home });
    const game = String(homeRows[0]?.game_id);
    const before = {
      total: await count('TRUE', {}),
      homeOthers: await count('game_date = $d AND game_id <> $g', { d: home, g: game }),
      gameRows: await count('game_id = $g', { g: game }),
    };
    expect(before.homeOthers).to.be.above(0);

    // A backfill that allows moves, and the game's rows staged under `other` with other's own rows.
    const allow = await startBackfill(env.rt, { processors: [env.rt.registry.get(SCRAPER)], dates: [other], allowMove: true });
    await waitForBackfill(env.rt, allow, { bars: false, pollMs: 50, timeoutMs: 60_000 });
    const iso = (v: unknown) => new Date(String(v)).toISOString();
    const keep = (await w.query(`SELECT * FROM ${PLAYERS} WHERE game_date = $d`, { d: other })).map((r) => ({ ...r, processed_at: iso(r.processed_at) }));
    const moved = homeRows.filter((r) => r.game_id === game).map((r) => ({ ...r, game_date: other, processed_at: iso(r.processed_at) }));
    const def = env.rt.registry.get(PROCESSOR);
    if (def.kind !== 'transform') throw new Error('not a transform');
    const batchBefore = ((await env.rt.statuses.get(PROCESSOR, other)) as SliceStatus).batchId;
    await stageRows(env.rt, def, other, [...keep, ...moved], allow.id);
    await until(async () => {
      const s = (await env.rt.statuses.get(PROCESSOR, other)) as SliceStatus;
      return s.status === 'committed' && s.batchId !== batchBefore;
    }, 'the moving slice commits');

    expect(await count('game_id = $g AND game_date = $d', { g: game, d: home }), 'the game is gone from its old date').to.equal(0);
    expect(await count('game_id = $g AND game_date = $d', { g: game, d: other }), 'and lives under the new one').to.equal(before.gameRows);
    expect(await count('game_date = $d AND game_id <> $g', { d: home, g: game }), "the old date's other games are untouched").to.equal(before.homeOthers);
    expect(await count('TRUE', {}), 'no row duplicated or lost').to.equal(before.total);
    const [keys] = await w.query(`SELECT count(DISTINCT (game_id, player_id)) AS k FROM ${PLAYERS}`);
    expect(Number(keys?.k)).to.equal(before.total);
  });
});
