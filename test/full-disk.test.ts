/**
 * Issue 22, point 4: a full disk. The data folder sits on a small tmpfs filled to the last
 * page (mounted here when the tests run as root; otherwise the same folders are made
 * read-only, a file-system refusal of another kind). A backfill then fails its jobs with errors
 * that name the operation and the path (Node's own text for a failed write names neither:
 * `ENOSPC: no space left on device, write`), leaves no half-written file, and ends with its
 * summary and a failed-dates file written where there is room, saying where it could not be.
 * A later run removes the staging files earlier runs left. (On the old code the run ended with
 * the one line `phasegate: ENOSPC: no space left on device, write` and nothing else.)
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { deleteKeys, runCli, TEST_REDIS_URL } from './helpers.ts';

const DATES = ['2023-11-01', '2023-11-02'];
const TABLE = 'nba_raw.nbac_team_boxscore';

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('a full disk (issue 22, point 4)', function () {
  this.timeout(180_000);
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  let dir: string;
  let disk: string;
  let data: string;
  let spare: string;
  let mounted = false;
  /** What the file system answers a write with here. */
  let refusal: RegExp;
  let failedFile = '';

  const env = (more: Record<string, string> = {}) => ({
    REDIS_URL: TEST_REDIS_URL,
    PHASEGATE_PREFIX: prefix,
    PHASEGATE_DATA_DIR: data,
    // The warehouse is elsewhere: what is tested here is the object store and the data folder.
    PHASEGATE_DUCKDB_PATH: path.join(dir, 'warehouse.duckdb'),
    PHASEGATE_STAGING_INLINE_MAX_BYTES: '0',
    PHASEGATE_JOB_ATTEMPTS: '1',
    PHASEGATE_TIME_SCALE: '200',
    PHASEGATE_LOG_LEVEL: 'info',
    TMPDIR: spare,
    ...more,
  });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-full-disk-'));
    disk = path.join(dir, 'disk');
    spare = path.join(dir, 'spare');
    await mkdir(disk);
    await mkdir(spare);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk], { stdio: 'ignore' });
      mounted = true;
    } catch {
      mounted = false;
    }
    data = path.join(disk, 'data');
    await mkdir(path.join(data, 'store'), { recursive: true });
    if (mounted) {
      // Every page taken: the next write of a byte fails with ENOSPC (an empty file still fits).
      await writeFile(path.join(disk, 'filler'), Buffer.alloc(4 << 20)).catch(() => undefined);
      refusal = /no space left on device \(ENOSPC\)/;
    } else {
      await chmod(path.join(data, 'store'), 0o555);
      await chmod(data, 0o555);
      refusal = /permission denied \(EACCES\)/;
    }
  });

  after(async () => {
    if (mounted) execFileSync('umount', [disk], { stdio: 'ignore' });
    else await chmod(data, 0o755).catch(() => undefined);
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  it('jobs fail naming the path and the operation; the run ends with its summary and the failed-dates file written where there is room', async () => {
    const r = await runCli(
      ['backfill', '--processors', 'nbac_team_boxscore_scraper', '--start', DATES[0] as string, '--end', DATES[1] as string, '--workers', '1'],
      env(),
    );
    expect(r.code, r.stderr).to.equal(1);
    // The summary: the scraper's two dates failed.
    expect(r.stdout).to.match(/nbac_team_boxscore_scraper\s+0\s+0\s+0\s+2/);
    const written = /failed dates written to (\S+)/.exec(r.stdout)?.[1];
    expect(written, r.stdout).to.be.a('string');
    failedFile = written as string;
    expect(failedFile.startsWith(path.join(spare, 'phasegate-failed'))).to.equal(true);
    const inData = path.join(data, 'failed', path.basename(failedFile));
    expect(r.stderr).to.include(`phasegate: failed-dates file: writing ${inData}: `);
    expect(r.stderr).to.include(`written to ${failedFile} instead`);
    expect(r.stderr).to.not.match(/^phasegate: E[A-Z]+: /m);

    // Every failure says what it was writing where.
    const file = JSON.parse(await readFile(failedFile, 'utf8')) as { failures: { slice: string; error?: string }[] };
    expect(file.failures.map((f) => f.slice)).to.deep.equal(DATES);
    for (const f of file.failures) {
      expect(f.error).to.match(new RegExp(`(writing|creating the folder) ${data}/store/nba-com/team-boxscore/`));
      expect(f.error).to.match(refusal);
    }
    // Nothing half-written is left behind.
    expect((await filesUnder(path.join(data, 'store'))).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('a later run, with room again, removes the staging files stopped runs left behind', async () => {
    if (mounted) await rm(path.join(disk, 'filler'));
    else {
      await chmod(data, 0o755);
      await chmod(path.join(data, 'store'), 0o755);
    }
    // What a full disk left under the local store: an interrupted write (empty .tmp) and an
    // object no pending slice refers to, both an hour old; and one just written, whose
    // pending entry may be on its way from another process: that one stays.
    const folder = path.join(data, 'store', 'staging', TABLE, DATES[0] as string);
    await mkdir(folder, { recursive: true });
    const hourAgo = new Date(Date.now() - 3_600_000);
    const tmp = path.join(folder, `1700000000000-aaaaaaaaaaaaaaaa.ndjson.${randomUUID()}.tmp`);
    const orphan = path.join(folder, '1700000000000-bbbbbbbbbbbbbbbb.ndjson');
    const fresh = path.join(folder, `${Date.now()}-cccccccccccccccc.ndjson`);
    await writeFile(tmp, '');
    await writeFile(orphan, '{"game_id":"x"}\n');
    await writeFile(fresh, '{"game_id":"y"}\n');
    for (const f of [tmp, orphan]) await utimes(f, hourAgo, hourAgo);

    const r = await runCli(['backfill', '--retry-failed', failedFile, '--workers', '1'], env());
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include(
      `${TABLE}: removed 2 staging files stopped runs left in ${path.join(data, 'store', 'staging', TABLE)} (1 interrupted writes, 1 no pending slice refers to)`,
    );
    expect(existsSync(tmp)).to.equal(false);
    expect(existsSync(orphan)).to.equal(false);
    expect(existsSync(fresh)).to.equal(true);
  });
});
