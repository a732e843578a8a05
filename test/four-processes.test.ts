/**
 * Issue 21, point 3: several processes, any order. A full season's cascade (the 2023-24
 * regular season, 160 game dates) runs in four processes, started in the
 * worst order — the phase 3–5 worker first, then the phase 1–2 worker, then the backfill
 * command, and only then the process with the table gates, which holds the DuckDB file — and
 * every table ends holding exactly the rows of the same cascade run in one process.
 * Until the gates start nothing may open the file (a phase worker that did would take it from
 * them), and the phase 3–5 reads of a season's rolling-window history come through the gate
 * process's read relay, in parts.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { defaultRegistry } from '../src/runtime.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { deleteKeys, runCli, spawnCli, TEST_REDIS_URL, until } from './helpers.ts';
import { differences, snapshot } from './table-snapshots.ts';

const FIRST = '2023-10-24';
const LAST = '2024-04-14';
const SCRAPERS = 'nbac_player_boxscore_scraper,nbac_team_boxscore_scraper';
const TABLES = [
  'nba_raw.nbac_player_boxscores',
  'nba_raw.nbac_team_boxscore',
  'nba_analytics.player_game_summary',
  'nba_analytics.team_offense_game_summary',
  'nba_analytics.team_defense_game_summary',
  'nba_precompute.player_rolling_features',
  'nba_predictions.player_points_predictions',
];

interface Summary {
  done: boolean;
  perProcessor: Record<string, { committed: number; failed: number; upstream_failed: number; pending: number }>;
}

describe('a full-season cascade in four processes started in any order (issue 21, point 3)', function () {
  this.timeout(600_000);
  const run = Date.now().toString(36);
  const prefixes = { one: `test-one-${run}`, four: `test-four-${run}` };
  const children: ChildProcess[] = [];
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-four-'));
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => once(c, 'exit')));
    for (const p of Object.values(prefixes)) await deleteKeys(TEST_REDIS_URL, `${p}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  const env = (who: keyof typeof prefixes) => ({
    REDIS_URL: TEST_REDIS_URL,
    PHASEGATE_PREFIX: prefixes[who],
    PHASEGATE_DATA_DIR: path.join(dir, who),
    PHASEGATE_TIME_SCALE: '200',
    PHASEGATE_LOG_LEVEL: 'warn',
    // A late date's rolling-window read (its players' season so far) is several MiB: with a
    // 1 MiB bound it can only come through the relay in parts, as any read past the bound would.
    PHASEGATE_READ_RELAY_MAX_BYTES: String(1024 * 1024),
  });

  /** `phasegate worker ARGS` in its own process; its stderr kept for the failure message. */
  const worker = (args: string[]) => {
    const { proc: child, out: log } = spawnCli(['worker', ...args], { ...env('four'), PHASEGATE_LOG_LEVEL: 'info' });
    children.push(child);
    return { child, log };
  };
  const backfill = (who: keyof typeof prefixes, extra: string[]) =>
    runCli(['backfill', '--processors', SCRAPERS, '--start', FIRST, '--end', LAST, '--cascade', '--json', ...extra], env(who));
  const ended = (r: { code: number; stdout: string; stderr: string }, who: string) => {
    expect(r.code, `${who}: ${r.stderr.slice(-2000)}`).to.equal(0);
    // The line naming the run, then its summary as JSON (then the cascade's phases).
    const summary = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}') as Summary;
    expect(summary.done, who).to.equal(true);
    for (const [p, c] of Object.entries(summary.perProcessor)) {
      expect({ failed: c.failed, upstream_failed: c.upstream_failed, pending: c.pending }, `${who}: ${p}`).to.deep.equal({
        failed: 0,
        upstream_failed: 0,
        pending: 0,
      });
      expect(c.committed, `${who}: ${p}`).to.be.above(0);
    }
    return summary;
  };

  it('lands exactly the rows of the same cascade run in one process', async () => {
    const file = path.join(dir, 'four', 'warehouse.duckdb');
    const t0 = Date.now();
    // The reference: the same cascade, one process with its own workers, alongside.
    const reference = backfill('one', ['--workers', '4']);

    // 1. Phases 3–5 first, then phases 1–2: neither opens the DuckDB file.
    const phases35 = worker(['--phases', '3,4,5', '--concurrency', '2']);
    await until(async () => phases35.log.stderr.includes('worker running') || phases35.child.exitCode !== null, 'the phase 3–5 worker to start', 60_000);
    const phases12 = worker(['--phases', '1,2', '--concurrency', '4']);
    await until(async () => phases12.log.stderr.includes('worker running') || phases12.child.exitCode !== null, 'the phase 1–2 worker to start', 60_000);
    expect(phases35.child.exitCode, phases35.log.stderr).to.equal(null);
    expect(phases12.child.exitCode, phases12.log.stderr).to.equal(null);
    // 2. The backfill command, with no workers of its own: scrapes and raw loads run and stage.
    const four = backfill('four', ['--wait']);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(existsSync(file), 'no process has opened the DuckDB file before the gates start').to.equal(false);
    // 3. Last, the table gates: they take the file and serve the others' reads.
    const gates = worker(['--phases', 'commit']);

    const [one, many] = await Promise.all([reference, four]);
    const tBoth = Date.now() - t0;
    const mine = ended(many, 'four processes');
    const theirs = ended(one, 'one process');
    expect(mine.perProcessor).to.deep.equal(theirs.perProcessor);
    for (const w of [phases35, phases12, gates]) {
      expect(w.child.exitCode, w.log.stderr.slice(-2000)).to.equal(null);
      w.child.kill('SIGTERM');
    }
    for (const w of [phases35, phases12, gates]) if (w.child.exitCode === null) await once(w.child, 'exit');
    for (const w of [phases35, phases12]) expect(w.log.stderr, 'a phase worker never meets the file lock').to.not.match(/Conflicting lock|could not set lock/i);

    const registry = defaultRegistry();
    const open = (who: keyof typeof prefixes) =>
      DuckDBWarehouse.open({ path: path.join(dir, who, 'warehouse.duckdb'), store: new LocalObjectStore(path.join(dir, who)), readOnly: true });
    const [a, b] = [await open('four'), await open('one')];
    try {
      const diffs: string[] = [];
      const counts: string[] = [];
      for (const table of TABLES) {
        const spec = registry.tableSpec(table);
        const got = await snapshot(a, spec);
        const want = await snapshot(b, spec);
        expect(want.length, `${table} rows in the one-process run`).to.be.above(0);
        counts.push(`${table} ${got.length}`);
        diffs.push(...differences(table, got, want));
      }
      expect(diffs.slice(0, 20), `${diffs.length} differences`).to.deep.equal([]);
      console.log(`      both runs ended in ${Math.round(tBoth / 1000)} s; rows: ${counts.join(', ')}`);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
