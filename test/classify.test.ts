/**
 * The warehouse error classifier against real payloads of every class: the Node client's
 * `ApiError` for a failed HTTP call (`code` + `errors[].reason`), a failed job as our BigQuery
 * adapter surfaces it (`status.errorResult`, no `code`), a job `status` object itself, socket
 * errors, and what the BigQuery rules layer throws from real statements on DuckDB.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Redis, ReplyError } from 'ioredis';
import { BusyError } from '../src/errors/busy-error.ts';
import { BIGQUERY_TEXTS, BigQueryJobError, busyCause, classifyKind, classifyWarehouseError } from '../src/errors/classify.ts';
import { ConflictError } from '../src/errors/conflict-error.ts';
import { PermanentError } from '../src/errors/permanent-error.ts';
import { TransientError } from '../src/errors/transient-error.ts';
import type { WarehouseErrorKind } from '../src/errors/warehouse-error.ts';
import { WarehouseInvalidatedError } from '../src/errors/warehouse-invalidated-error.ts';
import type { TableSpec } from '../src/processors/types.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { jobFailure } from '../src/warehouse/bigquery/jobs.ts';
import { fromDuckDBError } from '../src/warehouse/duckdb/duckdb-errors.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import type { BigQueryRulesOptions } from '../src/warehouse/rules/options.ts';
import { TEST_REDIS_URL } from './helpers.ts';

const T = 'nba-props-platform:nba_raw.nbac_player_boxscores';

/** The Node client's `ApiError` for a failed REST call (what `util.ApiError` builds from the response). */
function apiError(code: number, reason: string, message: string) {
  return Object.assign(new Error(message), {
    name: 'ApiError',
    code,
    errors: [{ domain: 'global', reason, message }],
    response: { statusCode: code },
  });
}

/** A job that ended DONE with `status.errorResult`, as `waitForJob` throws it. */
function failedJob(reason: string, message: string) {
  return jobFailure('phasegate_job_1', {
    state: 'DONE',
    errorResult: { reason, message, location: 'query' },
    errors: [{ reason, message, location: 'query' }],
  });
}

const CASES: [string, unknown, WarehouseErrorKind][] = [
  // Streaming buffer: HTTP 400 invalidQuery, but BigQuery's text says what it is.
  ['REST 400 streaming buffer', apiError(400, 'invalidQuery', BIGQUERY_TEXTS.streamingBuffer(T)), 'conflict'],
  ['job errorResult streaming buffer', failedJob('invalidQuery', BIGQUERY_TEXTS.streamingBuffer(T)), 'conflict'],
  ['job status object streaming buffer', { state: 'DONE', errorResult: { reason: 'invalidQuery', message: BIGQUERY_TEXTS.streamingBuffer(T) } }, 'conflict'],
  // Busy: the table's DML queue, concurrent updates, table-update and job rate limits.
  ['job errorResult DML outstanding', failedJob('resourcesExceeded', BIGQUERY_TEXTS.dmlOutstanding(T)), 'busy'],
  ['REST 400 DML outstanding', apiError(400, 'resourcesExceeded', BIGQUERY_TEXTS.dmlOutstanding(T)), 'busy'],
  ['job errorResult could not serialize', failedJob('invalidQuery', BIGQUERY_TEXTS.serialize(T)), 'busy'],
  [
    'REST 403 table update rate',
    apiError(
      403,
      'rateLimitExceeded',
      'Exceeded rate limits: too many table update operations for this table. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
    ),
    'busy',
  ],
  [
    'job errorResult jobRateLimitExceeded',
    failedJob('jobRateLimitExceeded', 'Exceeded rate limits: too many concurrent queries for this project_and_region.'),
    'busy',
  ],
  [
    'REST 403 rateLimitExceeded, other text',
    apiError(403, 'rateLimitExceeded', 'Exceeded rate limits: too many api requests per user per method for this user_method.'),
    'busy',
  ],
  // Another mutating DML or an open transaction holds the table (troubleshoot-queries).
  ['job errorResult transaction aborted', failedJob('invalidQuery', BIGQUERY_TEXTS.transactionAborted(T)), 'busy'],
  ['REST 400 transaction aborted', apiError(400, 'invalidQuery', BIGQUERY_TEXTS.transactionAborted(T)), 'busy'],
  // An interactive DML job queued over 7 hours (data-manipulation-language); its reason is
  // not documented, so the text decides whatever reason comes with it.
  ['job errorResult DML queued too long (invalidQuery)', failedJob('invalidQuery', BIGQUERY_TEXTS.dmlQueuedTooLong()), 'busy'],
  ['job errorResult DML queued too long (resourcesExceeded)', failedJob('resourcesExceeded', BIGQUERY_TEXTS.dmlQueuedTooLong()), 'busy'],
  ['job status object DML queued too long', { state: 'DONE', errorResult: { reason: 'invalidQuery', message: BIGQUERY_TEXTS.dmlQueuedTooLong() } }, 'busy'],
  // Transient: backend faults, timeouts, sockets.
  ['REST 500 backendError', apiError(500, 'backendError', 'Error encountered during execution. Retrying may solve the problem.'), 'transient'],
  ['REST 503 backendError', apiError(503, 'backendError', 'The service is currently unavailable.'), 'transient'],
  ['job errorResult internalError', failedJob('internalError', 'An internal error occurred and the request could not be completed.'), 'transient'],
  ['job errorResult jobBackendError', failedJob('jobBackendError', 'Job backend error'), 'transient'],
  [
    'job errorResult jobInternalError',
    failedJob('jobInternalError', 'The job encountered an internal error during execution and was unable to complete successfully.'),
    'transient',
  ],
  ['job errorResult timeout', failedJob('timeout', 'Query exceeded the maximum execution time.'), 'transient'],
  // The project's job queue (1,000 interactive / 20,000 batch per project and region) drains by itself.
  ['REST 403 quotaExceeded project job queue', apiError(403, 'quotaExceeded', BIGQUERY_TEXTS.projectJobQueue()), 'transient'],
  [
    'REST 403 quotaExceeded project job queue, "project and region" spelling',
    apiError(403, 'quotaExceeded', 'Quota exceeded: Your project and region exceeded quota for max number of jobs that can be queued per project.'),
    'transient',
  ],
  ['job errorResult jobRateLimitExceeded project job queue', failedJob('jobRateLimitExceeded', BIGQUERY_TEXTS.projectJobQueue()), 'transient'],
  ['HTTP 502 without a reason', Object.assign(new Error('Bad Gateway'), { code: 502 }), 'transient'],
  ['HTTP 429 without a reason', Object.assign(new Error('Too Many Requests'), { code: 429 }), 'transient'],
  ['socket reset (string code)', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' }), 'transient'],
  [
    'fetch failed, cause refused',
    new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }) }),
    'transient',
  ],
  ['socket hang up', new Error('request to https://bigquery.googleapis.com/ failed, reason: socket hang up'), 'transient'],
  // Redis between the commit's warehouse calls, as ioredis reports it during a restart or a failover.
  ['ioredis: a command in flight when the connection dropped', new Error('Command aborted due to connection close'), 'transient'],
  ['ioredis: a cluster without its slot map', new Error('Failed to refresh slots cache.'), 'transient'],
  ['Redis Cluster: slots not served during a failover', new ReplyError('CLUSTERDOWN The cluster is down'), 'transient'],
  ['Redis: a replica not yet promoted', new ReplyError("READONLY You can't write against a read only replica."), 'transient'],
  // Permanent: the same request fails again.
  ['job errorResult syntax', failedJob('invalidQuery', 'Syntax error: Unexpected keyword WHERE at [3:1]'), 'permanent'],
  [
    'REST 400 schema mismatch',
    apiError(400, 'invalid', `Provided Schema does not match Table ${T}. Field pts has changed type from INTEGER to STRING`),
    'permanent',
  ],
  ['job errorResult unrecognized name', failedJob('invalidQuery', 'Unrecognized name: pointz at [1:8]'), 'permanent'],
  ['REST 404 notFound', apiError(404, 'notFound', `Not found: Table ${T} was not found in location US`), 'permanent'],
  ['REST 409 duplicate', apiError(409, 'duplicate', 'Already Exists: Table nba-props-platform:nba_raw.nbac_player_boxscores'), 'permanent'],
  [
    'REST 403 accessDenied',
    apiError(403, 'accessDenied', 'Access Denied: Table nba-props-platform:nba_raw.nbac_player_boxscores: Permission bigquery.tables.updateData denied'),
    'permanent',
  ],
  [
    'resourcesExceeded without the DML text',
    failedJob('resourcesExceeded', 'Resources exceeded during query execution: The query could not be executed in the allotted memory.'),
    'permanent',
  ],
  ['daily load quota', failedJob('quotaExceeded', BIGQUERY_TEXTS.dailyLoads(T)), 'permanent'],
  [
    'REST 403 quotaExceeded, an administrator’s custom daily quota',
    apiError(403, 'quotaExceeded', 'Custom quota exceeded: Your usage exceeded the custom quota for QueryUsagePerDay, which is set by your administrator.'),
    'permanent',
  ],
  ['unknown, no code', new Error('something odd'), 'permanent'],
];

const CLASS_OF = { conflict: ConflictError, busy: BusyError, transient: TransientError, permanent: PermanentError } as const;

describe('error classification: real payloads of every class', () => {
  for (const [name, payload, kind] of CASES) {
    it(`${name} → ${kind}`, () => {
      expect(classifyKind(payload)).to.equal(kind);
      const err = classifyWarehouseError(payload, 'nba_raw.nbac_player_boxscores');
      expect(err).to.be.instanceOf(CLASS_OF[kind]);
      expect(err.kind).to.equal(kind);
      expect(err.retryable).to.equal(kind !== 'permanent');
      expect(err.table).to.equal('nba_raw.nbac_player_boxscores');
      expect(err.cause).to.equal(payload);
    });
  }

  it('keeps BigQuery’s reason and text on the classified error', () => {
    const err = classifyWarehouseError(failedJob('resourcesExceeded', BIGQUERY_TEXTS.dmlOutstanding(T)));
    expect(err.reason).to.equal('resourcesExceeded');
    expect(err.message).to.equal(BIGQUERY_TEXTS.dmlOutstanding(T));
    const fromStatus = classifyWarehouseError({ state: 'DONE', errorResult: { reason: 'backendError', message: 'backend' } });
    expect(fromStatus).to.include({ reason: 'backendError', message: 'backend' });
  });

  it('says which busy case it is: only a full DML queue lowers a table’s concurrency', () => {
    expect(busyCause(classifyWarehouseError(failedJob('resourcesExceeded', BIGQUERY_TEXTS.dmlOutstanding(T))))).to.equal('dmlOutstanding');
    expect(busyCause(classifyWarehouseError(failedJob('invalidQuery', BIGQUERY_TEXTS.serialize(T))))).to.equal('serialize');
    expect(busyCause(classifyWarehouseError(apiError(403, 'rateLimitExceeded', BIGQUERY_TEXTS.tableUpdateRate(T))))).to.equal('rateLimit');
  });

  it('a DML queued too long is the full-DML-queue case; an aborted transaction backs off on its own', () => {
    expect(busyCause(classifyWarehouseError(failedJob('invalidQuery', BIGQUERY_TEXTS.dmlQueuedTooLong())))).to.equal('dmlOutstanding');
    expect(busyCause(classifyWarehouseError(failedJob('invalidQuery', BIGQUERY_TEXTS.transactionAborted(T))))).to.equal('transactionAborted');
  });

  it('a command on a Redis connection that closed (a real ioredis client) → TransientError: the commit runs again', async () => {
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    await redis.connect();
    await redis.quit();
    const thrown = await redis.get('x').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(String(thrown)).to.match(/Connection is closed/);
    expect(classifyWarehouseError(thrown, 'nba_raw.nbac_team_boxscore')).to.be.instanceOf(TransientError);
  });

  it('passes our own errors through and reads DuckDB’s', () => {
    const own = new TransientError('closed', { reason: 'stopped' });
    expect(classifyWarehouseError(own)).to.equal(own);
    expect(fromDuckDBError(new Error('IO Error: Could not write file "x": No space left on device'))).to.be.instanceOf(TransientError);
    expect(fromDuckDBError(new Error('Binder Error: Referenced column "pointz" not found'))).to.be.instanceOf(PermanentError);
  });

  it("says DuckDB's refused writes and fatal errors in one line, as errors to try again (DuckDB's own texts)", () => {
    // A commit whose log could not be written: the disk's fault, not the statement's.
    const wal = fromDuckDBError(new Error('TransactionContext Error: Failed to commit: Could not write file "/d/w.duckdb.wal": No space left on device'));
    expect(wal).to.be.instanceOf(TransientError).and.not.be.instanceOf(WarehouseInvalidatedError);
    expect(wal.message).to.equal('DuckDB could not write /d/w.duckdb.wal: no space left on device (ENOSPC)');
    // The checkpoint that invalidated the database, then what every later statement gets.
    const first = fromDuckDBError(new Error('FATAL Error: Failed to create checkpoint because of error: Could not write file "/d/w.duckdb": File too large'));
    expect(first).to.be.instanceOf(WarehouseInvalidatedError);
    expect(first.message).to.equal('DuckDB could not write /d/w.duckdb: file too large (EFBIG); DuckDB invalidated the database');
    const later = fromDuckDBError(
      new Error(
        'FATAL Error: Failed: database has been invalidated because of a previous fatal error. The database must be restarted prior to being used again.\n' +
          'Original error: "Failed to create checkpoint because of error: failed to pin block of size 256.0 KiB (60.8 MiB/61.0 MiB used)\n\nPossible solutions:\n* Reducing the number of threads"',
      ),
    );
    expect(later).to.be.instanceOf(WarehouseInvalidatedError).and.include({ retryable: true, reason: 'invalidated' });
    expect(later.message).to.equal(
      'DuckDB: Failed to create checkpoint because of error: failed to pin block of size 256.0 KiB (60.8 MiB/61.0 MiB used); DuckDB invalidated the database',
    );
    expect(new BigQueryJobError('invalidQuery', BIGQUERY_TEXTS.streamingBuffer(T))).to.include({ name: 'ApiError', reason: 'invalidQuery' });
  });
});

describe('error classification: what the BigQuery rules layer throws from real statements', () => {
  let dir: string;
  const spec: TableSpec = {
    dataset: 'nba_raw',
    table: 'classify_probe',
    columns: [
      { name: 'id', type: 'INT64', nullable: false },
      { name: 'day', type: 'DATE', nullable: false },
      { name: 'processed_at', type: 'TIMESTAMP' },
    ],
    primaryKey: ['id'],
    sliceColumn: 'day',
  };
  const opened: BigQueryRulesWarehouse[] = [];
  const open = async (opts: BigQueryRulesOptions) => {
    const store = new LocalObjectStore(path.join(dir, `store-${opened.length}`));
    const duck = await DuckDBWarehouse.open({ path: ':memory:', store });
    const w = new BigQueryRulesWarehouse(duck, { timeScale: 1000, dmlLatency: { baseSeconds: 0, perThousandRowsSeconds: 0, jitter: 0 }, ...opts });
    opened.push(w);
    await w.ensureTable(spec);
    await store.put('staging/a.ndjson', '{"id":1,"day":"2024-01-01","processed_at":"2024-01-01T00:00:00Z"}\n');
    return w;
  };
  const batch = (n: number) => ({ batchId: `b${n}`, table: spec, slices: ['2024-01-01'], objects: ['staging/a.ndjson'] });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('expected a failure'),
      (e: unknown) => e as Error,
    );

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-classify-'));
  });
  after(async () => {
    await Promise.all(opened.map((w) => w.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('a MERGE over streamed rows → ConflictError with BigQuery’s text', async () => {
    const w = await open({});
    await w.streamingInsert(spec, [{ id: 9, day: '2024-01-01', processed_at: new Date().toISOString() }]);
    const err = await failure(w.commit(batch(1)));
    expect(err).to.be.instanceOf(ConflictError);
    expect(err.message).to.match(/would affect rows in the streaming buffer, which is not supported$/);
    expect(classifyWarehouseError((err as ConflictError).cause).kind).to.equal('conflict');
  });

  it('the 21st queued DML → BusyError (dmlOutstanding); too many table updates → BusyError (rateLimit)', async () => {
    const w = await open({ maxRunningDml: 1, maxQueuedDml: 0, dmlLatency: { baseSeconds: 50, perThousandRowsSeconds: 0, jitter: 0 } });
    const first = w.commit(batch(1));
    const err = await failure(w.commit(batch(2)));
    await first;
    expect(err).to.be.instanceOf(BusyError);
    expect(busyCause(err)).to.equal('dmlOutstanding');
    const r = await open({ tableOpsPerWindow: 1, tableOpsWindowSeconds: 10_000 });
    // ensureTable used the one operation of the window.
    const rate = await failure(r.commit(batch(3)));
    expect(rate).to.be.instanceOf(BusyError);
    expect(busyCause(rate)).to.equal('rateLimit');
  });

  it('the daily load quota → PermanentError; a closed warehouse → TransientError', async () => {
    const w = await open({ dailyLoadJobs: 0 });
    expect(await failure(w.loadJob(spec, ['staging/a.ndjson']))).to.be.instanceOf(PermanentError);
    await w.close();
    expect(await failure(w.commit(batch(4)))).to.be.instanceOf(TransientError);
  });
});
