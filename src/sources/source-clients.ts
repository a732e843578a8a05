/**
 * The clients of one pipeline's sources (`SourceDef.client`), made on first use and kept for
 * the pipeline's life: one client per pipeline, not per module, so two pipelines in a process
 * (tests, the demo) never share one. On the embedded fixture a source it serves gets the
 * fixture's stand-in instead of the real client.
 */
import type { Config } from '../config/load-config.ts';
import { ConfigError } from '../errors/config-error.ts';
import type { SourceClientDef, SourceClients } from '../processors/types.ts';
import type { FixtureSource } from './fixture/fixture-source.ts';

/** `config` makes the real clients; without it only the fixture's stand-ins are served. */
export function sourceClients(fixture: FixtureSource | undefined, config?: Config): SourceClients {
  const made = new Map<string, unknown>();
  const make = <C>(def: SourceClientDef<C>): C => {
    const standIn = fixture?.standIn(def);
    if (standIn !== undefined) return standIn;
    if (!config) throw new ConfigError(`source ${def.source}: no settings to make its client from, and no fixture serving it`);
    return def.create(config);
  };
  return {
    of<C>(def: SourceClientDef<C>): C {
      if (!made.has(def.source)) made.set(def.source, make(def));
      // Stored under the def's own source by the line above, as that def's C.
      return made.get(def.source) as C;
    },
  };
}
