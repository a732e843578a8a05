/**
 * One bench:scale run per work dir. Two runs in one tree share `--work-dir`: the second clears
 * the raw store's `staging/` folder while the first writes into it, and one of them failed at
 * its start with `ENOTEMPTY … rmdir`. The second now refuses, in one line, naming the first.
 *
 * A lock file holding the owner's pid, created exclusively; one whose pid no longer runs (a run
 * killed before it could remove it) is taken over. Written here rather than with a lockfile
 * library: a bench script needs no more than this, and a pid says whose run it is.
 */
import { readFileSync, rmSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';

export class WorkDirBusyError extends Error {}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(file: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(file, 'utf8'), 10);
  } catch {
    return undefined;
  }
}

/** Takes `workDir`'s lock until the process exits (or the returned function runs), or throws WorkDirBusyError. */
export async function lockWorkDir(workDir: string): Promise<() => void> {
  const file = path.join(workDir, '.bench-scale.lock');
  for (let tries = 0; ; tries++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      // Let go of at exit too: the bench ends with process.exit, which runs no pending finally.
      const release = () => {
        process.off('exit', release);
        // Only while it is still this run's: never another run's that took over a stale one.
        if (ownerOf(file) === process.pid) rmSync(file, { force: true });
      };
      process.on('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw err;
    }
    const pid = ownerOf(file);
    if (pid !== undefined && Number.isInteger(pid) && pid > 0 && pid !== process.pid && running(pid))
      throw new WorkDirBusyError(`bench:scale: --work-dir ${workDir} is in use by another run (pid ${pid}); wait for it to end, or give another --work-dir`);
    // Left by a run that no longer runs: taken over.
    await rm(file, { force: true });
  }
}
