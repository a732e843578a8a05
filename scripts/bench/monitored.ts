/**
 * Counts what Redis executes while `body` runs, by `MONITOR` on each server given (a cluster's
 * masters; a standalone server alone): commands clients sent, by name; round trips (a MULTI …
 * EXEC block is one); and the commands Lua scripts (BullMQ's, phasegate's) ran inside Redis,
 * which cost Redis time but no round trip.
 */
import { Redis } from 'ioredis';

export interface Monitored<T> {
  result: T;
  commands: number;
  roundTrips: number;
  scriptCommands: number;
  byCommand: Record<string, number>;
}

export async function monitored<T>(urls: string | readonly string[], body: () => Promise<T>): Promise<Monitored<T>> {
  const clients = (typeof urls === 'string' ? [urls] : urls).map((url) => new Redis(url));
  const monitors = await Promise.all(clients.map((c) => c.monitor()));
  const byCommand: Record<string, number> = {};
  const inMulti = new Set<string>();
  let commands = 0;
  let roundTrips = 0;
  let scriptCommands = 0;
  monitors.forEach((monitor, i) => {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const name = String(args[0] ?? '').toUpperCase();
      if (source === 'lua') {
        scriptCommands++;
        return;
      }
      commands++;
      byCommand[name] = (byCommand[name] ?? 0) + 1;
      // A client's address is unique per server, not across a cluster's servers.
      const who = `${i}/${source}`;
      if (name === 'MULTI') {
        inMulti.add(who);
        roundTrips++;
      } else if (name === 'EXEC' || name === 'DISCARD') inMulti.delete(who);
      else if (!inMulti.has(who)) roundTrips++;
    });
  });
  try {
    const result = await body();
    // Let the last replies' commands reach the monitors.
    await new Promise((r) => setTimeout(r, 200));
    return { result, commands, roundTrips, scriptCommands, byCommand };
  } finally {
    for (const m of monitors) m.disconnect();
    for (const c of clients) c.disconnect();
  }
}
