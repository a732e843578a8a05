/**
 * GcsObjectStore against the Cloud Storage JSON API as recorded by nock: request shapes of
 * put/get/exists/list/delete, 404 handling, and keys refused before any request. No network:
 * the OAuth token exchange is intercepted too, with a throwaway RSA key.
 *
 * The client runs with its DEFAULT retry policy (autoRetry on, RetryConditional), only with
 * short delays: a store that is only tested with retries off cannot show that a `put` turns
 * them off for every later call (see the "retries stay on" block).
 */

import { createHash } from 'node:crypto';
import { CRC32C, Storage } from '@google-cloud/storage';
import { expect } from 'chai';
import nock from 'nock';
import { InputError } from '../src/errors/input-error.ts';
import { PermanentError } from '../src/errors/permanent-error.ts';
import { GcsObjectStore } from '../src/storage/gcs-store.ts';
import { BUCKET, GCS_API, PROJECT, useNock } from './bigquery-nock.ts';

const API = GCS_API;

/** The hashes GCS reports for an object, which the client checks after an upload/download. */
function hashes(body: Buffer): { crc32c: string; md5Hash: string } {
  const crc = new CRC32C();
  crc.update(body);
  return { crc32c: crc.toString(), md5Hash: createHash('md5').update(body).digest('base64') };
}

function objectResource(name: string, body: Buffer, contentType: string) {
  return { kind: 'storage#object', bucket: BUCKET, name, size: String(body.length), contentType, generation: '1', ...hashes(body) };
}

/**
 * The default retry policy with short waits. retry-request waits min(multiplier^n s + up to
 * 1 s of jitter, maxRetryDelay), so a tiny multiplier leaves about the jitter. maxRetryDelay
 * stays at 1 s: File.save() hands it to async-retry as maxTimeout, which must not be below
 * its 1 s minTimeout. totalTimeout must outlast the test: once it is spent, retry-request
 * drops a retryable answer without calling back (node_modules/retry-request/index.js).
 */
const FAST_RETRIES = { retryDelayMultiplier: 0.01, maxRetryDelay: 1, totalTimeout: 60 } as const;

const objectPath = (name: string) => `/storage/v1/b/${BUCKET}/o/${encodeURIComponent(name)}`;

const unavailable = { error: { code: 503, message: 'Backend Error', errors: [{ reason: 'backendError', domain: 'global', message: 'Backend Error' }] } };

const preconditionFailed = {
  error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.', errors: [{ reason: 'conditionNotMet', domain: 'global' }] },
};

const notFound = (name: string) => ({
  error: { code: 404, message: `No such object: ${BUCKET}/${name}`, errors: [{ reason: 'notFound', message: `No such object: ${BUCKET}/${name}` }] },
});

describe('GcsObjectStore (nock)', () => {
  const creds = useNock();
  let storage: Storage;
  let store: GcsObjectStore;

  beforeEach(() => {
    storage = new Storage({ projectId: PROJECT, credentials: creds, retryOptions: FAST_RETRIES });
    store = new GcsObjectStore({ bucket: BUCKET, storage, prefix: 'pipelines/nba' });
  });

  it('put uploads in one multipart request (not resumable) under the prefix, typed by extension', async () => {
    const body = Buffer.from('{"game_id":"0022300001","pts":35}\n{"game_id":"0022300002","pts":12}\n');
    const seen: { name?: string; uploadType?: string; ifGenerationMatch?: string; body?: string }[] = [];
    // The raw file is new: its generation read answers 404, so it too uploads over "absent".
    nock(API).get(objectPath('pipelines/nba/raw/2024-01-01/0022300001.json')).query(true).reply(404, notFound('pipelines/nba/raw/2024-01-01/0022300001.json'));
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
          seen.push({ name: String(q.name), uploadType: String(q.uploadType), ifGenerationMatch: String(q.ifGenerationMatch) });
          return true;
        })
        .reply(200, objectResource(name, body, type));
      await store.put(key, body.toString('utf8'));
    }
    const queries = seen.filter((s) => s.name);
    expect(queries.map((q) => q.name)).to.deep.equal(['pipelines/nba/staging/nba_raw.t/2024-01-01/1-a.ndjson', 'pipelines/nba/raw/2024-01-01/0022300001.json']);
    expect(queries.every((q) => q.uploadType === 'multipart')).to.equal(true);
    expect(queries.map((q) => q.ifGenerationMatch)).to.deep.equal(['0', '0']);
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

  it('delete reads the generation and deletes only that one; a missing object sends no DELETE', async () => {
    const name = 'pipelines/nba/staging/x.ndjson';
    const generations: unknown[] = [];
    nock(API)
      .get(objectPath(name))
      .query(true)
      .reply(200, { ...objectResource(name, Buffer.from('x'), 'application/x-ndjson'), generation: '1700000000123456' })
      .delete(objectPath(name))
      .query((q) => {
        generations.push(q.ifGenerationMatch);
        return true;
      })
      .reply(204)
      .get(objectPath('pipelines/nba/staging/gone.ndjson'))
      .query(true)
      .reply(404, notFound('pipelines/nba/staging/gone.ndjson'));
    await store.delete('staging/x.ndjson');
    await store.delete('staging/gone.ndjson');
    expect(generations).to.deep.equal(['1700000000123456']);
  });

  it('delete ignores a 404 from the DELETE itself (deleted since the read, or our retried delete)', async () => {
    const name = 'pipelines/nba/staging/x.ndjson';
    nock(API)
      .get(objectPath(name))
      .query(true)
      .reply(200, objectResource(name, Buffer.from('x'), 'application/x-ndjson'))
      .delete(objectPath(name))
      .query(true)
      .reply(404, notFound(name));
    await store.delete('staging/x.ndjson');
  });

  it('delete of an object replaced since the read (412) reads again and deletes the new generation', async () => {
    const name = 'pipelines/nba/raw/2024-01-01/0022300001.json';
    const generations: unknown[] = [];
    const deleteOf = (q: Record<string, unknown>) => {
      generations.push(q.ifGenerationMatch);
      return true;
    };
    nock(API)
      .get(objectPath(name))
      .query(true)
      .reply(200, { ...objectResource(name, Buffer.from('old'), 'application/json'), generation: '1' })
      .delete(objectPath(name))
      .query(deleteOf)
      .reply(412, preconditionFailed)
      .get(objectPath(name))
      .query(true)
      .reply(200, { ...objectResource(name, Buffer.from('new'), 'application/json'), generation: '2' })
      .delete(objectPath(name))
      .query(deleteOf)
      .reply(204);
    await store.delete('raw/2024-01-01/0022300001.json');
    expect(generations).to.deep.equal(['1', '2']);
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

  describe('retries stay on after a put', () => {
    const STAGED = 'pipelines/nba/staging/nba_raw.t/2024-01-01/1700000000000-0123456789abcdef.ndjson';
    const body = Buffer.from('{"a":1}\n');

    /** One staged upload answered 200; whatever precondition it carries is checked elsewhere. */
    async function putStaged(): Promise<void> {
      nock(API)
        .post(`/upload/storage/v1/b/${BUCKET}/o`)
        .query(true)
        .reply(200, objectResource(STAGED, body, 'application/x-ndjson'));
      await store.put(STAGED.slice('pipelines/nba/'.length), body);
    }

    it('a put leaves the shared client’s autoRetry on', async () => {
      expect(storage.retryOptions.autoRetry).to.equal(true);
      await putStaged();
      // @google-cloud/storage 7 File.save(): without ifGenerationMatch it sets
      // storage.retryOptions.autoRetry = false and never sets it back.
      expect(storage.retryOptions.autoRetry).to.equal(true);
    });

    it('after a put, exists retries a 503', async () => {
      await putStaged();
      nock(API)
        .get(objectPath(STAGED))
        .query(true)
        .reply(503, unavailable)
        .get(objectPath(STAGED))
        .query(true)
        .reply(200, objectResource(STAGED, body, 'application/x-ndjson'));
      expect(await store.exists(STAGED.slice('pipelines/nba/'.length))).to.equal(true);
    });

    it('after a put, get retries a 503', async () => {
      await putStaged();
      nock(API)
        .get(objectPath(STAGED))
        .query((q) => q.alt === 'media')
        .reply(503, unavailable)
        .get(objectPath(STAGED))
        .query((q) => q.alt === 'media')
        .reply(200, body, {
          'content-type': 'application/x-ndjson',
          'x-goog-hash': `crc32c=${hashes(body).crc32c},md5=${hashes(body).md5Hash}`,
          'x-goog-stored-content-encoding': 'identity',
        });
      expect((await store.get(STAGED.slice('pipelines/nba/'.length)))?.toString('utf8')).to.equal('{"a":1}\n');
    });

    it('after a put, list retries a 503', async () => {
      await putStaged();
      nock(API)
        .get(`/storage/v1/b/${BUCKET}/o`)
        .query(true)
        .reply(503, unavailable)
        .get(`/storage/v1/b/${BUCKET}/o`)
        .query(true)
        .reply(200, { kind: 'storage#objects', items: [{ name: STAGED }] });
      expect(await store.list('staging/')).to.deep.equal([STAGED.slice('pipelines/nba/'.length)]);
    });

    it('after a put, delete retries a 503', async () => {
      await putStaged();
      nock(API)
        .get(objectPath(STAGED))
        .query(true)
        .reply(503, unavailable)
        .get(objectPath(STAGED))
        .query(true)
        .reply(200, objectResource(STAGED, body, 'application/x-ndjson'))
        .delete(objectPath(STAGED))
        .query(true)
        .reply(503, unavailable)
        .delete(objectPath(STAGED))
        .query(true)
        .reply(204);
      await store.delete(STAGED.slice('pipelines/nba/'.length));
    });
  });

  describe('writes under a precondition', () => {
    const STAGED = 'pipelines/nba/staging/nba_raw.t/2024-01-01/1700000000000-0123456789abcdef.ndjson';
    const RAW = 'pipelines/nba/raw/2024-01-01/0022300001.json';
    const body = Buffer.from('{"a":1}\n');
    const rel = (name: string) => name.slice('pipelines/nba/'.length);

    /** Records each upload's ifGenerationMatch and answers it with `status`. */
    function upload(preconditions: unknown[], status: number, answer: object): void {
      nock(API)
        .post(`/upload/storage/v1/b/${BUCKET}/o`)
        .query((q) => {
          preconditions.push(q.ifGenerationMatch);
          return true;
        })
        .reply(status, answer);
    }

    it('a staging put is a create (ifGenerationMatch=0), and a 503 on it is retried', async () => {
      const preconditions: unknown[] = [];
      upload(preconditions, 503, unavailable);
      upload(preconditions, 200, objectResource(STAGED, body, 'application/x-ndjson'));
      await store.put(rel(STAGED), body);
      expect(preconditions).to.deep.equal(['0', '0']);
    });

    it('a staging put that meets 412 over the same bytes (its own first try landed) succeeds', async () => {
      const preconditions: unknown[] = [];
      upload(preconditions, 412, preconditionFailed);
      nock(API)
        .get(objectPath(STAGED))
        .query(true)
        .reply(200, objectResource(STAGED, body, 'application/x-ndjson'));
      await store.put(rel(STAGED), body);
      expect(preconditions).to.deep.equal(['0']);
    });

    it('a staging put that meets 412 over other bytes fails and does not overwrite them', async () => {
      upload([], 412, preconditionFailed);
      nock(API)
        .get(objectPath(STAGED))
        .query(true)
        .reply(200, objectResource(STAGED, Buffer.from('{"b":2}\n'), 'application/x-ndjson'));
      const err = await store.put(rel(STAGED), body).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).to.match(/already holds other bytes/);
      // Permanent: a retry would meet the same object (it used to be a plain Error, retried as unknown).
      expect(err).to.be.instanceOf(PermanentError);
    });

    it('a raw put overwrites only the generation it read, and a 503 on it is retried', async () => {
      const preconditions: unknown[] = [];
      nock(API)
        .get(objectPath(RAW))
        .query(true)
        .reply(200, { ...objectResource(RAW, Buffer.from('{"old":1}'), 'application/json'), generation: '1700000000123456' });
      upload(preconditions, 503, unavailable);
      upload(preconditions, 200, { ...objectResource(RAW, body, 'application/json'), generation: '1700000000999999' });
      await store.put(rel(RAW), body);
      expect(preconditions).to.deep.equal(['1700000000123456', '1700000000123456']);
      expect(storage.retryOptions.autoRetry).to.equal(true);
    });

    it('a raw put that loses to another writer (412) reads the new generation and writes over it', async () => {
      const preconditions: unknown[] = [];
      nock(API)
        .get(objectPath(RAW))
        .query(true)
        .reply(200, { ...objectResource(RAW, Buffer.from('{"old":1}'), 'application/json'), generation: '1' })
        .get(objectPath(RAW))
        .query(true)
        .reply(200, { ...objectResource(RAW, Buffer.from('{"other":1}'), 'application/json'), generation: '2' });
      upload(preconditions, 412, preconditionFailed);
      upload(preconditions, 200, { ...objectResource(RAW, body, 'application/json'), generation: '3' });
      await store.put(rel(RAW), body);
      expect(preconditions).to.deep.equal(['1', '2']);
    });

    it('a raw put whose retry meets 412 over its own bytes stops there', async () => {
      const preconditions: unknown[] = [];
      nock(API)
        .get(objectPath(RAW))
        .query(true)
        .reply(404, notFound(RAW))
        .get(objectPath(RAW))
        .query(true)
        .reply(200, { ...objectResource(RAW, body, 'application/json'), generation: '5' });
      upload(preconditions, 412, preconditionFailed);
      await store.put(rel(RAW), body);
      expect(preconditions).to.deep.equal(['0']);
    });
  });

  describe('deleteMany', () => {
    const names = Array.from({ length: 10 }, (_, i) => `pipelines/nba/staging/t/2024-01-01/${i}.ndjson`);
    const keys = names.map((n) => n.slice('pipelines/nba/'.length));

    /** Answers each request after `ms`, counting how many are answered at once. */
    function slow(ms: number, counter: { now: number; max: number }, status: number, answer: object | string) {
      return (_uri: string, _body: unknown, done: (err: Error | null, result: [number, object | string]) => void) => {
        counter.now++;
        counter.max = Math.max(counter.max, counter.now);
        setTimeout(() => {
          counter.now--;
          done(null, [status, answer]);
        }, ms);
      };
    }

    it('deletes every key, at most `concurrency` at a time', async () => {
      const counter = { now: 0, max: 0 };
      for (const name of names) {
        nock(API)
          .get(objectPath(name))
          .query(true)
          .reply(slow(15, counter, 200, objectResource(name, Buffer.from('x'), 'application/x-ndjson')))
          .delete(objectPath(name))
          .query((q) => q.ifGenerationMatch === '1')
          .reply(slow(15, counter, 204, ''));
      }
      await store.deleteMany([...keys, keys[0] as string], { concurrency: 3 });
      expect(counter.max).to.equal(3);
    });

    it('keeps deleting past a failure, then throws every failure together', async () => {
      for (const [i, name] of names.slice(0, 3).entries()) {
        const scope = nock(API).get(objectPath(name)).query(true);
        if (i === 1) {
          scope.reply(403, { error: { code: 403, message: 'denied', errors: [{ reason: 'forbidden', message: 'denied' }] } });
          continue;
        }
        scope
          .reply(200, objectResource(name, Buffer.from('x'), 'application/x-ndjson'))
          .delete(objectPath(name))
          .query(true)
          .reply(204);
      }
      const err = await store.deleteMany(keys.slice(0, 3), { concurrency: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(AggregateError);
      expect((err as AggregateError).errors).to.have.length(1);
    });

    it('refuses a bad key or concurrency before any request', async () => {
      for (const call of [() => store.deleteMany(['staging/ok.ndjson', '../x']), () => store.deleteMany(keys, { concurrency: 0 })]) {
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(InputError);
      }
    });
  });
});
