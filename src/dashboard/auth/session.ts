/**
 * Stateless sessions and CSRF tokens, both HMACs under a key derived from the configured
 * credentials: changing the token or password logs every browser out, and nothing is stored.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Credentials } from './credentials.ts';

export const SESSION_COOKIE = 'phasegate_session';

export class SessionSigner {
  private readonly key: Buffer;

  constructor(
    credentials: Credentials,
    /** How long a login lasts. */
    readonly ttlMs: number,
  ) {
    this.key = createHash('sha256')
      .update(['phasegate-dashboard-v1', credentials.token ?? '', credentials.basic?.user ?? '', credentials.basic?.password ?? ''].join('\0'))
      .digest();
  }

  private mac(message: string): string {
    return createHmac('sha256', this.key).update(message).digest('base64url');
  }

  /** `v1.<expires ms>.<mac>` */
  issue(now = Date.now()): string {
    const expires = String(now + this.ttlMs);
    return `v1.${expires}.${this.mac(`session\0${expires}`)}`;
  }

  verify(value: string, now = Date.now()): boolean {
    const [version, expires, mac] = value.split('.');
    if (version !== 'v1' || !expires || !mac || !/^\d{1,15}$/.test(expires) || Number(expires) < now) return false;
    return safeEqual(mac, this.mac(`session\0${expires}`));
  }

  /** The synchronizer token a form must send back; bound to the session (or credential) it was rendered for. */
  csrfToken(identity: string): string {
    return this.mac(`csrf\0${identity}`);
  }
}

/** Constant-time comparison of two strings of any length (compares their digests). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      // A malformed cookie from some other app on the same host is ignored, not fatal.
    }
  }
  return out;
}
