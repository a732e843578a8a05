import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../src/config/load-config.ts';
import { InputError } from '../src/errors/input-error.ts';
import { PermanentError } from '../src/errors/permanent-error.ts';
import type { Row, TableSpec } from '../src/processors/types.ts';
import { ndjson } from '../src/queues/commit/staging.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { quoteIdent } from '../src/warehouse/duckdb/sql.ts';
import { openWarehouse } from '../src/warehouse/index.ts';

const spec: TableSpec = {
  dataset: 'nba_raw',
  table: 'player_boxscores',
  columns: [
    { name: 'game_id', type: 'STRING', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'points', type: 'INT64' },
    { name: 'minutes', type: 'FLOAT64' },
    { name: 'starter', type: 'BOOL' },
    { name: 'processed_at', type: 'TIMESTAMP' },
    { name: 'extra', type: 'JSON' },
  ],
  primaryKey: ['game_id', 'player_id'],
  sliceColumn: 'game_date',
};

const logSpec: TableSpec = {
  dataset: 'nba_ops',
  table: 'conflict_log',
  columns: [
    { name: 'event_id', type: 'STRING', nullable: false },
    { name: 'day', type: 'DATE', nullable: false },
    { name: 'message', type: 'STRING' },
  ],
  primaryKey: ['event_id'],
  sliceColumn: 'day',
  writeMode: 'append',
};

function row(gameDate: string, gameId: string, playerId: number, points: number): Row {
  return {
    game_id: gameId,
    player_id: playerId,
    game_date: gameDate,
    points,
    minutes: 31.5,
    starter: playerId % 2 === 0,
    processed_at: '2024-01-02T03:04:05.123Z',
    extra: '{"src":"test"}',
  };
}

describe('DuckDBWarehouse', () => {
  let dir: string;
  let store: LocalObjectStore;
  let wh: DuckDBWarehouse;
  let seq = 0;

  /** Stages rows as one NDJSON object and returns its key. */
  async function stage(rows: readonly Row[]): Promise<string> {
    const key = `staging/test/${++seq}.ndjson`;
    await store.put(key, ndjson(rows));
    return key;
  }

  async function commit(slices: string[], objects: string[], table = spec) {
    return wh.commit({ batchId: `b-${++seq}`, table, slices, objects });
  }

  const all = () => wh.query(`SELECT * FROM ${wh.tableName(spec)} ORDER BY game_date, game_id, player_id`);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `phasegate-duckdb-${randomUUID()}-`));
    store = new LocalObjectStore(path.join(dir, 'store'));
    // A file in a folder that does not exist yet: open() must create it.
    wh = await DuckDBWarehouse.open({ path: path.join(dir, 'db', 'warehouse.duckdb'), store, datasetPrefix: 't_' });
    await wh.ensureTable(spec);
  });

  afterEach(async () => {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('ensureTable creates the prefixed schema and the table with mapped types, idempotently', async () => {
    await wh.ensureTable(spec);
    expect(await wh.tableExists(spec)).to.equal(true);
    const cols = await wh.query(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $schema AND table_name = $table ORDER BY ordinal_position`,
      { schema: 't_nba_raw', table: 'player_boxscores' },
    );
    expect(cols.map((c) => [c.column_name, c.data_type, c.is_nullable])).to.deep.equal([
      ['game_id', 'VARCHAR', 'NO'],
      ['player_id', 'BIGINT', 'NO'],
      ['game_date', 'DATE', 'NO'],
      ['points', 'BIGINT', 'YES'],
      ['minutes', 'DOUBLE', 'YES'],
      ['starter', 'BOOLEAN', 'YES'],
      ['processed_at', 'TIMESTAMP WITH TIME ZONE', 'YES'],
      ['extra', 'JSON', 'YES'],
    ]);
    expect(await wh.tableMetadata(spec)).to.deep.equal({ numRows: 0 });
  });

  it('commits two slices with one statement and returns JSON-able rows', async () => {
    const a = await stage([row('2024-01-01', 'g1', 1, 10), row('2024-01-01', 'g1', 2, 20)]);
    const b = await stage([row('2024-01-02', 'g2', 3, 30)]);
    const result = await commit(['2024-01-01', '2024-01-02'], [a, b]);
    expect(result).to.deep.equal({ rowsAffected: 3, rowsStaged: 3 });
    const rows = await all();
    expect(rows).to.have.length(3);
    expect(rows[0]).to.deep.equal({
      game_id: 'g1',
      player_id: 1,
      game_date: '2024-01-01',
      points: 10,
      minutes: 31.5,
      starter: false,
      processed_at: '2024-01-02T03:04:05.123Z',
      extra: '{"src":"test"}',
    });
    expect((await wh.tableMetadata(spec)).numRows).to.equal(3);
  });

  it('recommit replaces the rows of the batch slices only: changed rows updated, vanished rows deleted', async () => {
    const first = await stage([row('2024-01-01', 'g1', 1, 10), row('2024-01-01', 'g1', 2, 20), row('2024-01-02', 'g2', 3, 30), row('2024-01-03', 'g3', 4, 40)]);
    await commit(['2024-01-01', '2024-01-02', '2024-01-03'], [first]);
    // 01-01: player 1 changed, player 2 vanished; 01-02: untouched by this batch.
    const second = await stage([row('2024-01-01', 'g1', 1, 11), row('2024-01-03', 'g3', 4, 40)]);
    const result = await commit(['2024-01-01', '2024-01-03'], [second]);
    // The replace (ON FALSE, like BigQuery's statement) deletes the 3 rows of 01-01 and 01-03 and inserts the 2 staged.
    expect(result.rowsAffected).to.equal(5);
    const rows = await all();
    expect(rows.map((r) => [r.game_date, r.player_id, r.points])).to.deep.equal([
      ['2024-01-01', 1, 11],
      ['2024-01-02', 3, 30],
      ['2024-01-03', 4, 40],
    ]);
  });

  it('an identical recommit leaves the same rows (rewritten, as BigQuery rewrites them)', async () => {
    const key = await stage([row('2024-01-01', 'g1', 1, 10), row('2024-01-02', 'g2', 2, 20)]);
    await commit(['2024-01-01', '2024-01-02'], [key]);
    const before = await all();
    const again = await commit(['2024-01-01', '2024-01-02'], [key]);
    expect(again).to.deep.equal({ rowsAffected: 4, rowsStaged: 2 });
    expect(await all()).to.deep.equal(before);
  });

  it('deduplicates by primary key within a batch: the last staged row wins, across objects and within one', async () => {
    const older = await stage([row('2024-01-01', 'g1', 1, 10), row('2024-01-01', 'g1', 2, 20), row('2024-01-01', 'g1', 3, 5), row('2024-01-01', 'g1', 3, 7)]);
    const newer = await stage([row('2024-01-01', 'g1', 1, 99)]);
    const result = await commit(['2024-01-01'], [older, newer]);
    expect(result).to.deep.equal({ rowsAffected: 3, rowsStaged: 5 });
    expect((await all()).map((r) => [r.player_id, r.points])).to.deep.equal([
      [1, 99],
      [2, 20],
      [3, 7],
    ]);
  });

  it('append mode inserts new rows, never deletes, and a retried batch does not duplicate', async () => {
    await wh.ensureTable(logSpec);
    const first = await stage([{ event_id: 'e1', day: '2024-01-01', message: 'a' }] as Row[]);
    const second = await stage([{ event_id: 'e2', day: '2024-01-01', message: 'b' }] as Row[]);
    expect(await commit(['2024-01-01'], [first], logSpec)).to.deep.equal({ rowsAffected: 1, rowsStaged: 1 });
    expect(await commit(['2024-01-01'], [second], logSpec)).to.deep.equal({ rowsAffected: 1, rowsStaged: 1 });
    expect(await commit(['2024-01-01'], [second], logSpec)).to.deep.equal({ rowsAffected: 0, rowsStaged: 1 });
    const rows = await wh.query(`SELECT event_id, message FROM ${wh.tableName(logSpec)} ORDER BY event_id`);
    expect(rows).to.deep.equal([
      { event_id: 'e1', message: 'a' },
      { event_id: 'e2', message: 'b' },
    ]);
  });

  it('texts in any script land as staged, an object read a line at a time', async () => {
    const names = ['Nikola Jokić', 'Luka Dončić', '八村塁', 'Kristaps Porziņģis 🏀', 'plain'];
    const rows = names.map((name, i) => row('2024-01-01', name, i + 1, i));
    const key = `staging/test/${++seq}.ndjson`;
    await store.put(key, `\r\n${rows.map((r) => JSON.stringify(r)).join('\r\n')}\r\n\r\n`);
    expect(await commit(['2024-01-01'], [key])).to.deep.equal({ rowsAffected: 5, rowsStaged: 5 });
    expect((await all()).map((r) => r.game_id).sort()).to.deep.equal([...names].sort());
  });

  describe('malformed staged rows fail permanently, naming the object, and write nothing', () => {
    const cases: [string, string, RegExp][] = [
      ['a wrong type', JSON.stringify({ ...row('2024-01-01', 'g1', 1, 10), points: 'ten' }), /points: expected INT64/],
      ['a missing required column', JSON.stringify({ game_id: 'g1', game_date: '2024-01-01' }), /player_id: required field/],
      ['an unknown field', JSON.stringify({ ...row('2024-01-01', 'g1', 1, 10), bogus: 1 }), /no such field: bogus/],
      ['a slice outside the batch', JSON.stringify(row('2024-02-01', 'g1', 1, 10)), /game_date 2024-02-01 is not one of the batch's slices/],
      ['a line that is not JSON', '{"game_id": "g1",', /line 1: not valid JSON/],
      [
        'a line that is not JSON after an empty line and texts in other scripts',
        `${JSON.stringify(row('2024-01-01', 'Nikola Jokić, 八村塁', 2, 20))}\n\n{"game_id": "g1",`,
        /line 3: not valid JSON/,
      ],
      ['an invalid date', JSON.stringify({ ...row('2024-01-01', 'g1', 1, 10), game_date: '2024-02-30' }), /expected DATE/],
    ];
    for (const [name, line, pattern] of cases) {
      it(name, async () => {
        const good = await stage([row('2024-01-01', 'g9', 9, 90)]);
        const key = `staging/bad/${++seq}.ndjson`;
        await store.put(key, `${line}\n`);
        const err = await commit(['2024-01-01'], [good, key]).then(
          () => expect.fail('commit should have failed'),
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(PermanentError);
        expect((err as Error).message)
          .to.include(key)
          .and.match(pattern);
        expect((await wh.tableMetadata(spec)).numRows).to.equal(0);
      });
    }

    it('a missing object', async () => {
      const err = await commit(['2024-01-01'], ['staging/none/x.ndjson']).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PermanentError);
      expect((err as PermanentError).message).to.include('staging/none/x.ndjson');
      expect((err as PermanentError).reason).to.equal('notFound');
    });
  });

  it('query refuses anything that writes, with InputError, and leaves the table alone', async () => {
    await commit(['2024-01-01'], [await stage([row('2024-01-01', 'g1', 1, 10)])]);
    const t = wh.tableName(spec);
    for (const sql of [
      `DELETE FROM ${t}`,
      `  -- comment\n  UPDATE ${t} SET points = 0`,
      `WITH x AS (SELECT 1) DELETE FROM ${t}`,
      `SELECT 1; DELETE FROM ${t}`,
      `EXPLAIN ANALYZE DELETE FROM ${t}`,
      `PRAGMA threads=1`,
      `DROP TABLE ${t}`,
    ]) {
      const err = await wh.query(sql).catch((e: unknown) => e);
      expect(err, sql).to.be.instanceOf(InputError);
    }
    expect((await wh.tableMetadata(spec)).numRows).to.equal(1);
    // Reads of every allowed kind do run.
    expect(await wh.query(`SELECT count(*) AS n FROM ${t} WHERE game_date = $d`, { d: '2024-01-01' })).to.deep.equal([{ n: 1 }]);
    expect(await wh.query(`SELECT count(*) AS n FROM ${t} WHERE player_id IN (SELECT unnest($ids))`, { ids: [1, 2] })).to.deep.equal([{ n: 1 }]);
    expect((await wh.query(`DESCRIBE ${t}`)).map((r) => r.column_name)).to.include('game_id');
    expect(await wh.query(`PRAGMA table_info('t_nba_raw.player_boxscores')`)).to.have.length(8);
  });

  it('readSlices and presentSlices read only the asked slices', async () => {
    const key = await stage([row('2024-01-01', 'g1', 1, 10), row('2024-01-02', 'g2', 2, 20), row('2024-01-03', 'g3', 3, 30)]);
    await commit(['2024-01-01', '2024-01-02', '2024-01-03'], [key]);
    expect(await wh.presentSlices(spec, ['2023-12-31', '2024-01-01', '2024-01-03', '2024-01-04'])).to.deep.equal(['2024-01-01', '2024-01-03']);
    expect(await wh.presentSlices(spec, [])).to.deep.equal([]);
    const rows = await wh.readSlices(spec, ['2024-01-02', '2024-01-03']);
    expect(rows.map((r) => [r.game_date, r.game_id])).to.deep.equal([
      ['2024-01-02', 'g2'],
      ['2024-01-03', 'g3'],
    ]);
  });

  it('deleteSlices and load (the rules layer primitives) delete and append as asked', async () => {
    const key = await stage([row('2024-01-01', 'g1', 1, 10), row('2024-01-02', 'g2', 2, 20)]);
    expect(await wh.load(spec, [key])).to.deep.equal({ rowsAffected: 2, rowsStaged: 2 });
    expect(await wh.load(spec, [key])).to.deep.equal({ rowsAffected: 2, rowsStaged: 2 }); // a load job appends blindly
    expect(await wh.deleteSlices(spec, ['2024-01-01'])).to.equal(2);
    expect((await all()).map((r) => r.game_date)).to.deep.equal(['2024-01-02', '2024-01-02']);
    expect(await wh.insertRows(spec, [row('2024-01-05', 'g5', 5, 50)])).to.equal(1);
    expect(await wh.presentSlices(spec, ['2024-01-05'])).to.deep.equal(['2024-01-05']);
  });

  it('stages and merges ~30k rows in well under a second', async () => {
    const dates = Array.from({ length: 30 }, (_, i) => `2024-01-${String(i + 1).padStart(2, '0')}`);
    const keys: string[] = [];
    for (const [d, date] of dates.entries()) {
      keys.push(await stage(Array.from({ length: 1000 }, (_, p) => row(date, `g${d}`, p, p))));
    }
    const started = performance.now();
    const result = await commit(dates, keys);
    const elapsed = performance.now() - started;
    expect(result).to.deep.equal({ rowsAffected: 30_000, rowsStaged: 30_000 });
    expect(elapsed).to.be.below(1000);
    // The re-merge of the same 30k rows replaces them (30k deleted, 30k inserted) just as quickly.
    const again = performance.now();
    expect((await commit(dates, keys)).rowsAffected).to.equal(60_000);
    expect(performance.now() - again).to.be.below(1000);
  });

  it('refuses identifiers that are not plain names before building SQL', async () => {
    expect(() => quoteIdent('a"; DROP TABLE x; --')).to.throw(InputError);
    const bad: TableSpec = { ...spec, table: 'x y' };
    const err = await wh.ensureTable(bad).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(InputError);
  });
});

describe('DuckDB settings from the configuration', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `phasegate-duckdb-settings-${randomUUID()}-`));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const settings = async (env: Record<string, string>) => {
    const config = loadConfig({ PHASEGATE_DATA_DIR: dir, ...env }, {});
    const wh = await openWarehouse(config, new LocalObjectStore(config.storeDir));
    try {
      const [row] = await wh.query("SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t");
      return { memoryLimit: row?.m, threads: Number(row?.t) };
    } finally {
      await wh.close();
    }
  };

  it('opens the embedded DuckDB with a laptop-sized memory limit by default, and the configured one when set', async () => {
    // DuckDB shows sizes in binary units: 128 MB = 122.0 MiB.
    expect((await settings({})).memoryLimit).to.equal('122.0 MiB');
    expect(await settings({ PHASEGATE_DUCKDB_MEMORY_LIMIT: '1GiB', PHASEGATE_DUCKDB_THREADS: '1' })).to.deep.equal({ memoryLimit: '1.0 GiB', threads: 1 });
    expect(() => loadConfig({ PHASEGATE_DUCKDB_MEMORY_LIMIT: 'lots' }, {})).to.throw(/PHASEGATE_DUCKDB_MEMORY_LIMIT/);
  });
});
