/**
 * A Lua script phasegate runs, declared once with its name and the order of its KEYS, and
 * loaded on each connection the first time that connection runs it (ioredis `defineCommand`:
 * EVALSHA, falling back to EVAL after a SCRIPT FLUSH or a server restart) — so the script's
 * text crosses the wire once per connection, not once per call. Naming the keys makes the
 * KEYS order part of the declaration: a caller passes `{ pending, batch, … }`, never a
 * positional list it has to keep in step with the Lua.
 */
import type { Redis } from 'ioredis';

type Arg = string | number;

export interface LuaScript<K extends string> {
  readonly name: string;
  /** Runs the script with its keys (by name) and arguments; resolves to what the script returned. */
  run(redis: Redis, keys: Readonly<Record<K, string>>, ...args: readonly Arg[]): Promise<unknown>;
}

const defined = new WeakMap<Redis, Set<string>>();
const names = new Set<string>();

/** Declares a script. `name` becomes a command on the connection, so it must be unique in the process. */
export function luaScript<const K extends string>(name: string, keyOrder: readonly K[], lua: string): LuaScript<K> {
  if (names.has(name)) throw new Error(`Lua script ${name} is declared twice`);
  names.add(name);
  const command = `pg_${name}`;
  return {
    name,
    async run(redis, keys, ...args) {
      let done = defined.get(redis);
      if (!done) {
        done = new Set();
        defined.set(redis, done);
      }
      if (!done.has(command)) {
        redis.defineCommand(command, { numberOfKeys: keyOrder.length, lua });
        done.add(command);
      }
      const call = (redis as unknown as Record<string, (...a: Arg[]) => Promise<unknown>>)[command];
      if (!call) throw new Error(`Lua script ${name} is not defined on this connection`);
      return call.call(redis, ...keyOrder.map((k) => keys[k]), ...args);
    },
  };
}
