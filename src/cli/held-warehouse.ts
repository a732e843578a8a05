/**
 * With the embedded DuckDB one process commits: DuckDB lets one process open its file
 * read-write, and only that process can run the table gates. A command that would run them
 * (`backfill --workers N`) asks first whether it can take the file; when another process holds
 * it, who does, and whether that process serves the file's read relay — then phase work runs
 * here (phases 3–5 read through the relay) and the holder's gates commit it.
 */

import type { Runtime } from '../runtime.ts';
import { relayReader } from '../warehouse/read-relay/client.ts';
import { lockHolder } from '../warehouse/read-relay/lock.ts';

export interface OtherHolder {
  /** The holding process, as its relay advertises it or DuckDB's lock error names it. */
  pid: number | undefined;
  file: string;
  /** It serves reads of the file (a phasegate worker on this prefix): its gates commit what runs here. */
  serving: boolean;
}

/**
 * Undefined when this process holds the warehouse (it opens it now, if it had not); the other
 * holder of the DuckDB file otherwise. Any other failure to open is rethrown.
 */
export async function otherHolder(rt: Pick<Runtime, 'warehouse' | 'config' | 'redis' | 'keys'>): Promise<OtherHolder | undefined> {
  try {
    await rt.warehouse();
    return undefined;
  } catch (err) {
    const holder = lockHolder(err);
    if (!holder) throw err;
    const presence = await relayReader(rt).presence();
    return { pid: presence?.pid ?? holder.pid, file: rt.config.duckdbPath, serving: presence !== undefined };
  }
}

export function pidOf(holder: Pick<OtherHolder, 'pid'>): string {
  return holder.pid === undefined ? 'another process' : `PID ${holder.pid}`;
}
