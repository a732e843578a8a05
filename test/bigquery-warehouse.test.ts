/**
 * BigQueryWarehouse against BigQuery's REST API as recorded by nock: the requests the real
 * client sends (bodies asserted) and the payloads BigQuery really answers, errors included.
 * No network: the OAuth token exchange is intercepted too, with a throwaway RSA key.
 */
import { expect } from 'chai';
import nock from 'nock';
import { BusyError } from '../src/errors/busy-error.ts';
import { ConflictError } from '../src/errors/conflict-error.ts';
import { InputError } from '../src/errors/input-error.ts';
import { PermanentError } from '../src/errors/permanent-error.ts';
import { TransientError } from '../src/errors/transient-error.ts';
import type { WarehouseError } from '../src/errors/warehouse-error.ts';
import type { TableSpec } from '../src/processors/types.ts';
import { BigQueryWarehouse } from '../src/warehouse/bigquery/bigquery-warehouse.ts';
import type { CommitBatch } from '../src/warehouse/types.ts';
import {
  API,
  acceptJobs as acceptAnyJobs,
  answerQuery as answerPages,
  BASE,
  Bodies,
  type Body,
  BUCKET,
  doneJob,
  PROJECT,
  testBigQuery,
  testWarehouse,
  useNock,
} from './bigquery-nock.ts';

const spec: TableSpec = {
  dataset: 'nba_raw',
  table: 'player_boxscores',
  columns: [
    { name: 'game_id', type: 'STRING', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'pts', type: 'INT64' },
    { name: 'min_played', type: 'FLOAT64' },
    { name: 'starter', type: 'BOOL' },
    { name: 'scraped_at', type: 'TIMESTAMP' },
    { name: 'raw', type: 'JSON', description: 'the source row' },
  ],
  primaryKey: ['game_id', 'player_id'],
  sliceColumn: 'game_date',
};

/** What BigQuery answers for the replace MERGE (ON FALSE): every staged key inserted, the slices' old rows deleted. */
const MERGE_STATS = {
  statementType: 'MERGE',
  numDmlAffectedRows: '25',
  dmlStats: { insertedRowCount: '23', deletedRowCount: '2' },
};

describe('BigQueryWarehouse (nock)', () => {
  const creds = useNock();
  let warehouse: BigQueryWarehouse;

  beforeEach(() => {
    warehouse = testWarehouse(creds);
  });

  const batch = (over: Partial<CommitBatch> = {}): CommitBatch => ({
    batchId: 'nba_raw.player_boxscores-commit:42-a0',
    table: spec,
    slices: ['2024-01-01', '2024-01-02'],
    objects: ['staging/nba_raw.player_boxscores/2024-01-01/1-a.ndjson', 'staging/nba_raw.player_boxscores/2024-01-02/2-b.ndjson'],
    ...over,
  });

  /** Answers every jobs.insert with a finished MERGE (by default) and records the bodies. */
  const acceptJobs = (times: number, statistics: Body = MERGE_STATS): Body[] => acceptAnyJobs(times, statistics);

  describe('ensureTable', () => {
    it('creates the dataset and a day-partitioned, clustered table with REQUIRED modes', async () => {
      const datasetBody = new Bodies();
      const tableBody = new Bodies();
      const notFound = (what: string) => ({
        error: { code: 404, message: `Not found: ${what}`, errors: [{ reason: 'notFound', message: `Not found: ${what}` }] },
      });
      nock(API)
        .get(`${BASE}/datasets/nba_raw`)
        .query(true)
        .reply(404, notFound(`Dataset ${PROJECT}:nba_raw`))
        .post(`${BASE}/datasets`, datasetBody.match)
        .query(true)
        .reply(200, { datasetReference: { projectId: PROJECT, datasetId: 'nba_raw' }, location: 'US' })
        .get(`${BASE}/datasets/nba_raw/tables/player_boxscores`)
        .query(true)
        .reply(404, notFound(`Table ${PROJECT}:nba_raw.player_boxscores`))
        .post(`${BASE}/datasets/nba_raw/tables`, tableBody.match)
        .query(true)
        .reply(200, () => ({ ...tableBody.last, location: 'US' }));

      await warehouse.ensureTable(spec);

      expect(datasetBody.last).to.deep.include({ location: 'US', datasetReference: { datasetId: 'nba_raw' } });
      const table = tableBody.last;
      expect(table.tableReference).to.deep.equal({ projectId: PROJECT, datasetId: 'nba_raw', tableId: 'player_boxscores' });
      expect(table.timePartitioning).to.deep.equal({ type: 'DAY', field: 'game_date' });
      expect(table.clustering).to.deep.equal({ fields: ['game_id', 'player_id'] });
      expect(table.requirePartitionFilter).to.equal(false);
      expect(table.schema.fields).to.deep.equal([
        { name: 'game_id', type: 'STRING', mode: 'REQUIRED' },
        { name: 'player_id', type: 'INT64', mode: 'REQUIRED' },
        { name: 'game_date', type: 'DATE', mode: 'REQUIRED' },
        { name: 'pts', type: 'INT64', mode: 'NULLABLE' },
        { name: 'min_played', type: 'FLOAT64', mode: 'NULLABLE' },
        { name: 'starter', type: 'BOOL', mode: 'NULLABLE' },
        { name: 'scraped_at', type: 'TIMESTAMP', mode: 'NULLABLE' },
        { name: 'raw', type: 'JSON', mode: 'NULLABLE', description: 'the source row' },
      ]);
    });

    it('tolerates 409 already-exists from a concurrent creator, and uses clusterBy and the dataset prefix', async () => {
      const client = testBigQuery(creds, 'EU');
      const prefixed = new BigQueryWarehouse({ projectId: PROJECT, location: 'EU', datasetPrefix: 'dev_', bucket: BUCKET, client });
      const tableBody = new Bodies();
      const exists = (what: string) => ({
        error: { code: 409, message: `Already Exists: ${what}`, errors: [{ reason: 'duplicate', message: `Already Exists: ${what}` }] },
      });
      nock(API)
        .get(`${BASE}/datasets/dev_nba_raw`)
        .query(true)
        .reply(404, { error: { code: 404, message: 'Not found', errors: [{ reason: 'notFound' }] } })
        .post(`${BASE}/datasets`, (b: Body) => b.datasetReference.datasetId === 'dev_nba_raw' && b.location === 'EU')
        .query(true)
        .reply(409, exists(`Dataset ${PROJECT}:dev_nba_raw`))
        .get(`${BASE}/datasets/dev_nba_raw/tables/player_boxscores`)
        .query(true)
        .reply(404, { error: { code: 404, message: 'Not found', errors: [{ reason: 'notFound' }] } })
        .post(`${BASE}/datasets/dev_nba_raw/tables`, tableBody.match)
        .query(true)
        .reply(409, exists(`Table ${PROJECT}:dev_nba_raw.player_boxscores`));

      await prefixed.ensureTable({ ...spec, clusterBy: ['player_id'] });
      expect(tableBody.last.clustering).to.deep.equal({ fields: ['player_id'] });
    });

    it('creates nothing when dataset and table exist', async () => {
      nock(API)
        .get(`${BASE}/datasets/nba_raw`)
        .query(true)
        .reply(200, { datasetReference: { projectId: PROJECT, datasetId: 'nba_raw' } })
        .get(`${BASE}/datasets/nba_raw/tables/player_boxscores`)
        .query(true)
        .reply(200, { tableReference: { projectId: PROJECT, datasetId: 'nba_raw', tableId: 'player_boxscores' } });
      await warehouse.ensureTable(spec);
    });

    it('refuses an identifier that is not plain before any request', async () => {
      const bad = { ...spec, columns: [...spec.columns, { name: 'pts; DROP TABLE x', type: 'INT64' as const }] };
      try {
        await warehouse.ensureTable(bad);
        expect.fail('ensureTable should have thrown');
      } catch (err) {
        expect(err).to.be.instanceOf(InputError);
      }
    });
  });

  describe('commit', () => {
    it('lands a merge batch with ONE query job: a replace MERGE (ON FALSE) over a temporary external table, pruned to @slices', async () => {
      const bodies = acceptJobs(1);
      const result = await warehouse.commit(batch());

      expect(bodies).to.have.length(1);
      const body = bodies[0] as Body;
      expect(body.jobReference.jobId).to.match(/^phasegate_nba_raw_player_boxscores_nba_raw_player_boxscores-commit_42-a0_[0-9a-f]{12}$/);
      expect(body.jobReference.location).to.equal('US');
      expect(body.configuration.load).to.equal(undefined);
      const q = body.configuration.query;
      expect(q.useLegacySql).to.equal(false);
      expect(q.query).to.match(/^MERGE `phasegate-test\.nba_raw\.player_boxscores` AS T/);
      // No join with the target: the only clause that reads it carries the constant partition filter.
      expect(q.query).to.include('\nON FALSE\n');
      expect(q.query).not.to.include('WHEN MATCHED');
      expect(q.query).to.include('ROW_NUMBER() OVER (PARTITION BY `game_id`, `player_id`');
      expect(q.query).to.include('FROM `staging`');
      expect(q.query).to.include('PARSE_JSON(`raw`) AS `raw`');
      expect(q.query).to.include('WHEN NOT MATCHED BY TARGET THEN INSERT (`game_id`, `player_id`, `game_date`');
      expect(q.query).to.match(/WHEN NOT MATCHED BY SOURCE AND T\.`game_date` IN UNNEST\(@slices\) THEN DELETE$/);
      expect(q.query).not.to.include('2024-01-01');
      expect(q.parameterMode).to.equal('NAMED');
      expect(q.queryParameters).to.deep.equal([
        {
          name: 'slices',
          parameterType: { type: 'ARRAY', arrayType: { type: 'DATE' } },
          parameterValue: { arrayValues: [{ value: '2024-01-01' }, { value: '2024-01-02' }] },
        },
      ]);
      const staging = q.tableDefinitions.staging;
      expect(staging.sourceUris).to.deep.equal([
        `gs://${BUCKET}/staging/nba_raw.player_boxscores/2024-01-01/1-a.ndjson`,
        `gs://${BUCKET}/staging/nba_raw.player_boxscores/2024-01-02/2-b.ndjson`,
      ]);
      expect(staging.sourceFormat).to.equal('NEWLINE_DELIMITED_JSON');
      expect(staging.schema.fields.find((f: Body) => f.name === 'raw')).to.deep.equal({ name: 'raw', type: 'STRING', mode: 'NULLABLE' });
      expect(result).to.deep.equal({ rowsAffected: 25, rowsStaged: 23 });
    });

    it('derives the job id from the batch id only: same batch, same id; another batch, another id', async () => {
      const bodies = acceptJobs(3);
      await warehouse.commit(batch());
      await warehouse.commit(batch());
      await warehouse.commit(batch({ batchId: 'nba_raw.player_boxscores-commit:42-a1' }));
      const ids = bodies.map((b) => b.jobReference.jobId as string);
      expect(ids[0]).to.equal(ids[1]);
      expect(ids[2]).not.to.equal(ids[0]);
      for (const id of ids) expect(id).to.match(/^[A-Za-z0-9_-]{1,1024}$/);
    });

    it('keeps very long batch ids within 1,024 characters', async () => {
      const bodies = acceptJobs(1);
      await warehouse.commit(batch({ batchId: 'x'.repeat(3000) }));
      expect((bodies[0] as Body).jobReference.jobId).to.have.length.at.most(1024);
    });

    it('appends with one INSERT … SELECT from the staging table (log tables)', async () => {
      const bodies = acceptJobs(1, { statementType: 'INSERT', numDmlAffectedRows: '7', dmlStats: { insertedRowCount: '7' } });
      const result = await warehouse.commit(batch({ table: { ...spec, writeMode: 'append' } }));
      const q = (bodies[0] as Body).configuration.query;
      expect(q.query).to.match(/^INSERT INTO `phasegate-test\.nba_raw\.player_boxscores` \(`game_id`, /);
      expect(q.query).not.to.include('MERGE');
      expect(q.query).to.include('FROM `staging`');
      expect(q.query).to.include('T.`game_date` IN UNNEST(@slices)');
      expect(q.tableDefinitions.staging.sourceUris).to.have.length(2);
      expect(result).to.deep.equal({ rowsAffected: 7, rowsStaged: 7 });
    });

    it('deletes the slices with one DELETE when the batch staged no object', async () => {
      const bodies = acceptJobs(1, { statementType: 'DELETE', numDmlAffectedRows: '9' });
      const result = await warehouse.commit(batch({ objects: [] }));
      const q = (bodies[0] as Body).configuration.query;
      expect(q.query).to.equal('DELETE FROM `phasegate-test.nba_raw.player_boxscores` WHERE `game_date` IN UNNEST(@slices)');
      expect(q.tableDefinitions).to.equal(undefined);
      expect(result).to.deep.equal({ rowsAffected: 9, rowsStaged: 0 });
    });

    it('waits for a running job by polling jobs.get', async () => {
      const inserted = new Bodies();
      const jobPath = () => `${BASE}/jobs/${inserted.last.jobReference.jobId}`;
      nock(API)
        .post(`${BASE}/jobs`, inserted.match)
        .query(true)
        .reply(200, () => doneJob(inserted.last, {}, { state: 'RUNNING' }))
        .get((path) => path.startsWith(`${BASE}/jobs/`))
        .query((q) => q.location === 'US')
        .reply(200, () => doneJob(inserted.last, {}, { state: 'RUNNING' }))
        .get((path) => path.startsWith(`${BASE}/jobs/`))
        .query(true)
        .reply(200, () => doneJob(inserted.last, MERGE_STATS));
      const result = await warehouse.commit(batch());
      expect(jobPath()).to.include('phasegate_nba_raw_player_boxscores');
      expect(result.rowsAffected).to.equal(25);
    });

    it('on 409 from jobs.insert fetches the existing job and waits for it instead of running again', async () => {
      const inserted = new Bodies();
      let fetchedPath = '';
      nock(API)
        .post(`${BASE}/jobs`, inserted.match)
        .query(true)
        .reply(409, () => ({
          error: {
            code: 409,
            message: `Already Exists: Job ${PROJECT}:US.${inserted.last.jobReference.jobId}`,
            errors: [{ reason: 'duplicate', message: `Already Exists: Job ${PROJECT}:US.${inserted.last.jobReference.jobId}` }],
            status: 'ALREADY_EXISTS',
          },
        }))
        .get((path) => {
          fetchedPath = path;
          return path.startsWith(`${BASE}/jobs/`);
        })
        .query(true)
        .reply(200, () => doneJob(inserted.last, MERGE_STATS));
      const result = await warehouse.commit(batch());
      expect(fetchedPath).to.equal(`${BASE}/jobs/${inserted.last.jobReference.jobId}`);
      expect(result).to.deep.equal({ rowsAffected: 25, rowsStaged: 23 });
    });

    it('re-runs under `<id>_r2` when the existing job failed (a failed DML changed nothing)', async () => {
      const jobs = new Bodies();
      nock(API)
        .post(`${BASE}/jobs`, jobs.match)
        .query(true)
        .reply(409, { error: { code: 409, message: 'Already Exists: Job', errors: [{ reason: 'duplicate', message: 'Already Exists: Job' }] } })
        .get((path) => path.startsWith(`${BASE}/jobs/`))
        .query(true)
        .reply(200, () =>
          doneJob(
            jobs.last,
            {},
            {
              state: 'DONE',
              errorResult: { reason: 'resourcesExceeded', message: 'Too many DML statements outstanding against table x, limit is 20.' },
            },
          ),
        )
        .post(`${BASE}/jobs`, jobs.match)
        .query(true)
        .reply(200, () => doneJob(jobs.last, MERGE_STATS));
      const result = await warehouse.commit(batch());
      const ids = jobs.all.map((b) => b.jobReference.jobId as string);
      expect(ids).to.have.length(2);
      expect(ids[1]).to.equal(`${ids[0]}_r2`);
      expect(result.rowsAffected).to.equal(25);
    });

    it('refuses to adopt an existing job that ran a different statement', async () => {
      const inserted = new Bodies();
      nock(API)
        .post(`${BASE}/jobs`, inserted.match)
        .query(true)
        .reply(409, { error: { code: 409, message: 'Already Exists: Job', errors: [{ reason: 'duplicate' }] } })
        .get((path) => path.startsWith(`${BASE}/jobs/`))
        .query(true)
        .reply(200, () => {
          const job = doneJob(inserted.last, MERGE_STATS);
          job.configuration.query = { ...job.configuration.query, query: 'SELECT 1' };
          return job;
        });
      const err = await warehouse.commit(batch()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(PermanentError);
      expect((err as Error).message).to.match(/batch ids must not be reused/);
    });

    it('never calls insertAll or starts a load job', async () => {
      const bodies = acceptJobs(2);
      await warehouse.commit(batch());
      await warehouse.commit(batch({ batchId: 'other', table: { ...spec, writeMode: 'append' } }));
      for (const b of bodies) {
        expect(Object.keys(b.configuration)).to.deep.equal(['query']);
      }
      // nock refuses every other request (disableNetConnect); `unmatched` is checked after each test.
    });

    it('validates staged keys and slices before any request', async () => {
      for (const bad of [batch({ objects: ['../etc/passwd'] }), batch({ slices: ["2024-01-01' OR TRUE --"] })]) {
        const err = await warehouse.commit(bad).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(InputError);
      }
    });
  });

  describe('errors map to our classes from the payloads BigQuery really sends', () => {
    const T = `${PROJECT}.nba_raw.player_boxscores`;
    const failedJobs: [string, Body, new (...a: never[]) => WarehouseError][] = [
      [
        'streaming buffer → ConflictError',
        { reason: 'invalidQuery', message: `UPDATE or DELETE statement over table ${T} would affect rows in the streaming buffer, which is not supported` },
        ConflictError,
      ],
      [
        'DML queue full → BusyError',
        {
          reason: 'resourcesExceeded',
          message: `Resources exceeded during query execution: Too many DML statements outstanding against table ${PROJECT}:nba_raw.player_boxscores, limit is 20.`,
        },
        BusyError,
      ],
      ['concurrent update → BusyError', { reason: 'invalidQuery', message: `Could not serialize access to table ${T} due to concurrent update` }, BusyError],
      [
        'table update rate → BusyError',
        { reason: 'rateLimitExceeded', message: 'Exceeded rate limits: too many table update operations for this table' },
        BusyError,
      ],
      ['syntax error → PermanentError', { reason: 'invalidQuery', message: 'Syntax error: Unexpected keyword WHEN at [4:1]' }, PermanentError],
      ['missing table → PermanentError', { reason: 'notFound', message: `Not found: Table ${T} was not found in location US` }, PermanentError],
      ['job backendError → TransientError', { reason: 'backendError', message: 'Backend error. Job aborted.' }, TransientError],
    ];

    for (const [name, errorResult, cls] of failedJobs) {
      it(`a job that ends with status.errorResult: ${name}`, async () => {
        const inserted = new Bodies();
        nock(API)
          .post(`${BASE}/jobs`, inserted.match)
          .query(true)
          .reply(200, () => doneJob(inserted.last, {}, { state: 'RUNNING' }))
          .get((path) => path.startsWith(`${BASE}/jobs/`))
          .query(true)
          .reply(200, () => doneJob(inserted.last, {}, { state: 'DONE', errorResult, errors: [errorResult] }));
        const err = await warehouse.commit(batch()).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(cls);
        expect((err as WarehouseError).reason).to.equal(errorResult.reason);
        expect((err as WarehouseError).table).to.equal('nba_raw.player_boxscores');
        expect((err as Error).message).to.equal(errorResult.message);
      });
    }

    it('a job already failed in the jobs.insert answer: DML queue full → BusyError', async () => {
      const errorResult = {
        reason: 'resourcesExceeded',
        message: `Resources exceeded during query execution: Too many DML statements outstanding against table ${T}, limit is 20.`,
      };
      const inserted = new Bodies();
      nock(API)
        .post(`${BASE}/jobs`, inserted.match)
        .query(true)
        .reply(200, () => doneJob(inserted.last, {}, { state: 'DONE', errorResult, errors: [errorResult] }));
      const err = await warehouse.commit(batch()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(BusyError);
    });

    /**
     * Errors BigQuery lists in `status.errors` of a job that still succeeded: only
     * `status.errorResult` means failure (REST reference, JobStatus). A bad-row warning of an
     * external source is the usual one.
     */
    const nonFatal = [
      {
        reason: 'invalid',
        location: `gs://${BUCKET}/staging/nba_raw.player_boxscores/2024-01-01/1-a.ndjson`,
        message: 'Error while reading data, error message: JSON parsing error in row starting at position 0: Parser terminated before end of string',
      },
    ];

    it('a job DONE with only non-fatal status.errors in the jobs.insert answer is a success', async () => {
      const inserted = new Bodies();
      nock(API)
        .post(`${BASE}/jobs`, inserted.match)
        .query(true)
        .reply(200, () => doneJob(inserted.last, MERGE_STATS, { state: 'DONE', errors: nonFatal }));
      const result = await warehouse.commit(batch());
      expect(result).to.deep.equal({ rowsAffected: 25, rowsStaged: 23 });
    });

    it('a job RUNNING with non-fatal status.errors in the jobs.insert answer is waited for, not failed', async () => {
      const inserted = new Bodies();
      let polled = '';
      nock(API)
        .post(`${BASE}/jobs`, inserted.match)
        .query(true)
        .reply(200, () => doneJob(inserted.last, {}, { state: 'RUNNING', errors: nonFatal }))
        .get((path) => {
          polled = path;
          return path.startsWith(`${BASE}/jobs/`);
        })
        .query((q) => q.location === 'US')
        .reply(200, () => doneJob(inserted.last, MERGE_STATS, { state: 'DONE', errors: nonFatal }));
      const result = await warehouse.commit(batch());
      expect(polled).to.equal(`${BASE}/jobs/${inserted.last.jobReference.jobId}`);
      expect(result.rowsAffected).to.equal(25);
    });

    it('a job that ends DONE with only non-fatal status.errors on jobs.get is a success', async () => {
      const inserted = new Bodies();
      nock(API)
        .post(`${BASE}/jobs`, inserted.match)
        .query(true)
        .reply(200, () => doneJob(inserted.last, {}, { state: 'RUNNING' }))
        .get((path) => path.startsWith(`${BASE}/jobs/`))
        .query(true)
        .reply(200, () => doneJob(inserted.last, MERGE_STATS, { state: 'DONE', errors: nonFatal }));
      expect((await warehouse.commit(batch())).rowsAffected).to.equal(25);
    });

    for (const reason of ['backendError', 'internalError']) {
      it(`HTTP 500 ${reason} on jobs.insert → TransientError`, async () => {
        nock(API)
          .post(`${BASE}/jobs`)
          .query(true)
          .reply(500, { error: { code: 500, message: 'Backend Error', errors: [{ reason, message: 'Backend Error', domain: 'global' }], status: 'INTERNAL' } });
        const err = await warehouse.commit(batch()).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(TransientError);
        expect((err as WarehouseError).reason).to.equal(reason);
      });
    }

    it('HTTP 404 notFound on tables.get → PermanentError', async () => {
      nock(API)
        .get(`${BASE}/datasets/nba_raw/tables/player_boxscores`)
        .query(true)
        .reply(404, { error: { code: 404, message: `Not found: Table ${T}`, errors: [{ reason: 'notFound', message: `Not found: Table ${T}` }] } });
      const err = await warehouse.tableMetadata(spec).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(PermanentError);
    });
  });

  describe('tableMetadata', () => {
    it('reads numRows and streamingBuffer.oldestEntryTime from tables.get', async () => {
      nock(API)
        .get(`${BASE}/datasets/nba_raw/tables/player_boxscores`)
        .query(true)
        .reply(200, {
          tableReference: { projectId: PROJECT, datasetId: 'nba_raw', tableId: 'player_boxscores' },
          numRows: '1234',
          streamingBuffer: { estimatedRows: '56', estimatedBytes: '7890', oldestEntryTime: '1704067200000' },
        });
      const meta = await warehouse.tableMetadata(spec);
      expect(meta.numRows).to.equal(1234);
      expect(meta.streamingBuffer?.oldestEntryTime.toISOString()).to.equal('2024-01-01T00:00:00.000Z');
      expect(meta.streamingBuffer?.estimatedRows).to.equal(56);
    });

    it('has no streamingBuffer once the buffer has flushed', async () => {
      nock(API).get(`${BASE}/datasets/nba_raw/tables/player_boxscores`).query(true).reply(200, { numRows: '10' });
      expect(await warehouse.tableMetadata(spec)).to.deep.equal({ numRows: 10 });
    });
  });

  describe('query, readSlices, presentSlices', () => {
    /** A finished query job, then its results in pages (bigquery-nock.ts). */
    const answerQuery = answerPages;

    const schema = {
      fields: [
        { name: 'game_id', type: 'STRING', mode: 'REQUIRED' },
        { name: 'player_id', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'game_date', type: 'DATE', mode: 'REQUIRED' },
        { name: 'min_played', type: 'FLOAT', mode: 'NULLABLE' },
        { name: 'starter', type: 'BOOLEAN', mode: 'NULLABLE' },
        { name: 'scraped_at', type: 'TIMESTAMP', mode: 'NULLABLE' },
        { name: 'raw', type: 'JSON', mode: 'NULLABLE' },
      ],
    };

    it('sends values as named parameters, never in the text, and returns plain rows across pages', async () => {
      const sql = 'SELECT * FROM `phasegate-test.nba_raw.player_boxscores` WHERE game_date = @day AND pts >= @min AND team = @team AND game_id IN UNNEST(@ids)';
      const bodies = answerQuery([
        {
          schema,
          totalRows: '2',
          rows: [{ f: [{ v: '0022300001' }, { v: '2544' }, { v: '2024-01-01' }, { v: '35.5' }, { v: 'true' }, { v: '1704067200123456' }, { v: '{"a":1}' }] }],
        },
        { schema, rows: [{ f: [{ v: '0022300002' }, { v: '201939' }, { v: '2024-01-02' }, { v: null }, { v: 'false' }, { v: null }, { v: null }] }] },
      ]);

      const rows = await warehouse.query(sql, { day: '2024-01-01', min: 20, team: 'LAL', ids: ['0022300001', '0022300002'] });

      const q = (bodies[0] as Body).configuration.query;
      expect(q.query).to.equal(sql);
      expect(q.useLegacySql).to.equal(false);
      expect(q.queryParameters).to.deep.equal([
        { name: 'day', parameterType: { type: 'DATE' }, parameterValue: { value: '2024-01-01' } },
        { name: 'min', parameterType: { type: 'INT64' }, parameterValue: { value: '20' } },
        { name: 'team', parameterType: { type: 'STRING' }, parameterValue: { value: 'LAL' } },
        {
          name: 'ids',
          parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } },
          parameterValue: { arrayValues: [{ value: '0022300001' }, { value: '0022300002' }] },
        },
      ]);
      expect(rows).to.deep.equal([
        {
          game_id: '0022300001',
          player_id: 2544,
          game_date: '2024-01-01',
          min_played: 35.5,
          starter: true,
          scraped_at: '2024-01-01T00:00:00.123456Z',
          raw: '{"a":1}',
        },
        { game_id: '0022300002', player_id: 201939, game_date: '2024-01-02', min_played: null, starter: false, scraped_at: null, raw: null },
      ]);
    });

    it('rejects statements that are not one SELECT/WITH before any request', async () => {
      for (const sql of [
        'DELETE FROM `p.d.t` WHERE TRUE',
        'SELECT 1; DROP TABLE `p.d.t`',
        '-- SELECT\nUPDATE t SET a = 1 WHERE TRUE',
        'MERGE t USING s ON TRUE WHEN MATCHED THEN DELETE',
      ]) {
        const err = await warehouse.query(sql).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, sql).to.be.instanceOf(InputError);
      }
    });

    it('accepts WITH, comments and a `;` inside a string', async () => {
      answerQuery([{ schema: { fields: [{ name: 'x', type: 'STRING' }] }, rows: [{ f: [{ v: 'a;b' }] }] }]);
      const rows = await warehouse.query("/* report */ WITH t AS (SELECT 'a;b' AS x) SELECT x FROM t;");
      expect(rows).to.deep.equal([{ x: 'a;b' }]);
    });

    it('readSlices filters on @slices ARRAY<DATE> and orders by slice and key', async () => {
      const bodies = answerQuery([{ schema, rows: [] }]);
      expect(await warehouse.readSlices(spec, ['2024-01-01'])).to.deep.equal([]);
      const q = (bodies[0] as Body).configuration.query;
      expect(q.query).to.equal(
        'SELECT `game_id`, `player_id`, `game_date`, `pts`, `min_played`, `starter`, `scraped_at`, `raw` ' +
          'FROM `phasegate-test.nba_raw.player_boxscores` WHERE `game_date` IN UNNEST(@slices) ORDER BY `game_date`, `game_id`, `player_id`',
      );
      expect(q.queryParameters[0].parameterType).to.deep.equal({ type: 'ARRAY', arrayType: { type: 'DATE' } });
    });

    it('presentSlices returns the slice dates found, as strings', async () => {
      const bodies = answerQuery([{ schema: { fields: [{ name: 'slice', type: 'DATE', mode: 'NULLABLE' }] }, rows: [{ f: [{ v: '2024-01-02' }] }] }]);
      expect(await warehouse.presentSlices(spec, ['2024-01-01', '2024-01-02'])).to.deep.equal(['2024-01-02']);
      const q = (bodies[0] as Body).configuration.query;
      expect(q.query).to.include('SELECT DISTINCT `game_date` AS slice');
      expect(q.queryParameters[0].parameterValue).to.deep.equal({ arrayValues: [{ value: '2024-01-01' }, { value: '2024-01-02' }] });
    });

    it("readTables reads several tables in ONE query job: typed NULLs fill the other tables' columns, each read gets its rows back under its own names", async () => {
      const teams: TableSpec = {
        dataset: 'nba_raw',
        table: 'team_boxscores',
        columns: [
          { name: 'game_id', type: 'STRING', nullable: false },
          { name: 'team', type: 'STRING', nullable: false },
          { name: 'game_date', type: 'DATE', nullable: false },
          // The same name as a column of the first table, of another type: told apart by place.
          { name: 'pts', type: 'FLOAT64' },
        ],
        primaryKey: ['game_id', 'team'],
        sliceColumn: 'game_date',
      };
      const at = (part: number, cells: (string | null)[], width = 12) => {
        const f = Array.from({ length: width }, () => ({ v: null as string | null }));
        f[0] = { v: String(part) };
        const offset = part === 0 ? 1 : 9;
        for (const [k, v] of cells.entries()) f[offset + k] = { v };
        return { f };
      };
      const fields = [
        { name: '_phasegate_part', type: 'INTEGER' },
        ...spec.columns.map((c, k) => ({ name: `p0_${k}`, type: { INT64: 'INTEGER', FLOAT64: 'FLOAT', BOOL: 'BOOLEAN' }[c.type as string] ?? c.type })),
        ...teams.columns.map((c, k) => ({ name: `p1_${k}`, type: c.type === 'FLOAT64' ? 'FLOAT' : c.type })),
      ];
      const bodies = answerQuery([
        {
          schema: { fields },
          rows: [
            at(0, ['0022300001', '2544', '2024-01-01', '31', '35.5', 'true', '1704067200123456', '{"a":1}']),
            at(1, ['0022300001', 'LAL', '2024-01-01', '112.0']),
          ],
          pageToken: 'next',
        },
        { schema: { fields }, rows: [at(1, ['0022300001', 'PHX', '2024-01-01', null])] },
      ]);

      const out = await warehouse.readTables([
        { spec, slices: ['2024-01-01'] },
        { spec: { ...spec, table: 'nobody_asked' }, slices: [] },
        { spec: teams, slices: ['2024-01-01', '2024-01-02'] },
      ]);

      expect(bodies).to.have.length(1);
      const q = (bodies[0] as Body).configuration.query;
      const others = 'CAST(NULL AS STRING) AS `p1_0`, CAST(NULL AS STRING) AS `p1_1`, CAST(NULL AS DATE) AS `p1_2`, CAST(NULL AS FLOAT64) AS `p1_3`';
      expect(q.query).to.equal(
        'SELECT 0 AS `_phasegate_part`, `game_id` AS `p0_0`, `player_id` AS `p0_1`, `game_date` AS `p0_2`, `pts` AS `p0_3`, `min_played` AS `p0_4`, ' +
          '`starter` AS `p0_5`, `scraped_at` AS `p0_6`, `raw` AS `p0_7`, ' +
          `${others} FROM \`phasegate-test.nba_raw.player_boxscores\` WHERE \`game_date\` IN UNNEST(@slices_0)\n` +
          'UNION ALL\n' +
          'SELECT 1 AS `_phasegate_part`, CAST(NULL AS STRING) AS `p0_0`, CAST(NULL AS INT64) AS `p0_1`, CAST(NULL AS DATE) AS `p0_2`, CAST(NULL AS INT64) AS `p0_3`, ' +
          'CAST(NULL AS FLOAT64) AS `p0_4`, CAST(NULL AS BOOL) AS `p0_5`, CAST(NULL AS TIMESTAMP) AS `p0_6`, CAST(NULL AS JSON) AS `p0_7`, ' +
          '`game_id` AS `p1_0`, `team` AS `p1_1`, `game_date` AS `p1_2`, `pts` AS `p1_3` FROM `phasegate-test.nba_raw.team_boxscores` WHERE `game_date` IN UNNEST(@slices_1)\n' +
          'ORDER BY `_phasegate_part`, `p0_2`, `p0_0`, `p0_1`, `p1_2`, `p1_0`, `p1_1`',
      );
      expect(q.queryParameters.map((p: { name: string; parameterValue: unknown }) => [p.name, p.parameterValue])).to.deep.equal([
        ['slices_0', { arrayValues: [{ value: '2024-01-01' }] }],
        ['slices_1', { arrayValues: [{ value: '2024-01-01' }, { value: '2024-01-02' }] }],
      ]);
      expect(out).to.deep.equal([
        [
          {
            game_id: '0022300001',
            player_id: 2544,
            game_date: '2024-01-01',
            pts: 31,
            min_played: 35.5,
            starter: true,
            scraped_at: '2024-01-01T00:00:00.123456Z',
            raw: '{"a":1}',
          },
        ],
        [],
        [
          { game_id: '0022300001', team: 'LAL', game_date: '2024-01-01', pts: 112 },
          { game_id: '0022300001', team: 'PHX', game_date: '2024-01-01', pts: null },
        ],
      ]);
      expect(await warehouse.readTables([{ spec, slices: [] }])).to.deep.equal([[]]);
    });

    it('readSlices and presentSlices of no slices send nothing', async () => {
      expect(await warehouse.readSlices(spec, [])).to.deep.equal([]);
      expect(await warehouse.presentSlices(spec, [])).to.deep.equal([]);
    });
  });
});
