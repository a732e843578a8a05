/**
 * DuckDB's fatal error: a checkpoint that cannot write the file (a full disk; here the file
 * may not grow, RLIMIT_FSIZE set on this process with `prlimit`, so DuckDB's write fails with
 * EFBIG — no root needed) invalidates the database, and DuckDB answers every later statement
 * with the same error. Before, each of those became a permanent "invalid query": every commit
 * of the run failed its slices at once, with DuckDB's text. Now the commit is tried again on
 * the file opened anew, and lands once the file can grow; while it cannot, the slices fail
 * after their attempts saying what DuckDB could not write, and every committed row stays.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { WarehouseInvalidatedError } from '../src/errors/warehouse-invalidated-error.ts';
import { type TableSpec, tableId } from '../src/processors/types.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { PHASES } from '../src/queues/names.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { duckdbOf } from '../src/warehouse/duckdb/backend.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { CASCADE_DOWNSTREAM, CASCADE_ROOTS, expectExactCascade } from './exact-cascade.ts';
import { literal, openTestRuntime, type TestEnv, until } from './helpers.ts';
import { differences, type SnapshotRow, snapshot } from './table-snapshots.ts';

/** Sets this process's soft limit on the size of a file it writes; the hard limit stays. */
function limitFileSize(bytes: number | 'unlimited'): void {
  execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${bytes}:`]);
}

describe("DuckDB's fatal error: a checkpoint that cannot write the file", function () {
  this.timeout(240_000);
  let env: TestEnv;
  let file = '';
  let first: string[] = [];
  let second: string[] = [];
  const processors = [...CASCADE_ROOTS.slice(2), ...CASCADE_DOWNSTREAM];

  before(async () => {
    // A checkpoint after every commit: the first commit that makes the file grow meets the limit.
    env = await openTestRuntime({ PHASEGATE_DUCKDB_CHECKPOINT_THRESHOLD: '1KB', PHASEGATE_TIME_SCALE: '100', PHASEGATE_BQ_RULES: 'false' });
    file = env.config.duckdbPath;
    await env.rt.startWorkers({ phases: PHASES, commit: true, concurrency: 2 });
    first = await env.rt.source.gameDates('2023-11-01', '2023-11-05');
    second = await env.rt.source.gameDates('2023-11-06', '2023-11-10');
  });
  after(async () => {
    limitFileSize('unlimited');
    await env?.cleanup();
  });

  /** Every row of the cascade's tables, by table. */
  async function tables(): Promise<Map<string, SnapshotRow[]>> {
    const duck = duckdbOf(await env.rt.warehouse());
    if (!duck) throw new Error('expected the embedded DuckDB');
    const out = new Map<string, SnapshotRow[]>();
    for (const def of env.rt.registry.transforms().filter((d) => processors.includes(d.name))) out.set(tableId(def.table), await snapshot(duck, def.table));
    return out;
  }

  /** The first status of the slices that names `pattern` in its error, polled while the run goes on. */
  async function statusNaming(dates: readonly string[], pattern: RegExp): Promise<string> {
    return until(
      async () => {
        for (const p of processors)
          for (const s of await env.rt.statuses.getMany(p, dates)) if (s?.error && pattern.test(s.error)) return `${s.status}: ${s.error}`;
        return undefined;
      },
      `a slice naming ${pattern}`,
      120_000,
      25,
    );
  }

  it('the commit waits and is tried again on the file opened anew; once the file can grow, every slice lands exact', async () => {
    const { rt } = env;
    const roots = CASCADE_ROOTS.map((p) => rt.registry.get(p));
    await waitForCascade(rt, await startCascadingBackfill(rt, { processors: roots, dates: first, cascade: true }), { pollMs: 100, timeoutMs: 120_000 });
    const before = await tables();

    limitFileSize(statSync(file).size);
    const record = await startCascadingBackfill(rt, { processors: roots, dates: second, cascade: true });
    const seen = await statusNaming(second, /could not write/);
    limitFileSize('unlimited');
    // Waiting, not failed, and said in one line: the file, the refusal, what DuckDB did.
    expect(seen).to.match(new RegExp(`^waiting: .*DuckDB could not write ${literal(file)}: file too large \\(EFBIG\\); DuckDB invalidated the database$`));
    expect(seen).to.not.include('FATAL');

    const progress = await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 150_000 });
    await expectExactCascade(rt, [...first, ...second], progress);
    // The dates committed before the fault are as they were.
    const after = await tables();
    for (const [table, rows] of before) {
      const kept = (after.get(table) ?? []).filter((r) => first.includes(String(r.row.game_date)));
      expect(differences(table, kept, rows)).to.deep.equal([]);
    }
  });

  it('while the file cannot grow, every slice ends, those that fail naming what DuckDB could not write; every committed row stays', async () => {
    const { rt } = env;
    const third = await rt.source.gameDates('2023-11-11', '2023-11-15');
    const before = await tables();
    const limit = statSync(file).size;
    limitFileSize(limit);
    const record = await startCascadingBackfill(rt, { processors: CASCADE_ROOTS.map((p) => rt.registry.get(p)), dates: third, cascade: true });
    const progress = await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 200_000 });
    limitFileSize('unlimited');
    expect(progress.done).to.equal(true);
    expect(statSync(file).size).to.be.at.most(limit);
    // Whether a write is refused at all is DuckDB's to decide: new dates may fit in blocks that
    // earlier checkpoints freed (in one CI run every commit did, and no slice ever showed a
    // refusal; the first test always meets one). Those that fail say what could not be
    // written, none as a bad query or in DuckDB's words.
    const statuses = (await Promise.all(processors.map((p) => rt.statuses.getMany(p, third)))).flat();
    for (const s of statuses.filter((s) => s?.status === 'failed' && !/upstream/.test(s.error ?? ''))) {
      expect(s?.error).to.include(`DuckDB could not write ${file}`);
      expect(s?.error).to.include('file too large (EFBIG)');
      expect(s?.error).to.not.match(/FATAL|invalidQuery/);
    }
    // The dates committed before are exactly as they were.
    const after = await tables();
    for (const [table, rows] of before) {
      const kept = (after.get(table) ?? []).filter((r) => !third.includes(String(r.row.game_date)));
      expect(differences(table, kept, rows), table).to.deep.equal([]);
    }
  });
});

describe("DuckDB's fatal error: the read relay's connection after the file is reopened", () => {
  const spec: TableSpec = {
    dataset: 'nba_raw',
    table: 'fatal_probe',
    columns: [
      { name: 'id', type: 'INT64', nullable: false },
      { name: 'day', type: 'DATE', nullable: false },
      { name: 'note', type: 'STRING' },
    ],
    primaryKey: ['id'],
    sliceColumn: 'day',
  };
  let dir = '';
  let wh: DuckDBWarehouse | undefined;
  after(async () => {
    limitFileSize('unlimited');
    await wh?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves again from the new instance, its fence up (no file reads); the statement that met the error had landed', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-fatal-guest-'));
    const file = path.join(dir, 'warehouse.duckdb');
    wh = await DuckDBWarehouse.open({ path: file, store: new LocalObjectStore(path.join(dir, 'store')), checkpointThreshold: '1KB' });
    await wh.ensureTable(spec);
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, day: '2024-01-01', note: 'x'.repeat(200) }));
    expect(await wh.insertRows(spec, rows(0, 100))).to.equal(100);
    const guest = await wh.openGuestReader();
    const count = `SELECT count(*) AS n FROM ${wh.tableName(spec)}`;
    expect((await guest.query(count, {}, { maxRows: 10, deadline: Date.now() + 10_000 })).rows).to.deep.equal([{ n: 100 }]);

    limitFileSize(statSync(file).size);
    let failed: unknown;
    try {
      await wh.insertRows(spec, rows(1000, 1000));
    } catch (err) {
      failed = err;
    } finally {
      limitFileSize('unlimited');
    }
    expect(failed).to.be.instanceOf(WarehouseInvalidatedError);

    // The relay's next query reopens the file. The failed insert is there: DuckDB wrote it to
    // its log before the checkpoint that failed, and replayed the log on opening. So a statement
    // that met the fatal error may have landed, and only idempotent ones may be tried again —
    // as every commit is (a MERGE replacing its slices, an append that skips keys present).
    const after = await guest.query(count, {}, { maxRows: 10, deadline: Date.now() + 10_000 });
    expect(after.rows).to.deep.equal([{ n: 1100 }]);
    let refused: unknown;
    await guest.query("SELECT * FROM read_csv('/etc/passwd')", {}, { maxRows: 10, deadline: Date.now() + 10_000 }).catch((err: unknown) => {
      refused = err;
    });
    expect(String(refused)).to.match(/file system operations are disabled by configuration/);
  });
});
