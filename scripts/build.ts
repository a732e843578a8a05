/**
 * `npm run build` — `prepare` runs it, so `npm ci` leaves a built CLI: tsc compiles src/ to
 * dist/ (relative `.ts` imports rewritten to `.js`), the files that are not TypeScript (the
 * dashboard's assets) are copied next to the modules that read them, and `dist/.built` is
 * written last. bin/phasegate.js runs dist/ only when that stamp is newer than every file
 * under src/, so a half-written or stale build never runs.
 *
 * The build goes to dist.next/ and replaces dist/ in one rename: a CLI started meanwhile runs
 * the old build or the sources, never a mix.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');
const next = path.join(root, 'dist.next');
const dist = path.join(root, 'dist');

rmSync(next, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', next], { stdio: 'inherit' });
} catch {
  // tsc printed what is wrong; dist/ stays as it was and bin/phasegate.js runs the sources.
  rmSync(next, { recursive: true, force: true });
  process.stderr.write('build: tsc reported errors (above); dist/ was not replaced\n');
  process.exit(1);
}
cpSync(src, next, { recursive: true, filter: (from) => statSync(from).isDirectory() || !from.endsWith('.ts') });
writeFileSync(path.join(next, '.built'), `${new Date().toISOString()}\n`);
rmSync(dist, { recursive: true, force: true });
renameSync(next, dist);
