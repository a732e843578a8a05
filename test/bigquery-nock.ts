/**
 * BigQuery's and Cloud Storage's REST APIs as recorded by nock, shared by every test that
 * talks to them: no network, the OAuth token exchange intercepted with a throwaway RSA key,
 * every request nobody expected and every expected request that never came failing the test.
 */
import { generateKeyPairSync } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import { Storage } from '@google-cloud/storage';
import { expect } from 'chai';
import nock from 'nock';
import { GcsObjectStore } from '../src/storage/gcs-store.ts';
import { BigQueryWarehouse } from '../src/warehouse/bigquery/bigquery-warehouse.ts';
import { loopbackOnly } from './loopback.ts';

export const PROJECT = 'phasegate-test';
export const API = 'https://bigquery.googleapis.com';
export const BASE = `/bigquery/v2/projects/${PROJECT}`;
export const BUCKET = 'phasegate-staging';
export const GCS_API = 'https://storage.googleapis.com';

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are arbitrary JSON the assertions walk into.
export type Body = Record<string, any>;

/** A nock body matcher that records every request body it sees and accepts it. */
export class Bodies {
  readonly all: Body[] = [];
  readonly match = (body: Body): boolean => {
    this.all.push(body);
    return true;
  };
  get last(): Body {
    const body = this.all.at(-1);
    if (!body) throw new Error('no request recorded yet');
    return body;
  }
}

export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
}

export function credentials(): ServiceAccountKey {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { client_email: `tests@${PROJECT}.iam.gserviceaccount.com`, private_key: privateKey };
}

/** A job as BigQuery answers it: the request's configuration and reference, plus a status. */
export function doneJob(body: Body, statistics: Body = {}, status: Body = { state: 'DONE' }, location = 'US'): Body {
  return {
    kind: 'bigquery#job',
    id: `${PROJECT}:${location}.${body.jobReference.jobId}`,
    jobReference: { ...body.jobReference, location },
    configuration: { ...body.configuration, jobType: 'QUERY' },
    status,
    statistics: { creationTime: '1704067200000', query: statistics },
  };
}

export const notFound = (what: string) => ({
  error: { code: 404, message: `Not found: ${what}`, errors: [{ reason: 'notFound', message: `Not found: ${what}` }] },
});

/**
 * Installs nock for a `describe` block: the network refused but the loopback (`loopbackOnly`;
 * the local Redis stays reachable for tests that also run the doctor's Redis checks), both token
 * endpoints intercepted, and after each test a failure on unmatched or unused interceptors.
 * Returns the throwaway key the clients sign with.
 */
export function useNock(): ServiceAccountKey {
  const creds = credentials();
  const unmatched: string[] = [];
  const onNoMatch = (req: { method?: string; url?: string; path?: string }) => {
    unmatched.push(`${req.method} ${req.url ?? req.path}`);
  };
  loopbackOnly();
  before(() => {
    nock.emitter.on('no match', onNoMatch);
  });
  after(() => {
    nock.emitter.removeListener('no match', onNoMatch);
    nock.cleanAll();
  });
  beforeEach(() => {
    unmatched.length = 0;
    // google-auth-library signs a JWT with the fake key and trades it for a token here.
    nock('https://oauth2.googleapis.com').persist().post('/token').reply(200, { access_token: 'fake-token', expires_in: 3600, token_type: 'Bearer' });
    nock('https://www.googleapis.com').persist().post('/oauth2/v4/token').reply(200, { access_token: 'fake-token', expires_in: 3600, token_type: 'Bearer' });
  });
  afterEach(() => {
    const pending = nock.pendingMocks().filter((m) => !m.includes('/token'));
    nock.cleanAll();
    expect(unmatched, 'requests nobody expected').to.deep.equal([]);
    expect(pending, 'expected requests that never came').to.deep.equal([]);
  });
  return creds;
}

/** The client the tests use: the fake key, no automatic retries (the tests answer 5xx on purpose). */
export function testBigQuery(creds: ServiceAccountKey, location = 'US'): BigQuery {
  return new BigQuery({ projectId: PROJECT, location, credentials: creds, autoRetry: false });
}

export function testWarehouse(creds: ServiceAccountKey, opts: { location?: string; datasetPrefix?: string } = {}): BigQueryWarehouse {
  const location = opts.location ?? 'US';
  return new BigQueryWarehouse({
    projectId: PROJECT,
    location,
    bucket: BUCKET,
    client: testBigQuery(creds, location),
    poll: { initialMs: 1, maxMs: 5 },
    ...(opts.datasetPrefix !== undefined ? { datasetPrefix: opts.datasetPrefix } : {}),
  });
}

export function testStore(creds: ServiceAccountKey): GcsObjectStore {
  return new GcsObjectStore({ bucket: BUCKET, storage: new Storage({ projectId: PROJECT, credentials: creds, retryOptions: { autoRetry: false } }) });
}

/** Answers every jobs.insert with a finished job and records the bodies. */
export function acceptJobs(times: number, statistics: Body = {}): Body[] {
  const jobs = new Bodies();
  nock(API)
    .post(`${BASE}/jobs`, jobs.match)
    .query(true)
    .times(times)
    .reply(200, () => doneJob(jobs.last, statistics));
  return jobs.all;
}

/** A finished query job, then its results in pages. Returns the jobs.insert bodies. */
export function answerQuery(pages: Body[]): Body[] {
  const jobs = new Bodies();
  const scope = nock(API)
    .post(`${BASE}/jobs`, jobs.match)
    .query(true)
    .reply(200, () => doneJob(jobs.last, { statementType: 'SELECT' }));
  pages.forEach((page, i) => {
    scope
      .get((path) => path.startsWith(`${BASE}/queries/`))
      .query((q) => q.location === 'US' && q['formatOptions.useInt64Timestamp'] === 'true' && (i === 0 ? q.pageToken === undefined : q.pageToken === `p${i}`))
      .reply(200, { kind: 'bigquery#getQueryResultsResponse', jobComplete: true, ...page, ...(i < pages.length - 1 ? { pageToken: `p${i + 1}` } : {}) });
  });
  return jobs.all;
}
