/**
 * Sessions and CSRF tokens.
 *
 * A sign-in creates a session: a random id in the cookie, a record in Redis that expires with
 * the sign-in, so signing out (or deleting the key) ends it on the server at once, and a stolen
 * cookie stops working after sign-out. Each record carries a fingerprint of the configured
 * credentials: changing the token or password still signs every browser out.
 *
 * CSRF tokens stay stateless: an HMAC, under a key derived from the credentials, of the
 * session (or credential) a page was rendered for.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../../redis/connect.ts';
import type { Keys } from '../../redis/keys.ts';
import type { Credentials } from './credentials.ts';

export const SESSION_COOKIE = 'phasegate_session';

export class SessionSigner {
  private readonly key: Buffer;
  /** Names the credentials a session was made under (not the credentials themselves). */
  readonly fingerprint: string;

  constructor(credentials: Credentials) {
    this.key = createHash('sha256')
      .update(['phasegate-dashboard-v1', credentials.token ?? '', credentials.basic?.user ?? '', credentials.basic?.password ?? ''].join('\0'))
      .digest();
    this.fingerprint = this.mac('credentials');
  }

  private mac(message: string): string {
    return createHmac('sha256', this.key).update(message).digest('base64url');
  }

  /** The synchronizer token a form must send back; bound to the session (or credential) it was rendered for. */
  csrfToken(identity: string): string {
    return this.mac(`csrf\0${identity}`);
  }
}

/** Who signed in, kept with the session (shown in the audit log). */
export interface SessionOwner {
  by: 'token' | 'password';
  user?: string | undefined;
}

interface SessionRecord extends SessionOwner {
  fingerprint: string;
  createdAt: string;
}

/** 32 random bytes, base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export class SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<Keys, 'dashboardSession' | 'dashboardSignInFailures' | 'dashboardAudit'>,
    private readonly signer: SessionSigner,
    /** How long a sign-in lasts. */
    readonly ttlMs: number,
  ) {}

  /** A new session; its id goes into the cookie. */
  async create(owner: SessionOwner, now = Date.now()): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const record: SessionRecord = { by: owner.by, user: owner.user, fingerprint: this.signer.fingerprint, createdAt: new Date(now).toISOString() };
    await this.redis.set(this.keys.dashboardSession(id), JSON.stringify(record), 'PX', this.ttlMs);
    return id;
  }

  /** The session's owner, or undefined when it does not exist, expired, was revoked or predates a credential change. */
  async lookup(id: string): Promise<SessionOwner | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const raw = await this.redis.get(this.keys.dashboardSession(id));
    if (raw === null) return undefined;
    let record: Partial<SessionRecord>;
    try {
      record = JSON.parse(raw) as Partial<SessionRecord>;
    } catch {
      return undefined;
    }
    if (typeof record.fingerprint !== 'string' || !safeEqual(record.fingerprint, this.signer.fingerprint)) return undefined;
    if (record.by !== 'token' && record.by !== 'password') return undefined;
    return { by: record.by, user: typeof record.user === 'string' ? record.user : undefined };
  }

  async revoke(id: string): Promise<void> {
    if (SESSION_ID.test(id)) await this.redis.del(this.keys.dashboardSession(id));
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
