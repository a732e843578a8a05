/**
 * The embedded object store: a folder with the same key layout as the GCS bucket, so the
 * same staging and raw-file paths work on a laptop and in production.
 */

import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore } from './object-store.ts';
import { validateKey, validatePrefix } from './object-store.ts';

export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local';
  readonly root: string;
  /**
   * Stashed objects (see ObjectStore.stash): written to the folder they would cost a commit a
   * mkdir, a write, a rename, a read and an unlink through libuv's four file-system threads —
   * tens of milliseconds on a busy machine — for bytes only this process reads, right away.
   */
  private readonly stashed = new Map<string, Buffer>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...validateKey(key).split('/'));
  }

  async put(key: string, body: string | Buffer): Promise<void> {
    const file = this.pathOf(key);
    this.stashed.delete(key);
    await mkdir(path.dirname(file), { recursive: true });
    // Write then rename: a reader (or a worker killed mid-write) never sees half an object.
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, file);
  }

  async stash(key: string, body: string): Promise<void> {
    this.stashed.set(validateKey(key), Buffer.from(body));
  }

  async get(key: string): Promise<Buffer | null> {
    const stashed = this.stashed.get(key);
    if (stashed) return stashed;
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    if (this.stashed.has(key)) return true;
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch {
      return false;
    }
  }

  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    // Walk only the deepest folder the prefix names, then filter on the rest of it.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = path.join(this.root, ...dirKey.split('/').filter(Boolean));
    const out: string[] = [];
    const walk = async (dir: string, keyBase: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const entry of entries) {
        const key = keyBase ? `${keyBase}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(path.join(dir, entry.name), key);
        else if (entry.isFile() && !entry.name.endsWith('.tmp') && key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(start, dirKey);
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    if (this.stashed.delete(key)) return;
    await rm(this.pathOf(key), { force: true });
  }

  uri(key: string): string {
    return this.pathOf(key);
  }
}
