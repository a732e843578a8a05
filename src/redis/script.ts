/**
 * A Lua script phasegate runs, declared once with its name and the order of its KEYS, and
 * loaded on each connection the first time that connection runs it (ioredis `defineCommand`:
 * EVALSHA, falling back to EVAL after a SCRIPT FLUSH or a server restart) — so the script's
 * text crosses the wire once per connection, not once per call. Naming the keys makes the
 * KEYS order part of the declaration: a caller passes `{ pending, batch, … }`, never a
 * positional list it has to keep in step with the Lua.
 */

import type { ChainableCommander } from 'ioredis';
import { DefinitionError } from '../errors/definition-error.ts';
import type { RedisClient } from './connect.ts';

type Arg = string | number;

export interface LuaScript<K extends string> {
  readonly name: string;
  /** Runs the script with its keys (by name) and arguments; resolves to what the script returned. */
  run(redis: RedisClient, keys: Readonly<Record<K, string>>, ...args: readonly Arg[]): Promise<unknown>;
  /**
   * Defines the script on `redis` (once). ioredis copies a connection's scripts into a MULTI or
   * pipeline when it is created, so define before `redis.multi()` to `queue` the script in it.
   */
  define(redis: RedisClient): void;
  /** Queues the script in a MULTI or pipeline of a connection it was defined on (see `define`); its reply is that command's result. */
  queue(multi: ChainableCommander, keys: Readonly<Record<K, string>>, ...args: readonly Arg[]): ChainableCommander;
}

const defined = new WeakMap<RedisClient, Set<string>>();
const names = new Set<string>();

/** Declares a script. `name` becomes a command on the connection, so it must be unique in the process. */
export function luaScript<const K extends string>(name: string, keyOrder: readonly K[], lua: string): LuaScript<K> {
  if (names.has(name)) throw new DefinitionError(`Lua script ${name} is declared twice`);
  names.add(name);
  const command = `pg_${name}`;
  const define = (redis: RedisClient) => {
    let done = defined.get(redis);
    if (!done) {
      done = new Set();
      defined.set(redis, done);
    }
    if (!done.has(command)) {
      redis.defineCommand(command, { numberOfKeys: keyOrder.length, lua });
      done.add(command);
    }
  };
  const callOn = <T>(target: RedisClient | ChainableCommander, keys: Readonly<Record<K, string>>, args: readonly Arg[]): T => {
    const call = (target as unknown as Record<string, (...a: Arg[]) => T>)[command];
    if (!call) throw new DefinitionError(`Lua script ${name} is not defined on this connection`);
    return call.call(target, ...keyOrder.map((k) => keys[k]), ...args);
  };
  return {
    name,
    async run(redis, keys, ...args) {
      define(redis);
      return callOn<Promise<unknown>>(redis, keys, args);
    },
    define,
    queue(multi, keys, ...args) {
      return callOn<ChainableCommander>(multi, keys, args);
    },
  };
}
