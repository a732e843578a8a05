/**
 * Redis Cluster's key → slot rule (redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec,
 * "Keys distribution model"): CRC16 (XMODEM) of the key, or of its hash tag — the text between
 * the first `{` and the next `}`, when not empty — modulo 16384. Computed here, not asked of a
 * server: the doctor checks that every key of a prefix lands in one slot, and a command that
 * must reach the node holding a key finds it in the client's slot table.
 */

export const CLUSTER_SLOTS = 16384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    t[i] = crc;
  }
  return t;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] ?? 0);
  return crc;
}

/** The key's hash tag, or undefined when it has none (`{}` or no closing brace count as none). */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return undefined;
  return key.slice(open + 1, close);
}

/** The slot a key lives in on a Redis Cluster. */
export function hashSlot(key: string): number {
  return crc16(Buffer.from(hashTagOf(key) ?? key)) % CLUSTER_SLOTS;
}
