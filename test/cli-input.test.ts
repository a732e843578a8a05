/**
 * What an operator types and reads, as a child process on the real Redis: every flag and file
 * checked before the first Redis write (exit 2, one line naming it), configuration errors that
 * never echo a secret, `--version`, examples in every help, `processors`, and `status` columns.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PRIORITY_LIMIT } from 'bullmq';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { MAX_PRIORITY } from '../src/cli/backfill-input.ts';
import { defaultRegistry } from '../src/runtime.ts';
import { deleteKeys, runCli, TEST_REDIS_URL } from './helpers.ts';

describe('phasegate CLI: input and words', function () {
  this.timeout(60_000);
  let dir: string;
  /** This file's prefix, and the one a command runs with now. */
  let filePrefix: string;
  let prefix: string;
  let redis: Redis;

  const run = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_LOG_LEVEL: 'error', ...env });

  /** Every key under the prefix: what a refused command must not have written. */
  const keys = async (under = prefix) => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${under}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  };

  /** Exit 2 with one line on stderr that matches `message`. */
  const refused = (r: { code: number; stderr: string }, message: RegExp) => {
    expect(r.code, r.stderr).to.equal(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(/^phasegate: /);
    expect(lines[0]).to.match(message);
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-cli-input-'));
    filePrefix = `test-${randomUUID().slice(0, 8)}`;
    prefix = filePrefix;
    redis = new Redis(TEST_REDIS_URL);
  });
  after(async () => {
    await redis.quit();
    await deleteKeys(TEST_REDIS_URL, `${filePrefix}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  describe('backfill checks every flag and file before the first Redis write', () => {
    // A prefix of its own for each test: other tests' runs leave queue keys under the file's.
    beforeEach(() => {
      prefix = `test-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
      prefix = filePrefix;
    });
    const month = ['--processors', 'nbac_team_boxscore_scraper,nbac_team_boxscore', '--start', '2023-12-01', '--end', '2023-12-03'];

    it('the priority limit is BullMQ’s', () => {
      expect(MAX_PRIORITY).to.equal(PRIORITY_LIMIT);
    });

    it('--priority above BullMQ’s limit: exit 2 naming the flag, no backfill and no pending status left behind', async () => {
      refused(await run(['backfill', ...month, '--priority', '99999999']), /--priority: "99999999" is above BullMQ's highest priority 2097151/);
      expect(await keys()).to.deep.equal([]);
    });

    it('--workers 0: exit 2 naming the flag, nothing enqueued', async () => {
      refused(await run(['backfill', ...month, '--workers', '0']), /--workers: "0" must be a positive whole number/);
      expect(await keys()).to.deep.equal([]);
    });

    it('--dry-run with --wait: exit 2, it would enqueue nothing to wait for', async () => {
      refused(await run(['backfill', ...month, '--dry-run', '--wait']), /--dry-run enqueues nothing: leave out --wait/);
    });

    it('a --retry-failed file whose dates are not a list: exit 2 naming the file and the entry', async () => {
      const file = path.join(dir, 'failed-not-a-list.json');
      await writeFile(file, JSON.stringify({ backfillId: 'bf-x', processors: { nbac_team_boxscore: 5 }, failures: [] }));
      refused(await run(['backfill', '--retry-failed', file]), new RegExp(`${file}: processors\\.nbac_team_boxscore must be a list of dates`));
      const oneString = path.join(dir, 'failed-a-string.json');
      await writeFile(oneString, JSON.stringify({ backfillId: 'bf-x', processors: { nbac_team_boxscore: '2023-12-01' }, failures: [] }));
      refused(await run(['backfill', '--retry-failed', oneString]), /processors\.nbac_team_boxscore must be a list of dates \(YYYY-MM-DD\), got "2023-12-01"/);
      const unknown = path.join(dir, 'failed-unknown.json');
      await writeFile(unknown, JSON.stringify({ backfillId: 'bf-x', processors: { nbac_team_boxscores: ['2023-12-01'] }, failures: [] }));
      refused(await run(['backfill', '--retry-failed', unknown]), /names processor "nbac_team_boxscores", which phasegate does not have/);
      expect(await keys()).to.deep.equal([]);
    });

    it('a range with no game dates hints at --dates-file for dates the schedule does not cover', async () => {
      refused(
        await run(['backfill', '--processors', 'nbac_team_boxscore', '--start', '2024-07-01', '--end', '2024-07-31']),
        /no game dates between 2024-07-01 and 2024-07-31 in the schedule; .*--dates-file/,
      );
    });

    it('PHASEGATE_TABLE_LIMITS naming a table no processor writes: exit 2 naming the key', async () => {
      const limits = { PHASEGATE_TABLE_LIMITS: JSON.stringify({ 'nba_raw.nbac_player_boxscore': { concurrency: 2 } }) };
      const message =
        /^phasegate: PHASEGATE_TABLE_LIMITS\["nba_raw\.nbac_player_boxscore"\]: no processor writes this table \(tables: nba_raw\.nbac_player_boxscores, /;
      refused(await run(['backfill', ...month, '--workers', '1'], limits), message);
      refused(await run(['status'], limits), message);
      expect(await keys()).to.deep.equal([]);
    });
  });

  describe('configuration errors name the variable and never echo a secret', () => {
    const cases: [string, string, string][] = [
      ['PHASEGATE_DASHBOARD_PASSWORD', 'hunter2', 'at least 12 characters'],
      ['PHASEGATE_DASHBOARD_TOKEN', 'short-s3cret', 'at least 16 characters'],
      ['REDIS_URL', 'redis://admin:s3cret-pw@no such host:6379', ''],
    ];
    for (const [variable, value, why] of cases) {
      it(`${variable}`, async () => {
        const r = await run(
          ['status'],
          variable === 'PHASEGATE_DASHBOARD_PASSWORD' ? { [variable]: value, PHASEGATE_DASHBOARD_USER: 'ops' } : { [variable]: value },
        );
        refused(r, new RegExp(`^phasegate: ${variable}: ${why}`));
        expect(r.stderr).not.to.include(value);
        expect(r.stderr).not.to.include('s3cret');
        expect(r.stderr).not.to.include('hunter2');
      });
    }
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(path.resolve(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    const r = await run(['--version']);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim()).to.equal(pkg.version);
  });

  it('every command’s --help ends with examples, and no help names an internal document', async () => {
    const top = await run(['--help']);
    expect(top.code).to.equal(0);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z][a-z-]*) /gm)].map((m) => m[1] as string).filter((c) => c !== 'help');
    expect(commands).to.include.members(['backfill', 'worker', 'status', 'processors', 'demo', 'conflicts']);
    for (const text of [top.stdout, ...(await Promise.all(commands.map(async (c) => (await run([c, '--help'])).stdout)))]) {
      expect(text, text).to.match(/\nExamples:\n {2}# .+\n {2}\$ (phasegate|npm run demo)/);
      expect(text, text).not.to.match(/seed \d|seed incident/i);
    }
  });

  it('processors lists the registry by phase: name, table, inputs, dependencies', async () => {
    const r = await run(['processors']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^phase 1 · scrape\n {2}nbac_player_boxscore_scraper\n/);
    expect(r.stdout).to.match(
      / {2}nbac_player_boxscore\n.*\n {4}writes {4}nba_raw\.nbac_player_boxscores\n {4}reads {5}files under nba-com\/player-boxscores\/\{date\}\/\n {4}waits for nbac_player_boxscore_scraper\n/,
    );
    expect(r.stdout).to.match(/phase 5 · predictions\n {2}player_points_predictions\n(.*\n)* {4}reads {5}nba_precompute\.player_rolling_features\n/);
    for (const line of r.stdout.trimEnd().split('\n')) expect(line.length, line).to.be.at.most(79);
    const json = JSON.parse((await run(['processors', '--json'])).stdout) as { name: string; phase: number; dependsOn: string[] }[];
    expect(json.map((p) => p.name).sort()).to.deep.equal(
      defaultRegistry()
        .all()
        .map((p) => p.name)
        .sort(),
    );
    expect(json.map((p) => p.phase)).to.deep.equal([...json.map((p) => p.phase)].sort());
  });

  it('status lines up its columns whatever the queue names, shows rows per table and no 1970 breaker time', async () => {
    const r = await run(['status']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    const queues = lines.slice(
      lines.findIndex((l) => l.startsWith('queues')),
      lines.findIndex((l) => l.startsWith('table gates')),
    );
    expect(queues.some((l) => l.includes('commit-nba_predictions.player_points_predictions'))).to.equal(true);
    // Numbers align right: every row of the section ends in the same column.
    expect(new Set(queues.map((l) => l.length)).size, queues.join('\n')).to.equal(1);
    expect(lines.find((l) => l.startsWith('table gates'))).to.match(/pending slices\s+DML today\s+modifications today\s+rows committed$/);
    expect(r.stdout).not.to.include('1970');
    const json = JSON.parse((await run(['status', '--json'])).stdout) as { conflicts: { breaker: { since?: string } }[] };
    for (const c of json.conflicts) expect(c.breaker.since).to.equal(undefined);
  });
});
