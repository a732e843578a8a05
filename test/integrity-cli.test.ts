/**
 * What a user sees of imperfect input in the CLI: a dry run says on how many dates raw files
 * are there, `--workers` ends with incomplete dates counted apart (exit 1), `status` names
 * them, and the failed-dates file lists them for `--retry-failed`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { FailedDatesFile } from '../src/queues/backfill/dates.ts';
import { deleteKeys, runCli, TEST_REDIS_URL } from './helpers.ts';

describe('phasegate CLI: incomplete and empty slices', function () {
  this.timeout(120_000);
  let dir: string;
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const run = (args: string[]) =>
    runCli(args, { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_LOG_LEVEL: 'error', PHASEGATE_TIME_SCALE: '200' });
  const range = ['--start', '2023-11-01', '--end', '2023-11-03'];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-integrity-cli-'));
  });
  after(async () => {
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  it('a dry run of phase 2 without its scraper says on how many dates raw files are present', async () => {
    const before = await run(['backfill', '--processors', 'nbac_player_boxscore', ...range, '--dry-run']);
    expect(before.code, before.stderr).to.equal(0);
    expect(before.stdout).to.match(/nbac_player_boxscore: raw files present for 0 of 3 dates/);
    const scrape = await run(['backfill', '--processors', 'nbac_player_boxscore_scraper', '--start', '2023-11-01', '--end', '2023-11-01', '--workers', '1']);
    expect(scrape.code, scrape.stderr).to.equal(0);
    const after = await run(['backfill', '--processors', 'nbac_player_boxscore', ...range, '--dry-run']);
    expect(after.stdout).to.match(/raw files present for 1 of 3 dates \(the other 2 end incomplete or empty/);
  });

  it('dates without their files end incomplete (exit 1), named by status and listed in the failed-dates file', async () => {
    const r = await run(['backfill', '--processors', 'nbac_player_boxscore', ...range, '--workers', '1']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^ {2}2 {6}nbac_player_boxscore\s+1\s+2\s+0\s+0$/m);
    const file = /failed dates written to (\S+)/.exec(r.stdout)?.[1] ?? '';
    const failed = JSON.parse(await readFile(file, 'utf8')) as FailedDatesFile;
    expect(failed.processors.nbac_player_boxscore).to.deep.equal(['2023-11-02', '2023-11-03']);
    expect(failed.failures.map((f) => f.status)).to.deep.equal(['incomplete', 'incomplete']);
    const status = await run(['status']);
    expect(status.stdout).to.match(/incomplete nbac_player_boxscore 2023-11-02: no input for any of the \d+ scheduled games/);
    const json = JSON.parse((await run(['status', '--json'])).stdout) as { backfills: { counts: Record<string, Record<string, number>> }[] };
    expect(json.backfills[0]?.counts.nbac_player_boxscore).to.include({ committed: 1, incomplete: 2 });
  });
});
