/**
 * The `Warehouse` seam's behaviour, one suite run twice: against the embedded DuckDB warehouse
 * (real statements over real rows) and against BigQueryWarehouse through nock (the request it
 * sends, checked, and BigQuery's REST answer for the same rows). Each case is written once;
 * the harness either holds the rows for real (DuckDB) or answers as BigQuery would for them.
 * What both must agree on: the shapes callers read (dates as `YYYY-MM-DD`, timestamps ISO,
 * numbers as numbers, lists as JSON text), and what a commit does to the slices around it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import nock from 'nock';
import { IntegrityGuardError } from '../src/errors/integrity-guard-error.ts';
import type { Column, Row, TableSpec } from '../src/processors/types.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { sourceCoverageLog } from '../src/tables/source-coverage-log.ts';
import { streamingConflictLog } from '../src/tables/streaming-conflict-log.ts';
import type { WarehouseAdmin } from '../src/warehouse/admin.ts';
import { tableResource } from '../src/warehouse/bigquery/schema.ts';
import { GUARD_MESSAGE } from '../src/warehouse/bigquery/sql.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { adminOf } from '../src/warehouse/index.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import type { CommitBatch, Warehouse } from '../src/warehouse/types.ts';
import { API, BASE, Bodies, type Body, doneJob, notFound, PROJECT, testStore, testWarehouse, useNock } from './bigquery-nock.ts';

const box: TableSpec = {
  dataset: 'nba_raw',
  table: 'conformance_box',
  columns: [
    { name: 'game_id', type: 'STRING', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'pts', type: 'INT64' },
    { name: 'quality_issues', type: 'JSON' },
  ],
  primaryKey: ['game_id', 'player_id'],
  sliceColumn: 'game_date',
  unitColumn: 'game_id',
};

const BOX_ROWS: Row[] = [
  { game_id: 'g1', player_id: 1, game_date: '2024-01-01', pts: 10, quality_issues: null },
  { game_id: 'g1', player_id: 2, game_date: '2024-01-01', pts: 20, quality_issues: '[{"rule":"team_totals"}]' },
  { game_id: 'g2', player_id: 3, game_date: '2024-01-02', pts: 30, quality_issues: null },
  { game_id: 'g3', player_id: 4, game_date: '2024-01-05', pts: 5, quality_issues: null },
];

const predictions: TableSpec = {
  dataset: 'nba_predictions',
  table: 'conformance_predictions',
  columns: [
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'player_name', type: 'STRING' },
    { name: 'team_abbr', type: 'STRING' },
    { name: 'predicted_points', type: 'FLOAT64' },
    { name: 'prediction_basis', type: 'STRING' },
  ],
  primaryKey: ['game_date', 'player_id'],
  sliceColumn: 'game_date',
};
const actuals: TableSpec = {
  dataset: 'nba_analytics',
  table: 'conformance_summary',
  columns: [
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'pts', type: 'INT64' },
  ],
  primaryKey: ['game_date', 'player_id'],
  sliceColumn: 'game_date',
};

const conflictLog = streamingConflictLog.table;
const conflictRow = (id: string, attempt: number, resolved: boolean, ts: string, gameDate: string): Row => ({
  conflict_id: id,
  timestamp: ts,
  processor_name: 'nbac_player_boxscore',
  game_id: null,
  game_date: gameDate,
  conflict_type: 'streaming_buffer',
  retry_attempt: attempt,
  max_retries: 5,
  delay_seconds: resolved ? null : 300,
  resolved,
  resolution_time: resolved ? ts : null,
  resolution_method: resolved ? 'auto_retry' : null,
  rows_affected: resolved ? 10 : null,
  error_message: resolved ? null : 'streaming buffer',
  details: null,
});
const CONFLICT_ROWS: Row[] = [
  conflictRow('cf-a', 1, false, '2024-01-01T10:00:00.000Z', '2024-01-01'),
  conflictRow('cf-a', 2, false, '2024-01-01T10:05:00.000Z', '2024-01-01'),
  conflictRow('cf-a', 2, true, '2024-01-01T10:15:00.000Z', '2024-01-01'),
  conflictRow('cf-b', 1, false, '2024-01-01T11:00:00.000Z', '2024-01-02'),
];

/** An analytics table tagged with its tier and source per row, for the coverage read. */
const games: TableSpec = {
  dataset: 'nba_analytics',
  table: 'conformance_games',
  columns: [
    { name: 'game_id', type: 'STRING', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'primary_source', type: 'STRING' },
    { name: 'data_quality_tier', type: 'STRING' },
  ],
  primaryKey: ['game_id', 'player_id'],
  sliceColumn: 'game_date',
  unitColumn: 'game_id',
};

const coverageLog = sourceCoverageLog.table;
/** One coverage observation of a game on 2024-01-01 (see the view in reports/report-sql.ts). */
const observed = (id: string, time: string, row: Row): Row => ({
  event_id: id,
  event_time: time,
  event_type: 'found',
  severity: 'info',
  layer: 'raw',
  game_id: 'g1',
  game_date: '2024-01-01',
  table_name: null,
  source: 'nbac',
  expected: true,
  found: true,
  rows_found: 10,
  fallback_used: false,
  data_quality_tier: null,
  previous_tier: null,
  audit_run_id: 'a1',
  details: null,
  ...row,
});
const NBAC = 'nba_raw.nbac_player_boxscores';
const BDL = 'nba_raw.bdl_player_boxscores';
const PGS = 'nba_analytics.player_game_summary';
const COVERAGE_ROWS: Row[] = [
  // g1: NBA.com first missing, then found; balldontlie missing; phase 3 picked NBA.com, silver.
  observed('g1-e1', '2024-01-01T10:00:00.000Z', { event_type: 'missing', severity: 'warning', table_name: NBAC, found: false, rows_found: 0 }),
  observed('g1-e2', '2024-01-01T11:00:00.000Z', { table_name: NBAC, audit_run_id: 'a2' }),
  observed('g1-e3', '2024-01-01T11:00:00.000Z', { event_type: 'missing', table_name: BDL, source: 'bdl', found: false, rows_found: 0, audit_run_id: 'a2' }),
  observed('g1-e4', '2024-01-01T11:30:00.000Z', { layer: 'analytics', table_name: PGS, data_quality_tier: 'silver', audit_run_id: 'a2' }),
  // g2: only the fallback has it, phase 3 has not run; the audit's last word is a fallback request.
  observed('g2-e1', '2024-01-01T10:00:00.000Z', { game_id: 'g2', event_type: 'missing', severity: 'warning', table_name: NBAC, found: false, rows_found: 0 }),
  observed('g2-e2', '2024-01-01T10:00:00.000Z', { game_id: 'g2', table_name: BDL, source: 'bdl', fallback_used: true }),
  observed('g2-e3', '2024-01-01T12:00:00.000Z', {
    game_id: 'g2',
    event_type: 'fallback_requested',
    severity: 'warning',
    layer: 'audit',
    source: 'bdl',
    fallback_used: true,
    audit_run_id: 'a3',
  }),
];

/** A result column as BigQuery's REST schema names it (legacy type names). */
interface Field {
  name: string;
  type: string;
  mode?: string;
}

/** Rows as `jobs.getQueryResults` answers them for `fields`: `{f: [{v}]}`, TIMESTAMPs in µs, lists as `{v}` arrays. */
function restRows(fields: readonly Field[], rows: readonly Row[]): Body {
  const encode = (field: Field, value: unknown): unknown => {
    if (value === null || value === undefined) return null;
    if (field.mode === 'REPEATED') return (JSON.parse(String(value)) as unknown[]).map((x) => ({ v: String(x) }));
    if (field.type === 'TIMESTAMP') return String(Date.parse(String(value)) * 1000);
    return String(value);
  };
  return { schema: { fields }, rows: rows.map((r) => ({ f: fields.map((f) => ({ v: encode(f, r[f.name]) })) })) };
}

interface Harness {
  readonly name: string;
  warehouse(): Warehouse;
  /** The warehouse's schema facet, as its backend provides it (`adminOf`, src/warehouse/index.ts). */
  admin(): Promise<WarehouseAdmin>;
  /** The table exists, without the columns `without` (DuckDB: created; BigQuery: nothing to do). */
  create(spec: TableSpec, without?: readonly string[]): Promise<void>;
  /** The next `tables.get` answers the table, without `without` (BigQuery); DuckDB reads its own. */
  described(spec: TableSpec, without?: readonly string[]): void;
  /** The next `describeTable` meets no table (DuckDB: nothing to do). */
  missing(spec: TableSpec): void;
  /** The table holds these rows (DuckDB: committed; BigQuery: the case's answers stand for them). */
  hold(spec: TableSpec, rows: readonly Row[]): Promise<void>;
  /** The next read answers `rows` in `fields` (BigQuery), after `check` passed on its request; DuckDB computes it. */
  answer(fields: readonly Field[], rows: readonly Row[], check?: (query: Body) => void): void;
  /** The next commit's job (BigQuery) is checked and answered with these DML statistics. */
  committed(stats: { inserted: number; deleted: number }, check?: (query: Body) => void): void;
  /** The next commit's job (BigQuery) is checked and fails as its guard's `ERROR()` fails it; DuckDB judges for itself. */
  guardTripped(check?: (query: Body) => void): void;
  /** The next `addColumns` (BigQuery: tables.get, then tables.patch, checked). */
  patched(spec: TableSpec, without: readonly string[], check: (body: Body) => void): void;
  /** The next view ensured is missing and created (BigQuery: tables.get answers 404, then tables.insert, checked). */
  viewCreated(dataset: string, view: string, check: (body: Body) => void): void;
  /** The quoted, qualified name of a table or view, for a hand-written read. */
  qualified(where: { dataset: string; table: string }): string;
  /** Writes a staged object both warehouses can name (DuckDB reads it; BigQuery only its URI). */
  stage(rows: readonly Row[]): Promise<string>;
  close(): Promise<void>;
}

/** `tables.get` as BigQuery answers it for a table phasegate created. */
function tableAnswer(spec: TableSpec, without: readonly string[] = []): Body {
  const resource = tableResource(spec) as Body;
  const legacy: Record<string, string> = { INT64: 'INTEGER', FLOAT64: 'FLOAT', BOOL: 'BOOLEAN' };
  return {
    tableReference: { projectId: PROJECT, datasetId: spec.dataset, tableId: spec.table },
    ...resource,
    schema: { fields: (resource.schema.fields as Body[]).filter((f) => !without.includes(f.name)).map((f) => ({ ...f, type: legacy[f.type] ?? f.type })) },
  };
}

async function duckHarness(): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-conformance-'));
  const store = new LocalObjectStore(dir);
  const w = await DuckDBWarehouse.open({ path: ':memory:', store });
  let seq = 0;
  const stage = async (rows: readonly Row[]) => {
    const key = `staging/conformance/${++seq}.ndjson`;
    await store.put(key, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    return key;
  };
  return {
    name: 'DuckDB',
    warehouse: () => w,
    admin: async () => (await adminOf({ warehouse: 'duckdb', duckdbPath: ':memory:' }, w, store)).admin,
    create: async (spec, without = []) => w.ensureTable({ ...spec, columns: spec.columns.filter((c) => !without.includes(c.name)) }),
    described: () => undefined,
    missing: () => undefined,
    hold: async (spec, rows) => {
      await w.ensureTable(spec);
      const slices = [...new Set(rows.map((r) => String(r[spec.sliceColumn])))].sort();
      await w.commit({ batchId: `hold-${++seq}`, table: spec, slices, objects: [await stage(rows)] });
    },
    answer: () => undefined,
    committed: () => undefined,
    guardTripped: () => undefined,
    patched: () => undefined,
    viewCreated: () => undefined,
    qualified: (where) => w.tableName(where),
    stage,
    close: async () => {
      await w.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function bigQueryHarness(creds: ReturnType<typeof useNock>): Harness {
  const w = testWarehouse(creds);
  let seq = 0;
  const tablePath = (spec: TableSpec) => `${BASE}/datasets/${spec.dataset}/tables/${spec.table}`;
  return {
    name: 'BigQuery (nock)',
    warehouse: () => w,
    admin: async () => (await adminOf({ warehouse: 'bigquery', duckdbPath: '' }, w, testStore(creds))).admin,
    create: async () => undefined,
    described: (spec, without = []) => {
      nock(API).get(tablePath(spec)).query(true).reply(200, tableAnswer(spec, without));
    },
    missing: (spec) => {
      nock(API)
        .get(tablePath(spec))
        .query(true)
        .reply(404, notFound(`Table ${PROJECT}:${spec.dataset}.${spec.table}`));
    },
    hold: async () => undefined,
    answer: (fields, rows, check) => {
      const jobs = new Bodies();
      nock(API)
        .post(`${BASE}/jobs`, jobs.match)
        .query(true)
        .reply(200, () => {
          check?.(jobs.last.configuration.query);
          return doneJob(jobs.last, { statementType: 'SELECT' });
        })
        .get((p) => p.startsWith(`${BASE}/queries/`))
        .query(true)
        .reply(200, { jobComplete: true, ...restRows(fields, rows) });
    },
    committed: (stats, check) => {
      const jobs = new Bodies();
      nock(API)
        .post(`${BASE}/jobs`, jobs.match)
        .query(true)
        .reply(200, () => {
          check?.(jobs.last.configuration.query);
          return doneJob(jobs.last, {
            statementType: 'MERGE',
            numDmlAffectedRows: String(stats.inserted + stats.deleted),
            dmlStats: { insertedRowCount: String(stats.inserted), deletedRowCount: String(stats.deleted) },
          });
        });
    },
    guardTripped: (check) => {
      const jobs = new Bodies();
      // The job's failure as BigQuery reports an ERROR() raised while the statement ran.
      const errorResult = { reason: 'invalidQuery', message: `${GUARD_MESSAGE} at [3:12]` };
      nock(API)
        .post(`${BASE}/jobs`, jobs.match)
        .query(true)
        .reply(200, () => {
          check?.(jobs.last.configuration.query);
          return doneJob(jobs.last, {}, { state: 'DONE', errorResult, errors: [errorResult] });
        });
    },
    patched: (spec, without, check) => {
      const patches = new Bodies();
      nock(API)
        .get(tablePath(spec))
        .query(true)
        .reply(200, tableAnswer(spec, without))
        .patch(tablePath(spec), patches.match)
        .query(true)
        .reply(200, () => {
          check(patches.last);
          return { ...tableAnswer(spec), schema: patches.last.schema };
        });
    },
    viewCreated: (dataset, view, check) => {
      const inserted = new Bodies();
      nock(API)
        .get(`${BASE}/datasets/${dataset}/tables/${view}`)
        .query(true)
        .reply(404, notFound(`Table ${PROJECT}:${dataset}.${view}`))
        .post(`${BASE}/datasets/${dataset}/tables`, inserted.match)
        .query(true)
        .reply(200, () => {
          check(inserted.last);
          return { ...inserted.last, type: 'VIEW' };
        });
    },
    qualified: (where) => `\`${PROJECT}.${where.dataset}.${where.table}\``,
    stage: async () => `staging/conformance/${++seq}.ndjson`,
    close: async () => undefined,
  };
}

/** The box table's columns as both warehouses describe them. */
const BOX_COLUMNS = [
  { name: 'game_id', type: 'STRING', nullable: false },
  { name: 'player_id', type: 'INT64', nullable: false },
  { name: 'game_date', type: 'DATE', nullable: false },
  { name: 'pts', type: 'INT64', nullable: true },
  { name: 'quality_issues', type: 'JSON', nullable: true },
];

const BOX_FIELDS: Field[] = [
  { name: 'game_id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'player_id', type: 'INTEGER', mode: 'REQUIRED' },
  { name: 'game_date', type: 'DATE', mode: 'REQUIRED' },
  { name: 'pts', type: 'INTEGER' },
  { name: 'quality_issues', type: 'JSON' },
];

function conformance(open: () => Promise<Harness>): void {
  let h: Harness;
  beforeEach(async () => {
    h = await open();
  });
  afterEach(async () => h.close());

  it('describeTable: null for a missing table; the registry’s columns, in GoogleSQL types, for an existing one', async () => {
    h.missing(box);
    expect(await (await h.admin()).describeTable(box)).to.equal(null);
    await h.create(box);
    h.described(box);
    expect((await (await h.admin()).describeTable(box))?.columns).to.deep.equal(BOX_COLUMNS);
  });

  it('addColumns adds a column as NULLABLE, whatever the registry says, keeping the others', async () => {
    const wanted: Column = { name: 'minutes', type: 'FLOAT64', nullable: false };
    const spec = { ...box, columns: [...box.columns, wanted] };
    await h.create(spec, ['minutes']);
    h.patched(spec, ['minutes'], (body) => {
      expect(body.schema.fields.map((f: Body) => f.name)).to.deep.equal([...BOX_COLUMNS.map((c) => c.name), 'minutes']);
      expect(body.schema.fields.at(-1)).to.deep.include({ name: 'minutes', type: 'FLOAT64', mode: 'NULLABLE' });
    });
    await (await h.admin()).addColumns(spec, [wanted]);
    // BigQuery then holds what the patch sent: the column NULLABLE.
    h.described({ ...spec, columns: [...box.columns, { ...wanted, nullable: true }] });
    expect((await (await h.admin()).describeTable(spec))?.columns.at(-1)).to.deep.equal({ name: 'minutes', type: 'FLOAT64', nullable: true });
  });

  it('tableSummary counts rows, dates, games and warnings over a range of slices, read with constant bounds', async () => {
    await h.hold(box, BOX_ROWS);
    const fields = ['n', 'dates', 'games', 'warnings'].map((name) => ({ name, type: 'INTEGER' }));
    h.answer(fields, [{ n: 3, dates: 2, games: 2, warnings: 1 }], (q) => {
      expect(q.query).to.include('WHERE `game_date` BETWEEN @start AND @end');
      expect(q.queryParameters.map((p: Body) => [p.name, p.parameterType.type, p.parameterValue.value])).to.deep.equal([
        ['start', 'DATE', '2024-01-01'],
        ['end', 'DATE', '2024-01-02'],
      ]);
    });
    expect(await h.warehouse().reports.tableSummary(box, { start: '2024-01-01', end: '2024-01-02' })).to.deep.equal({
      rows: 3,
      dates: 2,
      games: 2,
      warnings: 1,
    });
  });

  it('presentSlices returns the requested slices that hold rows', async () => {
    await h.hold(box, BOX_ROWS);
    h.answer([{ name: 'slice', type: 'DATE' }], [{ slice: '2024-01-01' }, { slice: '2024-01-05' }]);
    expect(await h.warehouse().presentSlices(box, ['2024-01-01', '2024-01-03', '2024-01-05'])).to.deep.equal(['2024-01-01', '2024-01-05']);
  });

  it('unitHoldings: rows per (slice, unit) of the slices, and of the units wherever they are — the unit read filtered on the unit column alone', async () => {
    await h.hold(box, BOX_ROWS);
    const fields = [
      { name: 'slice', type: 'STRING' },
      { name: 'unit', type: 'STRING' },
      { name: 'n', type: 'INTEGER' },
    ];
    const expected = [
      { slice: '2024-01-01', unit: 'g1', rows: 2 },
      { slice: '2024-01-05', unit: 'g3', rows: 1 },
    ];
    h.answer(
      fields,
      expected.map((e) => ({ slice: e.slice, unit: e.unit, n: e.rows })),
      (q) => {
        expect(q.query).to.include(' UNION ALL ');
        // Pruned by partition, and by the clustering's leading column: never an OR across both.
        expect(q.query).to.include('WHERE `game_date` IN UNNEST(@slices) UNION ALL ');
        expect(q.query).to.include('WHERE `game_id` IN UNNEST(@units) AND `game_date` NOT IN UNNEST(@slices)');
        // A filter on the partitioning column that keeps every date: a table with requirePartitionFilter accepts the read.
        expect(q.query).to.include("AND `game_date` >= DATE '0001-01-01'");
        expect(q.query).not.to.include(' OR ');
      },
    );
    expect(await h.warehouse().unitHoldings(box, ['2024-01-01'], ['g3'])).to.deep.equal(expected);
  });

  it('commit replaces the batch slices only; an allowed move takes the unit out of its old slice and nothing else', async () => {
    await h.hold(box, BOX_ROWS);
    // g3 re-dated from 01-05 to 01-03; 01-01 restaged without player 2.
    const object = await h.stage([
      { game_id: 'g1', player_id: 1, game_date: '2024-01-01', pts: 11, quality_issues: null },
      { game_id: 'g3', player_id: 4, game_date: '2024-01-03', pts: 5, quality_issues: null },
    ]);
    const batch: CommitBatch = {
      batchId: 'conformance-move',
      table: box,
      slices: ['2024-01-01', '2024-01-03'],
      objects: [object],
      moveFrom: ['2024-01-05'],
      moveUnits: ['g3'],
    };
    h.committed({ inserted: 2, deleted: 3 }, (q) => {
      expect(q.query).to.include('\nON FALSE\n');
      expect(q.query).to.include(
        'WHEN NOT MATCHED BY SOURCE AND T.`game_date` IN UNNEST(@scope) AND (T.`game_date` IN UNNEST(@slices) OR T.`game_id` IN UNNEST(@move_units)) THEN DELETE',
      );
      const params = Object.fromEntries(q.queryParameters.map((p: Body) => [p.name, p.parameterValue.arrayValues.map((v: Body) => v.value)]));
      expect(params).to.deep.equal({ slices: ['2024-01-01', '2024-01-03'], scope: ['2024-01-01', '2024-01-03', '2024-01-05'], move_units: ['g3'] });
    });
    // 01-01's two rows and g3 under 01-05 deleted, two staged rows inserted.
    expect(await h.warehouse().commit(batch)).to.deep.include({ rowsAffected: 5 });
    const after = [
      { game_id: 'g1', player_id: 1, game_date: '2024-01-01', pts: 11, quality_issues: null },
      { game_id: 'g2', player_id: 3, game_date: '2024-01-02', pts: 30, quality_issues: null },
      { game_id: 'g3', player_id: 4, game_date: '2024-01-03', pts: 5, quality_issues: null },
    ];
    h.answer(BOX_FIELDS, after);
    expect(await h.warehouse().readSlices(box, ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-05'])).to.deep.equal(after);
  });

  it('a guarded commit judges its batch inside its own statement: a clean batch lands; a shrink or a move writes nothing and says so', async () => {
    await h.hold(box, BOX_ROWS);
    const slicesParam = (q: Body, name: string) => q.queryParameters.find((p: Body) => p.name === name)?.parameterValue.arrayValues;
    // 01-01 restaged with both players (a new score), 01-03 new: nothing held shrinks or moves.
    const clean = await h.stage([
      { game_id: 'g1', player_id: 1, game_date: '2024-01-01', pts: 12, quality_issues: null },
      { game_id: 'g1', player_id: 2, game_date: '2024-01-01', pts: 20, quality_issues: null },
      { game_id: 'g4', player_id: 5, game_date: '2024-01-03', pts: 8, quality_issues: null },
    ]);
    const guarded = (objects: string[], guard: CommitBatch['guard'], slices = ['2024-01-01', '2024-01-03']): CommitBatch => ({
      batchId: `conformance-guard-${objects.length}-${JSON.stringify(guard)}`.replace(/[^A-Za-z0-9_-]/g, '_'),
      table: box,
      slices,
      objects,
      guard,
    });
    h.committed({ inserted: 3, deleted: 2 }, (q) => {
      // One job: the guard reads the holdings inside the MERGE's source.
      expect(q.query).to.match(/^MERGE /);
      expect(q.query).to.include(`ERROR('${GUARD_MESSAGE}')`);
      expect(q.query).to.include('WHERE `game_id` IN UNNEST(@guard_units) AND `game_date` NOT IN UNNEST(@guard_slices)');
      expect(slicesParam(q, 'guard_slices')).to.deep.equal([{ value: '2024-01-01' }, { value: '2024-01-03' }]);
      expect(slicesParam(q, 'guard_units')).to.deep.equal([{ value: 'g1' }, { value: 'g4' }]);
      expect(slicesParam(q, 'guard_staged')).to.deep.equal([
        { structValues: { slice: { value: '2024-01-01' }, unit: { value: 'g1' }, n: { value: '2' } } },
        { structValues: { slice: { value: '2024-01-03' }, unit: { value: 'g4' }, n: { value: '1' } } },
      ]);
    });
    const landed = await h.warehouse().commit(
      guarded(
        [clean],
        [
          { slice: '2024-01-01', units: { g1: 2 } },
          { slice: '2024-01-03', units: { g4: 1 } },
        ],
      ),
    );
    expect(landed).to.deep.include({ rowsAffected: 5 });
    const held = [
      { game_id: 'g1', player_id: 1, game_date: '2024-01-01', pts: 12, quality_issues: null },
      { game_id: 'g1', player_id: 2, game_date: '2024-01-01', pts: 20, quality_issues: null },
      { game_id: 'g2', player_id: 3, game_date: '2024-01-02', pts: 30, quality_issues: null },
      { game_id: 'g4', player_id: 5, game_date: '2024-01-03', pts: 8, quality_issues: null },
      { game_id: 'g3', player_id: 4, game_date: '2024-01-05', pts: 5, quality_issues: null },
    ];
    const everything = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-05'];
    h.answer(BOX_FIELDS, held);
    expect(await h.warehouse().readSlices(box, everything)).to.deep.equal(held);

    // 01-01 staged with one player of g1 (a shrink); g3, held under 01-05, staged under 01-03 (a move);
    // and a batch that staged nothing at all for 01-01 (a DELETE).
    const shrink = await h.stage([{ game_id: 'g1', player_id: 1, game_date: '2024-01-01', pts: 13, quality_issues: null }]);
    const move = await h.stage([{ game_id: 'g3', player_id: 4, game_date: '2024-01-03', pts: 5, quality_issues: null }]);
    const refusals: [string, CommitBatch][] = [
      ['shrink', guarded([shrink], [{ slice: '2024-01-01', units: { g1: 1 } }], ['2024-01-01'])],
      ['move', guarded([move], [{ slice: '2024-01-03', units: { g3: 1 } }], ['2024-01-03'])],
      ['empty', guarded([], [{ slice: '2024-01-01', units: {} }], ['2024-01-01'])],
    ];
    for (const [what, batch] of refusals) {
      h.guardTripped((q) => {
        expect(q.query, what).to.include(`ERROR('${GUARD_MESSAGE}')`);
        if (what === 'empty') expect(q.query).to.match(/^DELETE FROM .* WHERE `game_date` IN UNNEST\(@slices\) AND IF\(/);
      });
      const err = await h
        .warehouse()
        .commit(batch)
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err, what).to.be.instanceOf(IntegrityGuardError);
      expect((err as Error).message).to.equal('nba_raw.conformance_box: the batch would shrink or move committed rows; nothing was written');
      h.answer(BOX_FIELDS, held);
      expect(await h.warehouse().readSlices(box, everything), `${what}: nothing written`).to.deep.equal(held);
    }
  });

  it("the conflict log's daily summary counts each conflict once, with the same shapes", async () => {
    await h.hold(conflictLog, CONFLICT_ROWS);
    const fields = [
      { name: 'date', type: 'DATE' },
      { name: 'processor_name', type: 'STRING' },
      { name: 'total_conflicts', type: 'INTEGER' },
      { name: 'resolved', type: 'INTEGER' },
      { name: 'unresolved', type: 'INTEGER' },
      { name: 'avg_retries', type: 'FLOAT' },
      { name: 'sample_games', type: 'STRING', mode: 'REPEATED' },
    ];
    const expected = [
      {
        date: '2024-01-01',
        processor_name: 'nbac_player_boxscore',
        total_conflicts: 2,
        resolved: 1,
        unresolved: 1,
        avg_retries: 1.5,
        sample_games: '["2024-01-01","2024-01-02"]',
      },
    ];
    h.answer(fields, expected, (q) => {
      expect(q.queryParameters).to.deep.equal([{ name: 'since', parameterType: { type: 'TIMESTAMP' }, parameterValue: { value: '2023-12-31T00:00:00.000Z' } }]);
      // A partition filter that keeps every date: a conflict log with requirePartitionFilter accepts the read.
      expect(q.query).to.include("`game_date` >= DATE '0001-01-01'");
    });
    expect(await h.warehouse().reports.conflictSummary(conflictLog, new Date('2023-12-31T00:00:00Z'))).to.deep.equal(expected);
  });

  it('the unresolved conflicts are the latest row of each conflict that never resolved', async () => {
    await h.hold(conflictLog, CONFLICT_ROWS);
    const fields = [
      { name: 'conflict_id', type: 'STRING' },
      { name: 'timestamp', type: 'TIMESTAMP' },
      { name: 'processor_name', type: 'STRING' },
      { name: 'game_id', type: 'STRING' },
      { name: 'game_date', type: 'DATE' },
      { name: 'retry_attempt', type: 'INTEGER' },
      { name: 'resolution_method', type: 'STRING' },
      { name: 'error_message', type: 'STRING' },
    ];
    const expected = [
      {
        conflict_id: 'cf-b',
        timestamp: '2024-01-01T11:00:00.000Z',
        processor_name: 'nbac_player_boxscore',
        game_id: null,
        game_date: '2024-01-02',
        retry_attempt: 1,
        resolution_method: null,
        error_message: 'streaming buffer',
      },
    ];
    h.answer(fields, expected, (q) => {
      // Both references to the log carry a partition filter (requirePartitionFilter).
      expect(q.query.match(/`game_date` >= DATE '0001-01-01'/g)).to.have.length(2);
    });
    expect(await h.warehouse().reports.unresolvedConflicts(conflictLog, new Date('2023-12-31T00:00:00Z'))).to.deep.equal(expected);
  });

  it('samplePredictions: the latest predicted slice in the range, biggest first, next to what was scored', async () => {
    await h.hold(predictions, [
      { game_date: '2024-01-01', player_id: 1, player_name: 'A', team_abbr: 'LAL', predicted_points: 20.5, prediction_basis: 'b' },
      { game_date: '2024-01-02', player_id: 1, player_name: 'A', team_abbr: 'LAL', predicted_points: 21.5, prediction_basis: 'b' },
      { game_date: '2024-01-02', player_id: 2, player_name: 'B', team_abbr: 'BOS', predicted_points: 30, prediction_basis: 'b' },
      { game_date: '2024-01-09', player_id: 2, player_name: 'B', team_abbr: 'BOS', predicted_points: 31, prediction_basis: 'b' },
    ]);
    await h.hold(actuals, [
      { game_date: '2024-01-02', player_id: 1, pts: 18 },
      { game_date: '2024-01-02', player_id: 2, pts: 33 },
    ]);
    const fields = [
      { name: 'game_date', type: 'STRING' },
      { name: 'player_name', type: 'STRING' },
      { name: 'team_abbr', type: 'STRING' },
      { name: 'predicted_points', type: 'FLOAT' },
      { name: 'prediction_basis', type: 'STRING' },
      { name: 'pts', type: 'INTEGER' },
    ];
    h.answer(
      fields,
      [
        { game_date: '2024-01-02', player_name: 'B', team_abbr: 'BOS', predicted_points: 30, prediction_basis: 'b', pts: 33 },
        { game_date: '2024-01-02', player_name: 'A', team_abbr: 'LAL', predicted_points: 21.5, prediction_basis: 'b', pts: 18 },
      ],
      (q) => expect(q.query).to.include('P.`game_date` BETWEEN @start AND @end AND A.`game_date` BETWEEN @start AND @end'),
    );
    expect(await h.warehouse().reports.samplePredictions({ predictions, actuals, range: { start: '2024-01-01', end: '2024-01-05' } })).to.deep.equal([
      { gameDate: '2024-01-02', player: 'B', team: 'BOS', predicted: 30, actual: 33, basis: 'b' },
      { gameDate: '2024-01-02', player: 'A', team: 'LAL', predicted: 21.5, actual: 18, basis: 'b' },
    ]);
  });
  it('gameHoldings: rows, tiers and sources per game of the slices asked, pruned to them', async () => {
    await h.hold(games, [
      { game_id: 'g1', player_id: 1, game_date: '2024-01-01', primary_source: 'nbac', data_quality_tier: 'silver' },
      { game_id: 'g1', player_id: 2, game_date: '2024-01-01', primary_source: 'nbac', data_quality_tier: 'gold' },
      { game_id: 'g2', player_id: 3, game_date: '2024-01-01', primary_source: 'bdl', data_quality_tier: 'silver' },
      { game_id: 'g3', player_id: 4, game_date: '2024-01-02', primary_source: 'nbac', data_quality_tier: 'gold' },
    ]);
    const fields = ['slice', 'unit', 'n', 'tiers', 'sources'].map((name) => ({ name, type: name === 'n' ? 'INTEGER' : 'STRING' }));
    h.answer(
      fields,
      [
        { slice: '2024-01-01', unit: 'g1', n: 2, tiers: 'gold,silver', sources: 'nbac' },
        { slice: '2024-01-01', unit: 'g2', n: 1, tiers: 'silver', sources: 'bdl' },
      ],
      (q) => {
        expect(q.query).to.include('WHERE `game_date` IN UNNEST(@slices) GROUP BY slice, unit');
        expect(q.queryParameters).to.deep.equal([
          {
            name: 'slices',
            parameterType: { type: 'ARRAY', arrayType: { type: 'DATE' } },
            parameterValue: { arrayValues: [{ value: '2024-01-01' }, { value: '2024-01-03' }] },
          },
        ]);
      },
    );
    expect(await h.warehouse().reports.gameHoldings(games, ['2024-01-01', '2024-01-03'])).to.deep.equal([
      { slice: '2024-01-01', unit: 'g1', rows: 2, tiers: ['gold', 'silver'], sources: ['nbac'] },
      { slice: '2024-01-01', unit: 'g2', rows: 1, tiers: ['silver'], sources: ['bdl'] },
    ]);
    // No slices, no read (BigQuery: no job was answered for it).
    expect(await h.warehouse().reports.gameHoldings(games, [])).to.deep.equal([]);
  });

  it('the coverage view: one row per game, its latest observation per table, the pick, the last event', async () => {
    await h.hold(coverageLog, COVERAGE_ROWS);
    h.viewCreated('nba_orchestration', 'conformance_coverage', (body) => {
      expect(body.view.useLegacySql).to.equal(false);
      expect(body.view.query).to.include(`FROM \`${PROJECT}.nba_orchestration.source_coverage_log\` WHERE event_type IN (`);
    });
    await h.warehouse().reports.ensureCoverageView(coverageLog, 'conformance_coverage');
    const fields = [
      { name: 'game_id', type: 'STRING' },
      { name: 'game_date', type: 'DATE' },
      { name: 'sources_present', type: 'STRING' },
      { name: 'sources_missing', type: 'STRING' },
      { name: 'fallback_used', type: 'BOOLEAN' },
      { name: 'primary_source', type: 'STRING' },
      { name: 'data_quality_tier', type: 'STRING' },
      { name: 'last_event_type', type: 'STRING' },
      { name: 'last_event_time', type: 'TIMESTAMP' },
      { name: 'last_severity', type: 'STRING' },
      { name: 'last_audit_run_id', type: 'STRING' },
      { name: 'events', type: 'INTEGER' },
    ];
    const expected = [
      {
        game_id: 'g1',
        game_date: '2024-01-01',
        sources_present: 'nbac',
        sources_missing: 'bdl',
        fallback_used: false,
        primary_source: 'nbac',
        data_quality_tier: 'silver',
        last_event_type: 'found',
        last_event_time: '2024-01-01T11:30:00.000Z',
        last_severity: 'info',
        last_audit_run_id: 'a2',
        events: 4,
      },
      {
        game_id: 'g2',
        game_date: '2024-01-01',
        sources_present: 'bdl',
        sources_missing: 'nbac',
        fallback_used: true,
        primary_source: null,
        data_quality_tier: null,
        last_event_type: 'fallback_requested',
        last_event_time: '2024-01-01T12:00:00.000Z',
        last_severity: 'warning',
        last_audit_run_id: 'a3',
        events: 3,
      },
    ];
    h.answer(fields, expected);
    const view = h.qualified({ dataset: 'nba_orchestration', table: 'conformance_coverage' });
    expect(await h.warehouse().query(`SELECT * FROM ${view} ORDER BY game_id`)).to.deep.equal(expected);
  });
}

describe('Warehouse conformance: DuckDB', () => {
  conformance(duckHarness);
});

describe('Warehouse conformance: BigQuery (nock)', () => {
  const creds = useNock();
  conformance(async () => bigQueryHarness(creds));
});

/**
 * What each warehouse declares instead of the queue layer knowing BigQuery: the daily
 * modifications a write spends, and the slices a streaming buffer keeps out of a MERGE.
 */
describe('Warehouse capabilities', () => {
  const buffered: TableSpec = { ...box, table: 'conformance_buffered', columns: [...box.columns, { name: 'processed_at', type: 'TIMESTAMP' }] };
  const row = (date: string, player: number, processedAt: string): Row => ({
    game_id: `g-${date}`,
    player_id: player,
    game_date: date,
    pts: 1,
    quality_issues: null,
    processed_at: processedAt,
  });

  describe('DuckDB, embedded', () => {
    let dir: string;
    let duck: DuckDBWarehouse;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'phasegate-capabilities-'));
      duck = await DuckDBWarehouse.open({ path: ':memory:', store: new LocalObjectStore(dir) });
    });
    afterEach(async () => {
      await duck.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('has no daily modification quota and no streaming buffer', () => {
      expect(duck.capabilities.countsAsDailyModification('dml')).to.equal(false);
      expect(duck.capabilities.countsAsDailyModification('load')).to.equal(false);
      expect(duck.capabilities.streamingBuffer).to.equal(undefined);
    });

    it('behind the BigQuery rules: BigQuery’s, the streamed slice held back by its processed_at', async () => {
      const ruled = new BigQueryRulesWarehouse(duck, { timeScale: 1 });
      await ruled.ensureTable(buffered);
      expect(ruled.capabilities.countsAsDailyModification('dml')).to.equal(false);
      expect(ruled.capabilities.countsAsDailyModification('load')).to.equal(true);
      const buffer = ruled.capabilities.streamingBuffer;
      expect(buffer).not.to.equal(undefined);
      expect(await buffer?.bufferedSlices(buffered, ['2024-01-01', '2024-01-02'], 0)).to.deep.equal({ slices: [] });
      const before = Date.now();
      await ruled.streamingInsert(buffered, [row('2024-01-02', 1, new Date().toISOString())]);
      const found = await buffer?.bufferedSlices(buffered, ['2024-01-01', '2024-01-02'], 60_000);
      expect(found?.slices).to.deep.equal(['2024-01-02']);
      expect(found?.oldestEntryTime?.getTime()).to.be.at.least(before);
      await ruled.close();
    });
  });

  describe('BigQuery (nock)', () => {
    const creds = useNock();

    it("declares BigQuery's rules; the buffer's slices are read with processed_at since its oldest entry, less the slack", async () => {
      const w = testWarehouse(creds);
      expect(w.capabilities.countsAsDailyModification('dml')).to.equal(false);
      expect(w.capabilities.countsAsDailyModification('load')).to.equal(true);
      nock(API)
        .get(`${BASE}/datasets/${buffered.dataset}/tables/${buffered.table}`)
        .query(true)
        .reply(200, { numRows: '3', streamingBuffer: { estimatedRows: '1', oldestEntryTime: String(Date.parse('2024-01-02T12:00:00Z')) } });
      const jobs = new Bodies();
      nock(API)
        .post(`${BASE}/jobs`, jobs.match)
        .query(true)
        .reply(200, () => doneJob(jobs.last, { statementType: 'SELECT' }))
        .get((p) => p.startsWith(`${BASE}/queries/`))
        .query(true)
        .reply(200, { jobComplete: true, ...restRows([{ name: 'slice', type: 'DATE' }], [{ slice: '2024-01-02' }]) });
      const found = await w.capabilities.streamingBuffer?.bufferedSlices(buffered, ['2024-01-01', '2024-01-02'], 300_000);
      expect(found).to.deep.equal({ slices: ['2024-01-02'], oldestEntryTime: new Date('2024-01-02T12:00:00Z') });
      const q = jobs.last.configuration.query;
      expect(q.query).to.include('`processed_at` >= @since');
      expect(q.queryParameters.find((p: Body) => p.name === 'since').parameterValue.value).to.equal('2024-01-02T11:55:00.000Z');
    });
  });
});
