/**
 * One bench:scale run per work dir (scripts/bench/scale/work-dir-lock.ts): a second run in the
 * same `--work-dir` refuses in one line, naming the first; a lock left by a run that no longer
 * runs is taken over.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { lockWorkDir } from '../scripts/bench/scale/work-dir-lock.ts';
import { runNode } from './helpers.ts';

const SCALE = path.resolve(import.meta.dirname, '..', 'scripts', 'bench', 'scale.ts');

describe('bench:scale: one run per work dir', function () {
  this.timeout(60_000);
  let dir: string;
  let holder: ChildProcess | undefined;
  const lockFile = () => path.join(dir, '.bench-scale.lock');

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-bench-lock-'));
  });
  afterEach(async () => {
    holder?.kill('SIGKILL');
    holder = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('a second run in a work dir another run holds refuses at once, in one line, and leaves the lock and the folder as they were', async () => {
    // The first run: any live process whose pid is in the lock.
    holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    await writeFile(lockFile(), `${holder.pid}\n`);
    await writeFile(path.join(dir, 'first-run.txt'), 'kept');
    const run = await runNode(['--import', 'tsx', SCALE, '--sizes', '40', '--quiet', '--work-dir', dir], {}, { timeoutMs: 50_000 });
    expect(run.code).to.equal(1);
    expect(run.stderr.trim().split('\n')).to.deep.equal([
      `bench:scale: --work-dir ${dir} is in use by another run (pid ${holder.pid}); wait for it to end, or give another --work-dir`,
    ]);
    expect(await readFile(lockFile(), 'utf8')).to.equal(`${holder.pid}\n`);
    expect(existsSync(path.join(dir, 'raw')), 'the raw store prepared').to.equal(false);
    expect(await readFile(path.join(dir, 'first-run.txt'), 'utf8')).to.equal('kept');
  });

  it('takes over a lock whose run no longer runs, and lets go of it', async () => {
    const gone = spawn('true');
    await new Promise((r) => gone.on('exit', r));
    await writeFile(lockFile(), `${gone.pid}\n`);
    const release = await lockWorkDir(dir);
    expect(await readFile(lockFile(), 'utf8')).to.equal(`${process.pid}\n`);
    release();
    expect(existsSync(lockFile())).to.equal(false);
    // Free again: taken at once.
    (await lockWorkDir(dir))();
    expect(existsSync(lockFile())).to.equal(false);
  });
});
