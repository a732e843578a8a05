/**
 * The processes of `bench:scale` — each run's commit-gate process (run.ts) and its phase-worker
 * processes — run compiled JavaScript, as `phasegate worker` does once installed
 * (bin/phasegate.js runs dist/): under `tsx` every process would also carry the TypeScript
 * loader — about 48 MB of RSS on this machine (plain node 39 MB, with tsx 88 MB) that no
 * production worker has. tsc compiles run.ts, phase-worker.ts and everything they import, the
 * bench's repeated-seasons source included, into `<work dir>/js`; the fixture's data folder is
 * linked next to it, where src/sources/fixture/real-data.ts looks for it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

/** Compiles the run and phase-worker processes into `<workDir>/js` and returns their entries, to run with plain `node`. */
export function compileScaleProcesses(workDir: string): { run: string; worker: string } {
  const out = path.join(workDir, 'js');
  rmSync(out, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(import.meta.dirname, 'tsconfig.worker.json'), '--outDir', out], { stdio: 'inherit' });
  const fixtures = path.join(out, 'fixtures');
  if (!existsSync(fixtures)) symlinkSync(path.join(ROOT, 'fixtures'), fixtures, 'dir');
  const dir = path.join(out, 'scripts', 'bench', 'scale');
  return { run: path.join(dir, 'run.js'), worker: path.join(dir, 'phase-worker.js') };
}
