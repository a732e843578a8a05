/**
 * Replies of the stream commands a relay reads with, as `[id, fields]` entries per stream key.
 * RESP2 answers XREADGROUP with `[[key, entries], …]`; RESP3 (what ioredis negotiates with
 * Redis 6+) with a map, which arrives flattened as `[key, entries, key, entries]`. An entry
 * whose fields are null was trimmed from the stream before it was read.
 */
export type StreamEntry = [id: string, fields: string[] | null];

/** A list of `[id, fields]` entries (one stream of XREADGROUP, XAUTOCLAIM's second element). */
export function entriesOf(list: unknown): StreamEntry[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((e): e is StreamEntry => Array.isArray(e) && typeof e[0] === 'string')
    .map(([id, fields]) => [id, Array.isArray(fields) ? fields.map(String) : null]);
}

/** The entries of an XREADGROUP reply, by stream key; null (a timeout) is none. */
export function entriesByStream(reply: unknown): Map<string, StreamEntry[]> {
  const out = new Map<string, StreamEntry[]>();
  if (!Array.isArray(reply) || reply.length === 0) return out;
  if (typeof reply[0] === 'string') {
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), entriesOf(reply[i + 1]));
  } else {
    for (const pair of reply) if (Array.isArray(pair)) out.set(String(pair[0]), entriesOf(pair[1]));
  }
  return out;
}

/** XINFO rows: RESP3 maps arrive as flat `[k, v, k, v]` arrays, RESP2 the same. */
export function infoRecord(flat: unknown): Record<string, unknown> {
  const info: Record<string, unknown> = {};
  if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) info[String(flat[i])] = flat[i + 1];
  else if (flat && typeof flat === 'object') Object.assign(info, flat);
  return info;
}

/** Compares stream ids `ms-seq` numerically (string order is wrong once the lengths differ). */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
