/**
 * The plausibility rules against real data: every real line must pass every rule of its table
 * (a rule the real feed breaks would refuse the truth). The whole 2023-24 season — regular
 * season, Play-In and playoffs, from `fixtures/nba/player_games_2023-24*.csv.gz` through the
 * fixture's NBA.com and balldontlie files — and the real 2025-26 v3 game.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { checkSlice } from '../src/integrity/slice-check.ts';
import { bdlPlayerBoxscore } from '../src/processors/bdl/player-boxscore.ts';
import { bdlPlayerBoxscoreScraper } from '../src/processors/bdl/player-boxscore-scraper.ts';
import { nbacPlayerBoxscoreScraper, nbacTeamBoxscoreScraper } from '../src/processors/nbac/boxscore-scrapers.ts';
import { nbacPlayerBoxscore } from '../src/processors/nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../src/processors/nbac/team-boxscore.ts';
import type { TransformDef } from '../src/processors/types.ts';
import { FixtureSource } from '../src/sources/fixture/fixture-source.ts';
import { sourceClients } from '../src/sources/source-clients.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';

describe('plausibility rules on the real data', function () {
  this.timeout(120_000);
  let dir: string;
  let store: LocalObjectStore;
  const source = new FixtureSource();

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-real-rules-'));
    store = new LocalObjectStore(dir);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  /** Scrapes a date, runs the transforms, and checks their rows as staging does. */
  async function check(slice: string): Promise<{ rows: number; warnings: number }> {
    const ctx = { slice, store, source, schedule: source, clients: sourceClients(source) };
    for (const scraper of [nbacPlayerBoxscoreScraper, nbacTeamBoxscoreScraper, bdlPlayerBoxscoreScraper]) await scraper.run(ctx);
    const expectation = (await source.games(slice)).map((g) => g.gameId);
    let rows = 0;
    let warnings = 0;
    for (const def of [nbacPlayerBoxscore, nbacTeamBoxscore, bdlPlayerBoxscore] as TransformDef[]) {
      const out = await def.run(ctx);
      const verdict = checkSlice({ spec: def.table, processor: def.name, slice, rows: out, expectation });
      expect(verdict.outcome, `${def.name} ${slice}`).to.equal('complete');
      rows += def === nbacPlayerBoxscore ? out.length : 0;
      warnings += verdict.warnings;
    }
    await rm(dir, { recursive: true, force: true });
    return { rows, warnings };
  }

  it('passes every line of the 2023-24 season (32,385 + 2,430), on every raw table, with no warning', async () => {
    let rows = 0;
    let warnings = 0;
    for (const date of await source.gameDates('2023-10-24', '2024-06-30')) {
      const r = await check(date);
      rows += r.rows;
      warnings += r.warnings;
    }
    expect(rows).to.equal(32_385 + 2_430);
    expect(warnings).to.equal(0);
  });

  it('passes the real 2025-26 v3 game (0022500165)', async () => {
    expect((await source.games('2025-11-04')).map((g) => g.gameId)).to.deep.equal(['0022500165']);
    expect((await check('2025-11-04')).rows).to.be.above(20);
  });
});
