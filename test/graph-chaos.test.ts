/**
 * A 40-date cascade with three failures in it — a malformed player box-score file on one date,
 * a malformed team box-score file on another, and a phase-3 processor that throws on a third —
 * ends as one graph: every slice the run reaches is terminal, each downstream slice of a
 * failure is upstream_failed naming it, the other 37 dates are committed in every phase and
 * the run's exit code is 1. With the files fixed and the processor healed, `--retry-failed`
 * with the failed-dates file leaves every table holding exactly the rows of a clean run.
 */
import { expect } from 'chai';
import { parseBackfillInput } from '../src/cli/backfill-input.ts';
import { waitForBackfill } from '../src/cli/progress.ts';
import { backfillExitCode, collectSummary, tableOpsNow } from '../src/cli/summary.ts';
import { InputError } from '../src/errors/input-error.ts';
import { PROCESSORS, Registry } from '../src/processors/registry.ts';
import { type ProcessorContext, type ProcessorDef, tableId } from '../src/processors/types.ts';
import { backfillProgress, startBackfill } from '../src/queues/backfill/backfill.ts';
import { startCascadingBackfill } from '../src/queues/backfill/cascade.ts';
import { readFailedFile } from '../src/queues/backfill/dates.ts';
import { PHASES } from '../src/queues/names.ts';
import type { BackfillRecord } from '../src/queues/runs/record.ts';
import type { SliceState, SliceStatus } from '../src/queues/status-store.ts';
import type { Runtime } from '../src/runtime.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';
import { differences, snapshot } from './table-snapshots.ts';

const SCRAPERS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper'];
const RAW = ['nbac_player_boxscore', 'nbac_team_boxscore'];
const DOWNSTREAM = ['player_game_summary', 'team_offense_game_summary', 'team_defense_game_summary', 'player_rolling_features', 'player_points_predictions'];
const REACHED = [...RAW, ...DOWNSTREAM];

/** 40 consecutive game dates: 2023-11-01 … 2023-12-15. */
const FIRST = '2023-11-01';
const LAST = '2023-12-15';
/** The malformed player box-score file's date. */
const BAD_PLAYER = '2023-11-10';
/** The malformed team box-score file's date. */
const BAD_TEAM = '2023-11-20';
/** The date player_game_summary throws on. */
const THROWS = '2023-12-01';
const MALFORMED = '{"resource": "boxscore", "resultSets": [';

/** The default processors, with player_game_summary throwing an InputError on THROWS while `breaks.on`. */
function breakingRegistry(breaks: { on: boolean }): Registry {
  const defs = PROCESSORS.map((def): ProcessorDef => {
    if (def.name !== 'player_game_summary' || def.kind !== 'transform') return def;
    return {
      ...def,
      run: async (ctx: ProcessorContext) => {
        if (breaks.on && ctx.slice === THROWS) throw new InputError(`player_game_summary: planted failure for ${THROWS}`);
        return def.run(ctx);
      },
    };
  });
  return new Registry(defs);
}

async function scrape(rt: Runtime, dates: string[]): Promise<void> {
  const record = await startBackfill(rt, { processors: SCRAPERS.map((p) => rt.registry.get(p)), dates });
  await until(async () => (await backfillProgress(rt, record)).done, 'the scrape', 30_000);
}

async function cascade(rt: Runtime, dates: string[]): Promise<BackfillRecord> {
  return startCascadingBackfill(rt, { processors: RAW.map((p) => rt.registry.get(p)), dates, cascade: true });
}

/** Until every slice the run reaches is terminal. */
async function ended(rt: Runtime, record: BackfillRecord, what: string, timeoutMs: number) {
  return until(
    async () => {
      const p = await backfillProgress(rt, record);
      return p.done && p;
    },
    what,
    timeoutMs,
    100,
  );
}

describe('graph chaos: a 40-date cascade with two bad raw files and a throwing phase-3 processor', function () {
  this.timeout(120_000);
  const breaks = { on: true };
  let chaos: TestEnv;
  let clean: TestEnv;
  let dates: string[];
  const originals = new Map<string, Buffer>();
  let failedFile: string | undefined;

  before(async () => {
    chaos = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200' }, { registry: breakingRegistry(breaks) });
    clean = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200' });
    dates = await chaos.rt.source.gameDates(FIRST, LAST);
  });
  after(async () => {
    await chaos?.cleanup();
    await clean?.cleanup();
  });

  it('ends every slice it reaches: each downstream slice of a failure upstream_failed naming it, the other 37 dates committed in every phase, exit code 1', async () => {
    const { rt } = chaos;
    expect(dates).to.have.length(40);
    expect(dates).to.include.members([BAD_PLAYER, BAD_TEAM, THROWS]);
    await rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    const t0 = Date.now();
    await scrape(rt, dates);
    const tScraped = Date.now();
    // One malformed file in each phase-2 table, on different dates; the originals are kept for the retry.
    const plant = async (prefix: string) => {
      const files = await rt.store.list(prefix);
      expect(files, prefix).to.not.be.empty;
      const file = files[0] as string;
      originals.set(file, (await rt.store.get(file)) as Buffer);
      await rt.store.put(file, MALFORMED);
      return file;
    };
    const badPlayerFile = await plant(`nba-com/player-boxscores/${BAD_PLAYER}/`);
    const badTeamFile = await plant(`nba-com/team-boxscore/${BAD_TEAM}/`);

    const opsBefore = await tableOpsNow(rt, { processors: RAW, cascade: true });
    const started = Date.now();
    const record = await cascade(rt, dates);
    const progress = await ended(rt, record, 'every slice of the chaos run to be terminal', 40_000);
    const tEnded = Date.now();

    // Each slice's state: the three failures, what each rules out downstream, committed elsewhere.
    const want = (p: string, d: string): { status: SliceState; upstream?: { processor: string; slice: string }; root?: string } => {
      if (p === 'nbac_player_boxscore' && d === BAD_PLAYER) return { status: 'failed' };
      if (p === 'nbac_team_boxscore' && d === BAD_TEAM) return { status: 'failed' };
      if (p === 'player_game_summary' && d === THROWS) return { status: 'failed' };
      const root = d === BAD_PLAYER ? 'nbac_player_boxscore' : d === BAD_TEAM ? 'nbac_team_boxscore' : d === THROWS ? 'player_game_summary' : undefined;
      if (!root) return { status: 'committed' };
      if (p === 'player_game_summary') return { status: 'upstream_failed', upstream: { processor: root, slice: d }, root };
      if (p === 'team_offense_game_summary' || p === 'team_defense_game_summary')
        return d === BAD_TEAM ? { status: 'upstream_failed', upstream: { processor: root, slice: d }, root } : { status: 'committed' };
      if (p === 'player_rolling_features') return { status: 'upstream_failed', upstream: { processor: 'player_game_summary', slice: d }, root };
      if (p === 'player_points_predictions') return { status: 'upstream_failed', upstream: { processor: 'player_rolling_features', slice: d }, root };
      return { status: 'committed' };
    };
    const statuses = new Map<string, (SliceStatus | undefined)[]>();
    for (const p of REACHED) statuses.set(p, await rt.statuses.getMany(p, dates));
    const seen: string[] = [];
    const expected: string[] = [];
    for (const p of REACHED)
      dates.forEach((d, i) => {
        const s = statuses.get(p)?.[i];
        const w = want(p, d);
        seen.push(`${p} ${d} ${s?.status}${s?.upstream ? ` ← ${s.upstream.processor} ${s.upstream.slice}` : ''}`);
        expected.push(`${p} ${d} ${w.status}${w.upstream ? ` ← ${w.upstream.processor} ${w.upstream.slice}` : ''}`);
      });
    expect(seen).to.deep.equal(expected);
    for (const p of REACHED)
      dates.forEach((d, i) => {
        const s = statuses.get(p)?.[i];
        const w = want(p, d);
        if (w.status !== 'upstream_failed') return;
        // It names the input that ruled it out and, in one step, the failure at the root.
        expect(s?.error, `${p} ${d}`).to.match(new RegExp(`^upstream ${w.upstream?.processor} ${d} (failed|upstream_failed, from ${w.root} ${d} failed)`));
        if (w.upstream?.processor !== w.root) expect(s?.error, `${p} ${d}`).to.include(`from ${w.root} ${d} failed: `);
      });
    expect(statuses.get('nbac_player_boxscore')?.[dates.indexOf(BAD_PLAYER)]?.error).to.include(badPlayerFile);
    expect(statuses.get('nbac_team_boxscore')?.[dates.indexOf(BAD_TEAM)]?.error).to.include(badTeamFile);
    expect(statuses.get('player_game_summary')?.[dates.indexOf(THROWS)]?.error).to.include(`planted failure for ${THROWS}`);
    // 37 dates committed in every phase the run reaches.
    const healthy = dates.filter((d) => ![BAD_PLAYER, BAD_TEAM, THROWS].includes(d));
    expect(healthy).to.have.length(37);
    for (const p of REACHED) expect(progress.perProcessor[p]?.committed, p).to.be.at.least(37);

    // The failed slices left no rows behind in the tables downstream of them.
    const w = await rt.warehouse();
    const datesOf = async (table: string) =>
      (await w.query(`SELECT DISTINCT CAST(game_date AS VARCHAR) AS d FROM ${table} ORDER BY 1`)).map((r) => String(r.d));
    expect(await datesOf('nba_analytics.player_game_summary')).to.deep.equal(healthy);
    expect(await datesOf('nba_predictions.player_points_predictions')).to.deep.equal(healthy);

    // The exit code the CLI gives this run: 1.
    const summary = await collectSummary(rt, record, { opsBefore, elapsedMs: Date.now() - started });
    expect(backfillExitCode(summary, false)).to.equal(1);
    expect(backfillExitCode(summary, true)).to.equal(1);
    const pgs = summary.processors.find((p) => p.processor === 'player_game_summary');
    expect(pgs).to.include({ committed: 37, failed: 3, upstreamFailed: 2, unfinished: 0 });

    // The failed-dates file `--wait` writes: the cascade and every failed or ruled-out slice.
    const outcome = await waitForBackfill(rt, record, { bars: false, pollMs: 100, timeoutMs: 10_000 });
    failedFile = outcome.failedFile;
    expect(failedFile).to.be.a('string');
    const file = await readFailedFile(failedFile as string);
    expect(file.cascade).to.equal(true);
    const listed = Object.fromEntries(Object.entries(file.processors).map(([p, ds]) => [p, [...ds].sort()]));
    const failedOf = (p: string) => dates.filter((d) => want(p, d).status !== 'committed');
    expect(listed).to.deep.equal(Object.fromEntries(REACHED.filter((p) => failedOf(p).length > 0).map((p) => [p, failedOf(p)])));
    console.log(`      chaos run: scrape ${tScraped - t0} ms, cascade to terminal ${tEnded - started} ms`);
  });

  it('--retry-failed, once the files are fixed and the processor heals, leaves every table holding exactly the rows of a clean run', async () => {
    expect(failedFile, 'the failed-dates file of the first test').to.be.a('string');
    const { rt } = chaos;
    // The clean run of the same 40 dates, in a runtime of its own (prefix, data dir, DuckDB file).
    const cleanRun = (async () => {
      const c = clean.rt;
      await c.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
      await scrape(c, dates);
      const record = await cascade(c, dates);
      const progress = await ended(c, record, 'the clean run to be terminal', 60_000);
      for (const p of REACHED) expect(progress.perProcessor[p], `clean ${p}`).to.include({ committed: 40 });
    })();

    for (const [file, bytes] of originals) await rt.store.put(file, bytes);
    breaks.on = false;
    const t0 = Date.now();
    const { request } = await parseBackfillInput({ registry: rt.registry, source: rt.source }, { retryFailed: failedFile });
    expect(request.cascade).to.equal(true);
    const record = await startCascadingBackfill(rt, request);
    const progress = await ended(rt, record, 'every slice of the retry to be terminal', 40_000);
    const tRetry = Date.now() - t0;
    // Every slice of the retry committed: its own, and the later dates of the season whose rolling
    // window holds a re-run player_game_summary date (refreshed, with their predictions).
    const refreshed = dates.filter((d) => d >= BAD_PLAYER).length;
    for (const p of Object.keys(request.only ?? {})) {
      const own = request.only?.[p]?.length ?? 0;
      const all = p === 'player_rolling_features' || p === 'player_points_predictions' ? refreshed : own;
      expect(progress.perProcessor[p], p).to.deep.include({ committed: all, failed: 0, upstream_failed: 0, pending: 0 });
    }
    const summary = await collectSummary(rt, record, { opsBefore: new Map(), elapsedMs: 0 });
    expect(backfillExitCode(summary, false)).to.equal(0);
    for (const p of REACHED) {
      const list = await rt.statuses.getMany(p, dates);
      expect(
        list.map((s) => s?.status),
        p,
      ).to.deep.equal(dates.map(() => 'committed'));
    }

    const t1 = Date.now();
    await cleanRun;
    const tClean = Date.now() - t1;
    const diffs: string[] = [];
    for (const p of REACHED) {
      const def = rt.registry.get(p);
      if (def.kind !== 'transform') continue;
      const mine = await snapshot(await rt.warehouse(), def.table);
      const theirs = await snapshot(await clean.rt.warehouse(), def.table);
      expect(theirs.length, `clean ${tableId(def.table)} rows`).to.be.greaterThan(0);
      diffs.push(...differences(tableId(def.table), mine, theirs));
    }
    expect(diffs.slice(0, 20), `${diffs.length} differences`).to.deep.equal([]);
    console.log(`      retry to terminal ${tRetry} ms; then waited ${tClean} ms more for the clean run`);
  });
});
