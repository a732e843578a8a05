/**
 * The production object store: a Google Cloud Storage bucket, optionally under a prefix, with
 * the same key layout as the local folder. BigQuery reads staged NDJSON from it directly
 * (`uri()` → `gs://…`) through a query job's temporary external table.
 *
 * Every write carries an `ifGenerationMatch` precondition. Under the client's default
 * `IdempotencyStrategy.RetryConditional`, an upload or delete without one is not retried, and
 * @google-cloud/storage 7 implements that by setting `autoRetry = false` on the SHARED
 * `storage.retryOptions`: `File.save()` never sets it back, so after one unconditioned `put`
 * no later exists/get/list/delete of any store on that client retried a 503; `File.delete()`
 * sets it back only when done, so a call made meanwhile — or a `File` created meanwhile,
 * which keeps the value it saw as its `instanceRetryValue` and restores that — lost its
 * retries too (build/cjs/src/file.js: save, delete, disableAutoRetryConditionallyIdempotent_).
 * With a precondition the client leaves the flag alone and retries the write, which is what
 * cloud.google.com/storage/docs/retry-strategy calls conditionally idempotent.
 */

import { createHash } from 'node:crypto';
import type { Bucket, FileMetadata } from '@google-cloud/storage';
import { Storage } from '@google-cloud/storage';
import { ConfigError } from '../errors/config-error.ts';
import { PermanentError } from '../errors/permanent-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import { type DeleteManyOptions, deleteMany } from './delete-many.ts';
import type { ObjectStore } from './object-store.ts';
import { validateKey, validatePrefix } from './object-store.ts';

export interface GcsObjectStoreOptions {
  /** The bucket name, e.g. `phasegate-prod`. */
  bucket: string;
  /** A ready client (tests, custom credentials). @defaultValue `new Storage()` (application default credentials) */
  storage?: Storage;
  /** Where in the bucket the store lives, e.g. `pipelines/nba/`. @defaultValue '' (the bucket root) */
  prefix?: string;
}

// GCS bucket names: 3–222 characters of lowercase letters, digits, `-`, `_` and `.`.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
// Objects per `objects.list` page; 1,000 is the API's maximum.
const PAGE_SIZE = 1000;

const CONTENT_TYPES: readonly [suffix: string, type: string][] = [
  ['.ndjson', 'application/x-ndjson'],
  ['.json', 'application/json'],
];

function contentTypeOf(key: string): string {
  return CONTENT_TYPES.find(([suffix]) => key.endsWith(suffix))?.[1] ?? 'application/octet-stream';
}

/**
 * Keys no one writes twice: staging keys carry the staging time and a hash of their body (or
 * a UUID, for log chunks), and a commit's object of inline rows its job and a hash of its
 * fields and rows, see src/queues/commit/staging.ts. Their upload is a create
 * (`ifGenerationMatch: 0`, cloud.google.com/storage/docs/request-preconditions). Every other
 * key (raw scraped files) is one that a rerun overwrites.
 */
const CREATE_ONLY_PREFIX = 'staging/';
/**
 * Tries at an overwrite (or delete) whose precondition lost to another writer. GCS allows
 * about one write per second to one object name (cloud.google.com/storage/quotas), so more
 * than a few rivals on one raw file is a bug to surface, not to out-wait.
 */
const WRITE_ATTEMPTS = 3;

function statusOf(thrown: unknown): unknown {
  return (thrown as { code?: unknown } | null)?.code;
}

function isNotFound(thrown: unknown): boolean {
  return statusOf(thrown) === 404;
}

/** HTTP 412: the object's generation was not the one the precondition named. */
function isPreconditionFailed(thrown: unknown): boolean {
  return statusOf(thrown) === 412;
}

/** Whether GCS holds exactly these bytes: its `md5Hash` is the base64 MD5 of the content. */
function holdsBytes(metadata: FileMetadata | null, bytes: Buffer): boolean {
  return metadata?.md5Hash !== undefined && metadata.md5Hash === createHash('md5').update(bytes).digest('base64');
}

/** The precondition that matches the object as read: its generation, or 0 for "absent". */
function generationOf(metadata: FileMetadata | null): string | number {
  return metadata?.generation ?? 0;
}

export class GcsObjectStore implements ObjectStore {
  readonly kind = 'gcs';
  readonly bucketName: string;
  readonly prefix: string;
  private readonly bucket: Bucket;

  constructor(options: GcsObjectStoreOptions) {
    if (!BUCKET.test(options.bucket)) throw new ConfigError(`not a valid GCS bucket name: ${JSON.stringify(options.bucket)}`);
    const prefix = validatePrefix(options.prefix ?? '');
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.bucketName = options.bucket;
    this.bucket = (options.storage ?? new Storage()).bucket(options.bucket);
  }

  private nameOf(key: string): string {
    return `${this.prefix}${validateKey(key)}`;
  }

  async put(key: string, body: string | Buffer): Promise<void> {
    const name = this.nameOf(key);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (key.startsWith(CREATE_ONLY_PREFIX)) await this.create(name, bytes);
    else await this.overwrite(name, bytes);
  }

  /**
   * Uploads under a precondition; false when GCS answers 412. Staged files are small: one
   * multipart request instead of a resumable session (an extra round trip). The client
   * still checks the stored CRC32C.
   */
  private async upload(name: string, bytes: Buffer, ifGenerationMatch: string | number): Promise<boolean> {
    try {
      await this.bucket.file(name).save(bytes, { resumable: false, contentType: contentTypeOf(name), preconditionOpts: { ifGenerationMatch } });
      return true;
    } catch (err) {
      if (isPreconditionFailed(err)) return false;
      throw err;
    }
  }

  /** The object's metadata, or null when there is none. A GET: always retried. */
  private async metadataOf(name: string): Promise<FileMetadata | null> {
    try {
      const [metadata] = await this.bucket.file(name).getMetadata();
      return metadata;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * A staging key is new, so the upload may only create it. A 412 means the object exists:
   * most likely our own first try landed and only its answer was lost, so the client's retry
   * met it. The key names its content, so the same bytes there are success; other bytes are
   * a staging-key collision and must not be overwritten.
   */
  private async create(name: string, bytes: Buffer): Promise<void> {
    if (await this.upload(name, bytes, 0)) return;
    if (holdsBytes(await this.metadataOf(name), bytes)) return;
    throw new PermanentError(`gs://${this.bucketName}/${name} already holds other bytes; a staging key must name a new object`);
  }

  /**
   * A raw file a rerun replaces: read its generation, then upload only over that generation.
   * Not `IdempotencyStrategy.RetryAlways`: it is a client-wide setting (it would make every
   * unconditioned write on a shared client retried), and a blind retry can land an older
   * body over a newer writer's. A 412 means someone wrote in between — or our own upload
   * landed and its retry met the new generation, which the bytes then show.
   */
  private async overwrite(name: string, bytes: Buffer): Promise<void> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const current = await this.metadataOf(name);
      if (attempt > 0 && holdsBytes(current, bytes)) return;
      if (await this.upload(name, bytes, generationOf(current))) return;
    }
    throw new TransientError(`gs://${this.bucketName}/${name} kept changing under ${WRITE_ATTEMPTS} overwrites; another writer holds it`);
  }

  async get(key: string): Promise<Buffer | null> {
    const name = this.nameOf(key);
    try {
      const [bytes] = await this.bucket.file(name).download();
      return bytes;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    const [found] = await this.bucket.file(this.nameOf(key)).exists();
    return found;
  }

  async list(prefix: string): Promise<string[]> {
    const full = `${this.prefix}${validatePrefix(prefix)}`;
    const keys: string[] = [];
    let pageToken: string | undefined;
    do {
      const [files, next] = await this.bucket.getFiles({
        prefix: full,
        autoPaginate: false,
        maxResults: PAGE_SIZE,
        // Names and the next page are all we read.
        fields: 'items(name),nextPageToken',
        ...(pageToken ? { pageToken } : {}),
      });
      for (const file of files) keys.push(file.name.slice(this.prefix.length));
      pageToken = (next as { pageToken?: string } | null)?.pageToken;
    } while (pageToken);
    return keys.sort();
  }

  /**
   * Deletes the generation just read, so the delete is retried (see the file comment); a
   * retry after a lost answer meets 404, which is success. A 412 means the object was
   * replaced between the read and the delete: read again and delete that one.
   */
  async delete(key: string): Promise<void> {
    const name = this.nameOf(key);
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const current = await this.metadataOf(name);
      if (!current) return;
      try {
        await this.bucket.file(name).delete({ ignoreNotFound: true, ifGenerationMatch: generationOf(current) });
        return;
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err;
      }
    }
    throw new TransientError(`gs://${this.bucketName}/${name} kept changing under ${WRITE_ATTEMPTS} deletes; another writer holds it`);
  }

  /** BigQuery reads a commit's objects from the bucket: a stash is an upload like any other. */
  async stash(key: string, body: string): Promise<void> {
    await this.put(key, body);
  }

  /** Deletes many keys, a few at a time (see delete-many.ts); one failure does not stop the rest. */
  deleteMany(keys: readonly string[], options?: DeleteManyOptions): Promise<void> {
    return deleteMany(this, keys, options);
  }

  uri(key: string): string {
    return `gs://${this.bucketName}/${this.nameOf(key)}`;
  }

  /**
   * `buckets.get`: where the bucket lives (`US`, `EU`, `EUROPE-WEST1`, a dual-region code) and
   * the kind of location; null when the bucket does not exist. BigQuery reads staged objects
   * only from a bucket colocated with the dataset (see `phasegate doctor`).
   */
  async bucketLocation(): Promise<{ location: string; locationType: string | undefined } | null> {
    try {
      const [metadata] = await this.bucket.getMetadata();
      return { location: String(metadata.location ?? ''), locationType: metadata.locationType ?? undefined };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * `buckets.testIamPermissions`: which of `permissions` the caller lacks on the bucket
   * (cloud.google.com/storage/docs/json_api/v1/buckets/testIamPermissions). Empty = all held.
   */
  async missingPermissions(permissions: readonly string[]): Promise<string[]> {
    const [granted] = await this.bucket.iam.testPermissions([...permissions]);
    return permissions.filter((p) => granted[p] !== true);
  }
}
