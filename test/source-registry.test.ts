/**
 * The source registry: every source's processors reach the processor registry from its one
 * line, phase 3 reads whatever sources are declared (a third one needs no edit there), and a
 * source's client is made once per pipeline — or is the fixture's stand-in on the embedded
 * default — never shared through a module.
 */
import { rm } from 'node:fs/promises';
import { expect } from 'chai';
import { ConfigError } from '../src/errors/config-error.ts';
import { reconcile, SOURCE_TABLES } from '../src/processors/analytics/sources.ts';
import { bdlClient } from '../src/processors/bdl/client.ts';
import { nbacTeamBoxscore } from '../src/processors/nbac/team-boxscore.ts';
import type { SourceDef, SourceTable } from '../src/processors/source-def.ts';
import { fallbackPlayerProcessors, primarySource, SOURCES, sourceProcessors } from '../src/processors/source-registry.ts';
import { type Row, type TransformDef, tableId } from '../src/processors/types.ts';
import { defaultRegistry } from '../src/runtime.ts';
import { FixtureSource } from '../src/sources/fixture/fixture-source.ts';
import { sourceClients } from '../src/sources/source-clients.ts';
import { testConfig } from './helpers.ts';

const line = (game: string, team: number, player: number): Row => ({ game_id: game, team_id: team, player_id: player, pts: 10, quality_issues: null });

describe('source registry', () => {
  it('puts every source’s scrapers and raw processors in the processor registry, one primary first', () => {
    const registry = defaultRegistry();
    for (const source of SOURCES) for (const def of sourceProcessors(source)) expect(registry.get(def.name)).to.equal(def);
    expect(primarySource().name).to.equal('nbac');
    expect(SOURCES.filter((s) => s.role === 'primary')).to.have.length(1);
    expect(fallbackPlayerProcessors()).to.deep.equal(['bdl_player_boxscore']);
    // The team summaries read the fallback's lines directly; the players' through the crosswalk's verdicts on them.
    expect(registry.get('team_offense_game_summary')).to.deep.include({ optionalInputs: ['bdl_player_boxscore'] });
    expect(registry.get('player_game_summary')).to.deep.include({ optionalInputs: ['player_crosswalk'] });
  });

  it('phase 3 reads any declared source: a second fallback fills a game only it has, after the first', () => {
    const bdl = (SOURCES.find((s) => s.name === 'bdl') as SourceDef).tables[0] as SourceTable;
    const processor: TransformDef = { ...bdl.processor, name: 'extra_player_boxscore', table: { ...bdl.processor.table, table: 'extra_player_boxscores' } };
    const extra: SourceDef = { name: 'extra', label: 'Extra', role: 'fallback', tables: [{ lines: 'player', scraper: bdl.scraper, processor }] };
    const rows = {
      [SOURCE_TABLES.nbac as string]: [line('A', 1, 1), line('A', 2, 2)],
      [tableId(nbacTeamBoxscore.table)]: [line('A', 1, 0), line('A', 2, 0)],
      [SOURCE_TABLES.bdl as string]: [line('B', 1, 91), line('C', 1, 93)],
      'nba_raw.extra_player_boxscores': [line('B', 1, 71), line('C', 1, 73), line('C', 2, 74)],
    };
    const { games } = reconcile(rows, [...SOURCES, extra]);
    expect(games.get('A')).to.include({ source: 'nbac', fallback: false, tier: 'gold' });
    // B: one team's lines in both fallbacks: the first declared wins, incomplete.
    expect(games.get('B')).to.include({ source: 'bdl', fallback: true, tier: 'bronze' });
    // C: only the second fallback covers both teams.
    expect(games.get('C')).to.include({ source: 'extra', fallback: true, tier: 'silver' });
    expect(games.get('C')?.issues.find((i) => i.rule === 'fallback_source')?.detail).to.equal('NBA.com has no box score for this game: Extra used');
  });

  describe('clients', () => {
    it('serves the fixture’s stand-in on the embedded default, the same one for the pipeline’s life', async () => {
      const fixture = new FixtureSource();
      const clients = sourceClients(fixture);
      expect(clients.of(bdlClient)).to.equal(fixture);
      expect((await clients.of(bdlClient).bdlStats('2023-10-24')).length).to.be.greaterThan(0);
    });

    it('makes the real client from the settings once per pipeline, never shared between two', async () => {
      const { config, dir } = await testConfig({ PHASEGATE_BDL_API_KEY: 'test-key' });
      try {
        const a = sourceClients(undefined, config);
        const b = sourceClients(undefined, config);
        expect(a.of(bdlClient)).to.equal(a.of(bdlClient));
        expect(a.of(bdlClient)).to.not.equal(b.of(bdlClient));
        expect(a.of(bdlClient)).to.not.be.instanceOf(FixtureSource);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('without a key, or without settings, says what is missing', async () => {
      const { config, dir } = await testConfig();
      try {
        expect(() => sourceClients(undefined, config).of(bdlClient)).to.throw(ConfigError, /PHASEGATE_BDL_API_KEY/);
        expect(() => sourceClients(undefined).of(bdlClient)).to.throw(ConfigError, /source bdl: no settings/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
