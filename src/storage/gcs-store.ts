/**
 * The production object store: a Google Cloud Storage bucket, optionally under a prefix, with
 * the same key layout as the local folder. BigQuery reads staged NDJSON from it directly
 * (`uri()` → `gs://…`) through a query job's temporary external table.
 */

import type { Bucket } from '@google-cloud/storage';
import { Storage } from '@google-cloud/storage';
import { ConfigError } from '../errors/config-error.ts';
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

function isNotFound(thrown: unknown): boolean {
  return (thrown as { code?: unknown } | null)?.code === 404;
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
    // Staged files are small; one multipart request instead of a resumable session (which
    // costs an extra round trip). The client still checks the stored CRC32C.
    await this.bucket.file(name).save(typeof body === 'string' ? Buffer.from(body, 'utf8') : body, {
      resumable: false,
      contentType: contentTypeOf(name),
    });
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

  async delete(key: string): Promise<void> {
    await this.bucket.file(this.nameOf(key)).delete({ ignoreNotFound: true });
  }

  uri(key: string): string {
    return `gs://${this.bucketName}/${this.nameOf(key)}`;
  }
}
