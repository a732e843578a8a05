/**
 * Commit-time integrity on real queues, real Redis and DuckDB behind the BigQuery rules: one
 * test per class of imperfect input. Each damaged slice ends in its named status with a message
 * naming the file, key or rule; an SQL snapshot of the whole table before and after shows that
 * no committed row changed, vanished or moved; the good dates of the same backfill commit.
 */
import { expect } from 'chai';
import { waitForBackfill } from '../src/cli/progress.ts';
import { PLAYER_BOXSCORE_PREFIX } from '../src/processors/nbac/boxscore-scrapers.ts';
import type { Row } from '../src/processors/types.ts';
import { type BackfillRecord, startBackfill } from '../src/queues/backfill/backfill.ts';
import { stageRows } from '../src/queues/commit/staging.ts';
import { phaseJobId } from '../src/queues/names.ts';
import type { SliceStatus } from '../src/queues/status-store.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

const PLAYERS = 'nba_raw.nbac_player_boxscores';
const PROCESSOR = 'nbac_player_boxscore';

type V2 = { resultSets: { name: string; headers: string[]; rowSet: unknown[][] }[] };

describe('integrity: a committed row is never lost or moved by imperfect input', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let dates: string[];

  const rt = () => env.rt;
  const warehouse = () => env.rt.warehouse();
  /** Every row but the time it was processed (a good date re-committed gets a new one). */
  const snapshot = async () => (await warehouse()).query(`SELECT * EXCLUDE (processed_at) FROM ${PLAYERS} ORDER BY game_id, player_id`);
  /** One date's rows exactly as committed, processed_at included. */
  const rowsOf = async (date: string) => (await warehouse()).query(`SELECT * FROM ${PLAYERS} WHERE game_date = $d ORDER BY game_id, player_id`, { d: date });
  const status = async (date: string, processor = PROCESSOR) => (await rt().statuses.get(processor, date)) as SliceStatus;
  const files = (date: string) => rt().store.list(PLAYER_BOXSCORE_PREFIX(date));
  /** The query jobs the commit path ran besides its statements (the rules layer counts them as BigQuery would bill them). */
  const checkJobs = async () => {
    const w = await warehouse();
    if (!(w instanceof BigQueryRulesWarehouse)) throw new Error('the embedded default is DuckDB behind the BigQuery rules');
    return w.record().tables[PLAYERS]?.checkJobs ?? 0;
  };

  async function phase2(slices: string[], opts: { allowShrink?: boolean; allowMove?: boolean } = {}): Promise<BackfillRecord> {
    const record = await startBackfill(rt(), { processors: [rt().registry.get(PROCESSOR)], dates: slices, ...opts });
    const { progress } = await waitForBackfill(rt(), record, { bars: false, pollMs: 50, timeoutMs: 90_000 });
    expect(progress.done, 'backfill finished').to.equal(true);
    return record;
  }

  async function editDoc(key: string, edit: (doc: V2) => void): Promise<void> {
    const doc = JSON.parse(((await rt().store.get(key)) as Buffer).toString()) as V2;
    edit(doc);
    await rt().store.put(key, JSON.stringify(doc));
  }
  const cell = (doc: V2, name: string, row: number, column: string): { line: unknown[]; i: number } => {
    const rs = doc.resultSets.find((r) => r.name === name);
    if (!rs) throw new Error(`no result set ${name}`);
    return { line: rs.rowSet[row] as unknown[], i: rs.headers.indexOf(column) };
  };
  const set = (doc: V2, name: string, row: number, column: string, value: unknown) => {
    const { line, i } = cell(doc, name, row, column);
    line[i] = value;
  };
  const get = (doc: V2, name: string, row: number, column: string) => {
    const { line, i } = cell(doc, name, row, column);
    return line[i];
  };

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '400', PHASEGATE_COMMIT_GATHER_SECONDS: '20' });
    dates = (await env.rt.source.gameDates('2023-11-01', '2023-11-08')).slice(0, 6);
    await env.rt.startWorkers({ phases: [1, 2], commit: true, concurrency: 3 });
    const seed = await startBackfill(env.rt, { processors: [env.rt.registry.get('nbac_player_boxscore_scraper'), env.rt.registry.get(PROCESSOR)], dates });
    const { progress } = await waitForBackfill(env.rt, seed, { bars: false, pollMs: 50, timeoutMs: 90_000 });
    expect(progress.perProcessor[PROCESSOR]).to.include({ committed: dates.length });
  });
  after(async () => env.cleanup());

  it('a new date missing one game commits the games it has and says incomplete, naming the missing game', async () => {
    const fresh = (await rt().source.gameDates('2023-11-09', '2023-11-20'))[0] as string;
    expect(dates).to.not.include(fresh);
    const scrape = await startBackfill(rt(), { processors: [rt().registry.get('nbac_player_boxscore_scraper')], dates: [fresh] });
    await waitForBackfill(rt(), scrape, { bars: false, pollMs: 50, timeoutMs: 60_000 });
    const lost = (await files(fresh))[0] as string;
    await rt().store.delete(lost);
    await phase2([fresh]);
    const s = await status(fresh);
    const games = (await rt().source.games(fresh)).length;
    expect(s.status).to.equal('incomplete');
    expect(s.nothingLanded).to.equal(undefined);
    expect(s.missingGames).to.deep.equal([lost.split('/').pop()?.replace('.json', '')]);
    expect(s.error).to.equal(`committed ${games - 1} of ${games} scheduled games; missing ${s.missingGames?.[0]}`);
    const held = await (await warehouse()).query(`SELECT count(DISTINCT game_id) AS g FROM ${PLAYERS} WHERE game_date = $d`, { d: fresh });
    expect(held[0]?.g).to.equal(games - 1);
  });

  it('a date whose raw folder is empty stages nothing: incomplete, naming the games; its rows stay', async () => {
    const [bad, good] = dates as [string, string];
    for (const key of await files(bad)) await rt().store.delete(key);
    const before = await snapshot();
    const badRows = await rowsOf(bad);
    await phase2([bad, good]);
    const s = await status(bad);
    expect(s.status).to.equal('incomplete');
    expect(s.nothingLanded).to.equal(true);
    expect(s.error).to.match(/no input for any of the \d+ scheduled games \(\d{10}/);
    expect(s.missingGames?.length).to.equal((await rt().source.games(bad)).length);
    expect((await status(good)).status).to.equal('committed');
    expect(await rowsOf(bad)).to.deep.equal(badRows);
    expect(await snapshot()).to.deep.equal(before);
    // Restore the folder for the other tests.
    await rt().queues.phase(1).add('phase', { processor: 'nbac_player_boxscore_scraper', slice: bad, targets: [], cascade: false, origin: 'retry' });
    await until(async () => (await files(bad)).length === (await rt().source.games(bad)).length, 'scraper restored the folder');
  });

  it('a date that lost one game file stops as incomplete with both counts instead of shrinking; --allow-shrink lets it through, logged', async () => {
    const bad = dates[1] as string;
    const lost = (await files(bad))[0] as string;
    const body = (await rt().store.get(lost)) as Buffer;
    await rt().store.delete(lost);
    const before = await snapshot();
    const badRows = await rowsOf(bad);
    await phase2([bad, dates[2] as string]);
    const s = await status(bad);
    expect(s.status).to.equal('incomplete');
    expect(s.nothingLanded).to.equal(true);
    const games = (await rt().source.games(bad)).length;
    expect(s.error).to.match(new RegExp(`would shrink: staged ${games - 1} games \\(\\d+ rows\\), the warehouse holds ${games} games`));
    expect(s.missingGames).to.deep.equal([lost.split('/').pop()?.replace('.json', '')]);
    expect((await status(dates[2] as string)).status).to.equal('committed');
    expect(await rowsOf(bad)).to.deep.equal(badRows);
    expect(await snapshot()).to.deep.equal(before);

    // With --allow-shrink the games it has land, it says incomplete (never plainly committed), and the run log has it.
    const allowed = await phase2([bad], { allowShrink: true });
    const after = await status(bad);
    expect(after.status).to.equal('incomplete');
    expect(after.nothingLanded).to.equal(undefined);
    expect(after.note).to.match(/allowed by --allow-shrink/);
    const w = await warehouse();
    const left = await w.query(`SELECT count(DISTINCT game_id) AS g FROM ${PLAYERS} WHERE game_date = $d`, { d: bad });
    expect(left[0]?.g).to.equal(games - 1);
    const logged = await until(async () => {
      const rows = await w.query(`SELECT notes FROM nba_orchestration.processing_run_log WHERE backfill_id = $b AND notes LIKE '%allow-shrink%'`, {
        b: allowed.id,
      });
      return rows.length > 0 && rows;
    }, 'the allowed shrink in the run log');
    expect(String(logged[0]?.notes)).to.match(/would shrink/);
    await rt().store.put(lost, body);
    await phase2([bad]);
    expect((await status(bad)).status).to.equal('committed');
  });

  it("a game's file under another date's folder fails that file naming both dates; nothing moves", async () => {
    const [home, wrong] = [dates[2] as string, dates[3] as string];
    const key = (await files(home))[0] as string;
    const game = key.split('/').pop()?.replace('.json', '') as string;
    const misplaced = `${PLAYER_BOXSCORE_PREFIX(wrong)}${game}.json`;
    await rt().store.put(misplaced, (await rt().store.get(key)) as Buffer);
    const before = await snapshot();
    await phase2([wrong, dates[4] as string]);
    const s = await status(wrong);
    expect(s.status).to.equal('failed');
    expect(s.error).to.include(misplaced);
    expect(s.error).to.include(`game ${game} is scheduled on ${home}, but its file is under ${wrong}`);
    expect(s.attempts).to.equal(1);
    expect((await status(dates[4] as string)).status).to.equal('committed');
    expect(await snapshot()).to.deep.equal(before);
    await rt().store.delete(misplaced);
  });

  it('the gate refuses to move a key the warehouse holds under another date, and the rest of the batch lands', async () => {
    const [home, other, good] = [dates[3] as string, dates[4] as string, dates[5] as string];
    const def = rt().registry.get(PROCESSOR);
    if (def.kind !== 'transform') throw new Error('not a transform');
    const before = await snapshot();
    // The rows of one game of `home`, re-dated to `other`, staged with other's own rows: what
    // a file the schedule cannot place (a game it does not know) would bring.
    const homeRows = (await rowsOf(home)).map((r) => ({ ...r }));
    const game = homeRows[0]?.game_id;
    const moved = homeRows.filter((r) => r.game_id === game).map((r) => ({ ...r, game_date: other }));
    const keep = (await rowsOf(other)).map((r) => ({ ...r }));
    const staged = (rows: Row[]) => rows.map((r) => ({ ...r, processed_at: new Date(String(r.processed_at)).toISOString() }));
    const goodBatch = (await status(good)).batchId;
    const checks = await checkJobs();
    await stageRows(rt(), def, other, staged([...keep, ...moved]), undefined);
    await stageRows(rt(), def, good, staged((await rowsOf(good)).map((r) => ({ ...r }))), undefined);
    await until(async () => (await status(other)).status === 'failed' && (await status(good)).batchId !== goodBatch, 'the batch is judged');
    expect((await status(good)).status).to.equal('committed');
    const s = await status(other);
    expect(s.error).to.include(`would move game_id ${game} (held under ${home}) to ${other}`);
    expect(s.error).to.include('--allow-move');
    expect(await snapshot()).to.deep.equal(before);
    // The statement's own guard found the move (no read before it); the gate read the holdings
    // once, after the guard tripped, to judge each slice. A clean batch reads nothing.
    expect((await checkJobs()) - checks).to.equal(1);
    const clean = await checkJobs();
    const landed = (await status(good)).batchId;
    await phase2([good]);
    expect((await status(good)).batchId, 'a new commit of the clean date').not.to.equal(landed);
    expect(await checkJobs()).to.equal(clean);
  });

  it('two lines with the same key in one file fail the job at once naming the file and the key', async () => {
    const bad = dates[4] as string;
    const key = (await files(bad))[0] as string;
    let player = '';
    await editDoc(key, (doc) => {
      const rs = doc.resultSets.find((r) => r.name === 'PlayerStats');
      const first = rs?.rowSet[0] as unknown[];
      rs?.rowSet.push([...first]);
      player = String(get(doc, 'PlayerStats', 0, 'PLAYER_ID'));
    });
    const before = await snapshot();
    await phase2([bad, dates[5] as string]);
    const s = await status(bad);
    expect(s.status).to.equal('failed');
    expect(s.attempts).to.equal(1);
    expect(s.error).to.match(
      new RegExp(`primary key \\(game_id=\\d{10}, player_id=${player}\\) appears twice in slice ${bad} \\(${key.replaceAll('/', '\\/')}\\)`),
    );
    const job = await rt().queues.phase(2).getJob(phaseJobId(PROCESSOR, bad));
    expect(job?.attemptsMade).to.equal(1);
    expect((await status(dates[5] as string)).status).to.equal('committed');
    expect(await snapshot()).to.deep.equal(before);
    await editDoc(key, (doc) => {
      doc.resultSets.find((r) => r.name === 'PlayerStats')?.rowSet.pop();
    });
  });

  it('a fatal rule (FGM > FGA) fails the file naming the row and rule; a warn rule keeps the row and records the issue', async () => {
    const bad = dates[5] as string;
    const key = (await files(bad))[0] as string;
    let restore: (doc: V2) => void = () => undefined;
    await editDoc(key, (doc) => {
      const count = doc.resultSets.find((r) => r.name === 'PlayerStats')?.rowSet.length ?? 0;
      const row = Array.from({ length: count }, (_, i) => i).find((i) => typeof get(doc, 'PlayerStats', i, 'FGA') === 'number') ?? 0;
      const fga = get(doc, 'PlayerStats', row, 'FGA') as number;
      const fgm = get(doc, 'PlayerStats', row, 'FGM');
      set(doc, 'PlayerStats', row, 'FGM', fga + 1);
      restore = (d) => set(d, 'PlayerStats', row, 'FGM', fgm);
    });
    const before = await snapshot();
    await phase2([bad, dates[0] as string]);
    const s = await status(bad);
    expect(s.status).to.equal('failed');
    expect(s.error).to.include(key);
    expect(s.error).to.match(/breaks rule fgm_le_fga: fgm \d+ > fga \d+/);
    expect((await status(dates[0] as string)).status).to.equal('committed');
    expect(await snapshot()).to.deep.equal(before);
    await editDoc(key, restore);

    // Warn: the team's turnovers no longer equal its players' (v2 TeamStats has carried team turnovers).
    await editDoc(key, (doc) => set(doc, 'TeamStats', 0, 'TO', (get(doc, 'TeamStats', 0, 'TO') as number) + 1));
    await phase2([bad]);
    const w = await status(bad);
    expect(w.status).to.equal('committed');
    expect(w.warnings).to.be.above(0);
    const flagged = await (await warehouse()).query(`SELECT quality_issues FROM ${PLAYERS} WHERE game_date = $d AND quality_issues IS NOT NULL`, { d: bad });
    expect(flagged.length).to.equal(w.warnings);
    const issue = JSON.parse(String(flagged[0]?.quality_issues)) as { rule: string; level: string; detail: string }[];
    expect(issue[0]).to.include({ rule: 'team_totals_eq_players', level: 'warn' });
    expect(issue[0]?.detail).to.match(/tov team \d+, players \d+/);
  });

  it('a date with no scheduled games and no files ends empty and stages nothing', async () => {
    const offDay = '2023-07-20';
    expect(await rt().source.covers(offDay)).to.equal(true);
    const before = await snapshot();
    const record = await startBackfill(rt(), {
      processors: [rt().registry.get('nbac_player_boxscore_scraper'), rt().registry.get(PROCESSOR)],
      dates: [offDay],
    });
    await waitForBackfill(rt(), record, { bars: false, pollMs: 50, timeoutMs: 60_000 });
    expect((await status(offDay, 'nbac_player_boxscore_scraper')).status).to.equal('empty');
    const s = await status(offDay);
    expect(s.status).to.equal('empty');
    expect(s.error).to.equal('no games scheduled and no input; nothing staged');
    expect(await rt().gate.pendingCount(PLAYERS)).to.equal(0);
    expect(await snapshot()).to.deep.equal(before);
  });

  it('a date the schedule does not cover takes the files present as its expectation: they commit, saying "no schedule"', async () => {
    const beyond = '2027-01-12';
    expect(await rt().source.covers(beyond)).to.equal(false);
    // A real file re-labelled as a 2026-27 game the schedule does not know.
    const source = (await files(dates[0] as string))[0] as string;
    const doc = JSON.parse(((await rt().store.get(source)) as Buffer).toString()) as V2;
    const oldId = String(get(doc, 'PlayerStats', 0, 'GAME_ID'));
    const newId = '0022600001';
    for (const rs of doc.resultSets) {
      const i = rs.headers.indexOf('GAME_ID');
      for (const r of rs.rowSet) if (i >= 0 && r[i] === oldId) r[i] = newId;
    }
    await rt().store.put(`${PLAYER_BOXSCORE_PREFIX(beyond)}${newId}.json`, JSON.stringify(doc));
    const empty = '2027-01-13';
    await phase2([beyond, empty]);
    const s = await status(beyond);
    expect(s.status).to.equal('committed');
    expect(s.note).to.match(/no schedule/);
    expect(s.expectedGames).to.equal(null);
    const rows = await rowsOf(beyond);
    expect(rows.length).to.be.above(0);
    expect(new Set(rows.map((r) => r.game_id))).to.deep.equal(new Set([newId]));
    const e = await status(empty);
    expect(e.status).to.equal('empty');
    expect(e.error).to.match(/no schedule for this date and no input/);
  });
});
