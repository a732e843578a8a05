/**
 * `phasegate doctor`'s free-space lines for the folders phasegate writes to on this machine
 * (src/doctor/disk-checks.ts): the verdict from a file system's numbers, and the real numbers
 * of this machine's temporary folder.
 */
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { diskChecks, diskVerdict } from '../src/doctor/disk-checks.ts';
import { literal } from './helpers.ts';

const GB = 1024 ** 3;

describe('doctor: free disk where phasegate writes', () => {
  it('is ✓ with room, ! under 2 GB or 5 % of the disk, ✗ under 512 MB, naming the folder and the setting that moves it', () => {
    expect(diskVerdict('warehouse file', '/data', { free: 40 * GB, total: 100 * GB })).to.deep.equal({
      subject: 'disk (warehouse file)',
      status: 'ok',
      detail: '40.0 GB free of 100.0 GB (40 %) at /data',
    });
    const low = diskVerdict('warehouse file', '/data', { free: 1.5 * GB, total: 10 * GB });
    expect(low).to.include({ status: 'warn', detail: '1.5 GB free of 10.0 GB (15 %) at /data' });
    expect(low.fix).to.include('PHASEGATE_DUCKDB_PATH');
    // 3 GB is plenty on a small disk, but 3 % of a 100 GB one is close to full.
    expect(diskVerdict('object store', '/s', { free: 3 * GB, total: 100 * GB })).to.include({ status: 'warn' });
    const full = diskVerdict('object store', '/s', { free: 100 * 1024 ** 2, total: 100 * GB });
    expect(full).to.include({ status: 'fail', blocksCommits: false });
    expect(full.detail).to.match(/^0\.1 GB free of 100\.0 GB \(0 %\) at \/s: commits and stagings may fail/);
    expect(full.fix).to.include('PHASEGATE_STORE_DIR');
  });

  it("reads this machine's numbers, for a folder not made yet too, and says one folder once", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-disk-'));
    try {
      const notYet = path.join(dir, 'run', 'store');
      const checks = await diskChecks([
        { what: 'warehouse file', folder: dir },
        { what: 'object store', folder: notYet },
        { what: 'object store', folder: dir },
      ]);
      expect(checks.map((c) => c.subject)).to.deep.equal(['disk (warehouse file)', 'disk (object store)']);
      const s = await statfs(dir);
      const freeGb = ((s.bavail * s.bsize) / GB).toFixed(1);
      expect(checks[0]?.detail).to.match(new RegExp(`^${literal(freeGb)} GB free of [0-9.]+ GB \\(\\d+ %\\) at ${literal(dir)}`));
      expect(checks[1]?.detail).to.include(`at ${notYet}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
