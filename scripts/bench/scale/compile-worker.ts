/**
 * The phase-worker processes of `bench:scale` run compiled JavaScript, as `phasegate worker`
 * does once installed (bin/phasegate.js runs dist/): under `tsx` every process would also carry
 * the TypeScript loader — about 48 MB of RSS on this machine (plain node 39 MB, with tsx 88 MB)
 * that no production worker has. tsc compiles phase-worker.ts and everything it imports, the
 * bench's repeated-seasons source included, into `<work dir>/js`; the fixture's data folder is
 * linked next to it, where src/sources/fixture/real-data.ts looks for it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

/** Compiles the phase worker into `<workDir>/js` and returns the entry to run with plain `node`. */
export function compilePhaseWorker(workDir: string): string {
  const out = path.join(workDir, 'js');
  rmSync(out, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(import.meta.dirname, 'tsconfig.worker.json'), '--outDir', out], { stdio: 'inherit' });
  const fixtures = path.join(out, 'fixtures');
  if (!existsSync(fixtures)) symlinkSync(path.join(ROOT, 'fixtures'), fixtures, 'dir');
  return path.join(out, 'scripts', 'bench', 'scale', 'phase-worker.js');
}
