/**
 * The player lines that cannot be real, refused at staging on real queues, Redis and DuckDB:
 * one test per fatal rule of the player tables. Each damaged date fails at once naming the file,
 * the row and the rule; an SQL snapshot of the table before and after shows nothing committed
 * changed; the other date of the same backfill lands.
 */
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { PLAYER_BOXSCORE_PREFIX } from '../src/processors/nbac/boxscore-scrapers.ts';
import { startBackfill } from '../src/queues/backfill/backfill.ts';
import type { SliceStatus } from '../src/queues/status-store.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

const PLAYERS = 'nba_raw.nbac_player_boxscores';
const PROCESSOR = 'nbac_player_boxscore';

type V2 = { resultSets: { name: string; headers: string[]; rowSet: unknown[][] }[] };

describe('integrity: player lines that cannot be real are refused', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let dates: string[];

  const rt = () => env.rt;
  const snapshot = async () => (await rt().warehouse()).query(`SELECT * EXCLUDE (processed_at) FROM ${PLAYERS} ORDER BY game_id, player_id`);
  const status = async (date: string) => (await rt().statuses.get(PROCESSOR, date)) as SliceStatus;

  async function phase2(slices: string[]): Promise<void> {
    const record = await startBackfill(rt(), { processors: [rt().registry.get(PROCESSOR)], dates: slices });
    const { progress } = await waitForBackfill(rt(), record, { bars: false, pollMs: 50, timeoutMs: 90_000 });
    expect(progress.done, 'backfill finished').to.equal(true);
  }

  /** Edits a date's first player file, runs the date with a good one, and puts the file back. */
  async function refused(
    bad: string,
    good: string,
    edit: (players: { headers: string[]; rowSet: unknown[][] }) => string,
  ): Promise<{ error: string; key: string; row: string }> {
    const key = (await rt().store.list(PLAYER_BOXSCORE_PREFIX(bad)))[0] as string;
    const original = (await rt().store.get(key)) as Buffer;
    const doc = JSON.parse(original.toString()) as V2;
    const players = doc.resultSets.find((r) => r.name === 'PlayerStats');
    if (!players) throw new Error('no PlayerStats');
    const row = edit(players);
    await rt().store.put(key, JSON.stringify(doc));
    const before = await snapshot();
    try {
      await phase2([bad, good]);
      const s = await status(bad);
      expect(s.status).to.equal('failed');
      expect(s.attempts, 'no retries: the input is wrong').to.equal(1);
      expect((await status(good)).status).to.equal('committed');
      expect(await snapshot()).to.deep.equal(before);
      return { error: s.error ?? '', key, row };
    } finally {
      await rt().store.put(key, original);
    }
  }

  /** The first line of a player who played, and a cell reader/writer for it. */
  function playedLine(players: { headers: string[]; rowSet: unknown[][] }) {
    const col = (h: string) => players.headers.indexOf(h);
    const line = players.rowSet.find((r) => typeof r[col('MIN')] === 'string' && r[col('MIN')] !== '') as unknown[];
    return { line, col, key: `game_id=${line[col('GAME_ID')]}, player_id=${line[col('PLAYER_ID')]}` };
  }

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '400', PHASEGATE_COMMIT_GATHER_SECONDS: '20' });
    dates = (await env.rt.source.gameDates('2023-11-01', '2023-11-08')).slice(0, 4);
    await env.rt.startWorkers({ phases: [1, 2], commit: true, concurrency: 3 });
    const seed = await startBackfill(env.rt, { processors: [env.rt.registry.get('nbac_player_boxscore_scraper'), env.rt.registry.get(PROCESSOR)], dates });
    const { progress } = await waitForBackfill(env.rt, seed, { bars: false, pollMs: 50, timeoutMs: 90_000 });
    expect(progress.perProcessor[PROCESSOR]).to.include({ committed: dates.length });
  });
  after(async () => env.cleanup());

  it('a player with minutes whose points are null is refused (null is for players who sat), and his committed points stay', async () => {
    const [bad, good] = dates as [string, string];
    const { error, key, row } = await refused(bad, good, (players) => {
      const { line, col, key } = playedLine(players);
      line[col('PTS')] = null;
      return key;
    });
    expect(error).to.include(key);
    expect(error).to.include(`row (${row}) breaks rule played_stats_known: seconds_played`);
    expect(error).to.match(/with pts null/);
  });

  it('the same player line copied under a second PLAYER_ID on the same team is refused', async () => {
    const [, bad, good] = dates as [string, string, string];
    const { error, key } = await refused(bad, good, (players) => {
      const { line, col } = playedLine(players);
      const copy = [...line];
      copy[col('PLAYER_ID')] = Number(line[col('PLAYER_ID')]) + 1_000_000_000;
      players.rowSet.push(copy);
      return '';
    });
    expect(error).to.include(key);
    expect(error).to.match(/row \(game_id=\d{10}, player_id=\d+\) breaks rule one_id_per_player_name: player_name "[^"]+" under player_id \d+ and \d+/);
  });

  it("a player's minutes above the game's length (48 + 5 per overtime, from the team's minutes) are refused", async () => {
    const [, , bad, good] = dates as [string, string, string, string];
    const { error, key, row } = await refused(bad, good, (players) => {
      const { line, col, key } = playedLine(players);
      line[col('MIN')] = '70:00';
      return key;
    });
    expect(error).to.include(key);
    expect(error).to.include(`row (${row}) breaks rule minutes_le_game_length: seconds_played 4200 > `);
  });
});
