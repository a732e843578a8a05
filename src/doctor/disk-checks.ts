/**
 * The free space where phasegate writes on this machine: the embedded DuckDB file's folder and
 * the local object store's (staged rows, raw files). A full disk is the one failure that stops
 * every commit at once (DuckDB refuses its write-ahead log, a staged object cannot be written),
 * so the doctor says how much is left before it runs out.
 */
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { type Check, fail, ok, warn } from './check.ts';

const GB = 1024 ** 3;
/** Below this a commit or a staging may fail any moment: a 1,700-date cascade's DuckDB file and staging take ~0.5 GB. */
const FAIL_BELOW_BYTES = 512 * 1024 ** 2;
/** Below this, or below `WARN_BELOW_SHARE` of the disk, the doctor warns. */
const WARN_BELOW_BYTES = 2 * GB;
const WARN_BELOW_SHARE = 0.05;

export interface DiskSpace {
  /** Bytes an unprivileged process may still write (`bavail`). */
  free: number;
  total: number;
}

/** One line for a folder phasegate writes to, from its file system's free space. */
export function diskVerdict(what: string, folder: string, space: DiskSpace): Check {
  const subject = `disk (${what})`;
  const share = space.total > 0 ? space.free / space.total : 0;
  const detail = `${(space.free / GB).toFixed(1)} GB free of ${(space.total / GB).toFixed(1)} GB (${Math.round(share * 100)} %) at ${folder}`;
  const fix = `free space on that disk, or point ${what === 'warehouse file' ? 'PHASEGATE_DUCKDB_PATH' : 'PHASEGATE_STORE_DIR'} at a larger one`;
  if (space.free < FAIL_BELOW_BYTES) return fail(subject, `${detail}: commits and stagings may fail for want of space`, fix);
  if (space.free < WARN_BELOW_BYTES || share < WARN_BELOW_SHARE) return warn(subject, detail, fix);
  return ok(subject, detail);
}

/** The free space of `target`'s file system, asked at its nearest folder that exists (a first run has not made its folders yet). */
async function spaceAt(target: string): Promise<DiskSpace> {
  for (let dir = target; ; dir = path.dirname(dir)) {
    try {
      const s = await statfs(dir);
      return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
    } catch (err) {
      if (path.dirname(dir) === dir) throw err;
    }
  }
}

/** A line per folder (one where both are the same); none for a file system that cannot be asked. */
export async function diskChecks(folders: readonly { what: string; folder: string }[]): Promise<Check[]> {
  const checks: Check[] = [];
  const seen = new Set<string>();
  for (const { what, folder } of folders) {
    const resolved = path.resolve(folder);
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    try {
      checks.push(diskVerdict(what, resolved, await spaceAt(resolved)));
    } catch (err) {
      checks.push(warn(`disk (${what})`, `free space at ${resolved} could not be read: ${(err as Error).message}`));
    }
  }
  return checks;
}
