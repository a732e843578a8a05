/**
 * GcsObjectStore against the Cloud Storage JSON API as recorded by nock: request shapes of
 * put/get/exists/list/delete, 404 handling, and keys refused before any request. No network:
 * the OAuth token exchange is intercepted too, with a throwaway RSA key.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { CRC32C, Storage } from '@google-cloud/storage';
import { expect } from 'chai';
import nock from 'nock';
import { InputError } from '../src/errors/input-error.ts';
import { GcsObjectStore } from '../src/storage/gcs-store.ts';

const PROJECT = 'phasegate-test';
const API = 'https://storage.googleapis.com';
const BUCKET = 'phasegate-staging';

function credentials() {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { client_email: `tests@${PROJECT}.iam.gserviceaccount.com`, private_key: privateKey };
}

/** The hashes GCS reports for an object, which the client checks after an upload/download. */
function hashes(body: Buffer): { crc32c: string; md5Hash: string } {
  const crc = new CRC32C();
  crc.update(body);
  return { crc32c: crc.toString(), md5Hash: createHash('md5').update(body).digest('base64') };
}

function objectResource(name: string, body: Buffer, contentType: string) {
  return { kind: 'storage#object', bucket: BUCKET, name, size: String(body.length), contentType, generation: '1', ...hashes(body) };
}

const notFound = (name: string) => ({
  error: { code: 404, message: `No such object: ${BUCKET}/${name}`, errors: [{ reason: 'notFound', message: `No such object: ${BUCKET}/${name}` }] },
});

describe('GcsObjectStore (nock)', () => {
  const creds = credentials();
  const unmatched: string[] = [];
  const onNoMatch = (req: { method?: string; url?: string; path?: string }) => {
    unmatched.push(`${req.method} ${req.url ?? req.path}`);
  };
  let storage: Storage;
  let store: GcsObjectStore;

  before(() => {
    if (!nock.isActive()) nock.activate();
    nock.disableNetConnect();
    nock.emitter.on('no match', onNoMatch);
  });

  after(() => {
    nock.emitter.removeListener('no match', onNoMatch);
    nock.cleanAll();
    nock.enableNetConnect();
  });

  beforeEach(() => {
    unmatched.length = 0;
    // The storage client's google-auth-library trades its signed JWT for a token here.
    nock('https://www.googleapis.com').persist().post('/oauth2/v4/token').reply(200, { access_token: 'fake-token', expires_in: 3600, token_type: 'Bearer' });
    nock('https://oauth2.googleapis.com').persist().post('/token').reply(200, { access_token: 'fake-token', expires_in: 3600, token_type: 'Bearer' });
    storage = new Storage({ projectId: PROJECT, credentials: creds, retryOptions: { autoRetry: false } });
    store = new GcsObjectStore({ bucket: BUCKET, storage, prefix: 'pipelines/nba' });
  });

  afterEach(() => {
    const pending = nock.pendingMocks().filter((m) => !m.includes('/token'));
    nock.cleanAll();
    expect(unmatched, 'requests nobody expected').to.deep.equal([]);
    expect(pending, 'expected requests that never came').to.deep.equal([]);
  });

  it('put uploads in one multipart request (not resumable) under the prefix, typed by extension', async () => {
    const body = Buffer.from('{"game_id":"0022300001","pts":35}\n{"game_id":"0022300002","pts":12}\n');
    const seen: { name?: string; uploadType?: string; body?: string; contentType?: string }[] = [];
    for (const [key, type] of [
      ['staging/nba_raw.t/2024-01-01/1-a.ndjson', 'application/x-ndjson'],
      ['raw/2024-01-01/0022300001.json', 'application/json'],
    ] as const) {
      const name = `pipelines/nba/${key}`;
      nock(API)
        .post(`/upload/storage/v1/b/${BUCKET}/o`, (b: unknown) => {
          seen.push({ body: typeof b === 'string' ? b : JSON.stringify(b) });
          return true;
        })
        .query((q) => {
          seen.push({ name: String(q.name), uploadType: String(q.uploadType) });
          return true;
        })
        .reply(200, objectResource(name, body, type));
      await store.put(key, body.toString('utf8'));
    }
    const queries = seen.filter((s) => s.name);
    expect(queries.map((q) => q.name)).to.deep.equal(['pipelines/nba/staging/nba_raw.t/2024-01-01/1-a.ndjson', 'pipelines/nba/raw/2024-01-01/0022300001.json']);
    expect(queries.every((q) => q.uploadType === 'multipart')).to.equal(true);
    const bodies = seen.filter((s) => s.body).map((s) => s.body as string);
    expect(bodies[0]).to.include('"contentType":"application/x-ndjson"');
    expect(bodies[0]).to.include('{"game_id":"0022300001","pts":35}');
    expect(bodies[1]).to.include('"contentType":"application/json"');
  });

  it('get downloads the object bytes, and returns null on 404', async () => {
    const body = Buffer.from('{"a":1}\n');
    nock(API)
      .get(`/storage/v1/b/${BUCKET}/o/${encodeURIComponent('pipelines/nba/staging/x.ndjson')}`)
      .query((q) => q.alt === 'media')
      .reply(200, body, {
        'content-type': 'application/x-ndjson',
        'x-goog-hash': `crc32c=${hashes(body).crc32c},md5=${hashes(body).md5Hash}`,
        'x-goog-stored-content-encoding': 'identity',
      })
      .get(`/storage/v1/b/${BUCKET}/o/${encodeURIComponent('pipelines/nba/staging/missing.ndjson')}`)
      .query((q) => q.alt === 'media')
      .reply(404, notFound('pipelines/nba/staging/missing.ndjson'));
    expect((await store.get('staging/x.ndjson'))?.toString('utf8')).to.equal('{"a":1}\n');
    expect(await store.get('staging/missing.ndjson')).to.equal(null);
  });

  it('exists reads the object metadata', async () => {
    const name = 'pipelines/nba/staging/x.ndjson';
    nock(API)
      .get(`/storage/v1/b/${BUCKET}/o/${encodeURIComponent(name)}`)
      .query(true)
      .reply(200, objectResource(name, Buffer.from('x'), 'application/x-ndjson'))
      .get(`/storage/v1/b/${BUCKET}/o/${encodeURIComponent('pipelines/nba/staging/y.ndjson')}`)
      .query(true)
      .reply(404, notFound('pipelines/nba/staging/y.ndjson'));
    expect(await store.exists('staging/x.ndjson')).to.equal(true);
    expect(await store.exists('staging/y.ndjson')).to.equal(false);
  });

  it('list follows nextPageToken and returns sorted keys relative to the store prefix', async () => {
    const queries: Record<string, unknown>[] = [];
    nock(API)
      .get(`/storage/v1/b/${BUCKET}/o`)
      .query((q) => {
        queries.push(q);
        return q.pageToken === undefined;
      })
      .reply(200, {
        kind: 'storage#objects',
        items: [{ name: 'pipelines/nba/staging/t/2024-01-02/b.ndjson' }, { name: 'pipelines/nba/staging/t/2024-01-01/z.ndjson' }],
        nextPageToken: 'page-2',
      })
      .get(`/storage/v1/b/${BUCKET}/o`)
      .query((q) => {
        queries.push(q);
        return q.pageToken === 'page-2';
      })
      .reply(200, { kind: 'storage#objects', items: [{ name: 'pipelines/nba/staging/t/2024-01-01/a.ndjson' }] });

    const keys = await store.list('staging/t/');

    expect(keys).to.deep.equal(['staging/t/2024-01-01/a.ndjson', 'staging/t/2024-01-01/z.ndjson', 'staging/t/2024-01-02/b.ndjson']);
    const matched = queries.filter((q) => q.prefix === 'pipelines/nba/staging/t/');
    expect(matched.length).to.be.at.least(2);
    expect(matched.every((q) => q.maxResults === '1000')).to.equal(true);
  });

  it('list of an empty prefix answers []', async () => {
    nock(API).get(`/storage/v1/b/${BUCKET}/o`).query(true).reply(200, { kind: 'storage#objects' });
    expect(await store.list('nothing/')).to.deep.equal([]);
  });

  it('delete sends DELETE and ignores 404', async () => {
    nock(API)
      .delete(`/storage/v1/b/${BUCKET}/o/${encodeURIComponent('pipelines/nba/staging/x.ndjson')}`)
      .query(true)
      .reply(204)
      .delete(`/storage/v1/b/${BUCKET}/o/${encodeURIComponent('pipelines/nba/staging/gone.ndjson')}`)
      .query(true)
      .reply(404, notFound('pipelines/nba/staging/gone.ndjson'));
    await store.delete('staging/x.ndjson');
    await store.delete('staging/gone.ndjson');
  });

  it('uri is the gs:// address BigQuery reads from', () => {
    expect(store.uri('staging/t/2024-01-01/a.ndjson')).to.equal(`gs://${BUCKET}/pipelines/nba/staging/t/2024-01-01/a.ndjson`);
    expect(new GcsObjectStore({ bucket: BUCKET, storage }).uri('a/b.json')).to.equal(`gs://${BUCKET}/a/b.json`);
  });

  it('refuses ../x, /abs and a//b before any request', async () => {
    for (const key of ['../x', '/abs', 'a//b', 'a/./b', 'a b']) {
      for (const op of [() => store.put(key, 'x'), () => store.get(key), () => store.exists(key), () => store.delete(key)]) {
        const err = await op().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, key).to.be.instanceOf(InputError);
      }
      expect(() => store.uri(key), key).to.throw(InputError);
    }
    const err = await store.list('../').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(InputError);
    // nock refuses every request (disableNetConnect); `unmatched` is checked after each test.
  });

  it('refuses an invalid bucket name or prefix at construction', () => {
    expect(() => new GcsObjectStore({ bucket: 'Bad_Bucket!', storage })).to.throw(/bucket/);
    expect(() => new GcsObjectStore({ bucket: BUCKET, storage, prefix: '../up' })).to.throw(InputError);
  });
});
