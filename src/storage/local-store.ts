/**
 * The embedded object store: a folder with the same key layout as the GCS bucket, so the
 * same staging and raw-file paths work on a laptop and in production.
 */

import { randomUUID } from 'node:crypto';
import { type Dirent, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileError } from '../errors/file-error.ts';
import type { ObjectStore } from './object-store.ts';
import { validateKey, validatePrefix } from './object-store.ts';

/**
 * The hot calls — a staged body's put, its read by the commit, its delete — are synchronous. On a
 * local folder each is a few system calls answered from the page cache; through the promise API
 * each was several round trips through libuv's four threads (which DuckDB's statements share:
 * Node-API async work), with promise and file-handle bookkeeping on the event loop for each:
 * `openFileHandle`, `close`, `mkdir`, `fstat`, `read`, `lstat` and `rename` took 5.9 s of the
 * commit-gate process's CPU at 853 dates in a profile of `bench:scale --cascade` at × 1 and
 * BigQuery's caps (2026-12-07). A folder on a network file system would hold the process for a
 * call's length; production stages on GCS.
 */
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
    // A turn of the event loop first (setImmediate runs after its poll phase), so the I/O
    // callbacks already waiting run before this synchronous call. Without it a phase job's read,
    // parse, build and write were one long turn: 12 jobs at once held a commit's every await
    // behind them, and the incident replay's clean dates waited 141–159 BigQuery s (p95) to land
    // where the promise calls gave 36–48 s; with it, 84.6 s (docs/bench-scale.md).
    await nextTurn();
    const file = this.pathOf(key);
    this.stashed.delete(key);
    try {
      mkdirSync(path.dirname(file), { recursive: true });
    } catch (err) {
      throw fileError(err, 'creating the folder', path.dirname(file));
    }
    // Write then rename: a reader (or a worker killed mid-write) never sees half an object.
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      writeFileSync(tmp, body);
      renameSync(tmp, file);
    } catch (err) {
      // A full disk leaves an empty or partial .tmp behind: not for anyone to find later.
      try {
        rmSync(tmp, { force: true });
      } catch {
        // Nothing more to do: the sweep removes .tmp files (removePartialWrites).
      }
      throw fileError(err, 'writing', file);
    }
  }

  /**
   * Removes what interrupted writes left under `prefix` (`*.tmp`: a full disk, a killed
   * process) last modified before `before` (ms); returns the paths removed.
   */
  async removePartialWrites(prefix: string, before: number): Promise<string[]> {
    validatePrefix(prefix);
    const removed: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw fileError(err, 'listing', dir);
      }
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile() && entry.name.endsWith('.tmp')) {
          const info = await stat(full).catch(() => undefined);
          if (info && info.mtimeMs < before) {
            await rm(full, { force: true });
            removed.push(full);
          }
        }
      }
    };
    await walk(path.join(this.root, ...prefix.split('/').filter(Boolean)));
    return removed;
  }

  /** When an object was last written (ms) and its size, or undefined when there is none. */
  async statObject(key: string): Promise<{ modifiedMs: number; bytes: number } | undefined> {
    const stashed = this.stashed.get(key);
    if (stashed) return { modifiedMs: Date.now(), bytes: stashed.length };
    const info = await stat(this.pathOf(key)).catch(() => undefined);
    return info?.isFile() ? { modifiedMs: info.mtimeMs, bytes: info.size } : undefined;
  }

  async stash(key: string, body: string): Promise<void> {
    this.stashed.set(validateKey(key), Buffer.from(body));
  }

  async get(key: string): Promise<Buffer | null> {
    // A stashed object is in memory: only the synchronous file read takes a turn first, as in `put`.
    const stashed = this.stashed.get(key);
    if (stashed) return stashed;
    await nextTurn();
    try {
      return readFileSync(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw fileError(err, 'reading', this.pathOf(key));
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
    try {
      unlinkSync(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  uri(key: string): string {
    return this.pathOf(key);
  }
}
