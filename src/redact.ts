/**
 * The one place that decides what of a text is a secret. Every text that leaves the process —
 * log lines (src/log.ts), the CLI's error line (src/cli/common.ts), notifications
 * (src/notify/notifier.ts), the dashboard's error pages — goes through `redact`, so a password
 * in REDIS_URL, an API key in a scraper URL or an upstream error that echoes a token is never
 * repeated. Imports nothing: every layer may use it.
 */

export const MASK = '***';

// A secret shorter than this is not searched for as bare text: masking every "pw" or "1234"
// in a log line would garble it. Short secrets are still masked inside URLs (userinfo, query).
const MIN_BARE_SECRET = 6;

/** Configured secrets (dashboard token and password, BDL API key, webhook URL, Redis password). */
const secrets = new Set<string>();

/** Remembers configured secrets so `redact` masks them wherever they appear, also URL-encoded. */
export function rememberSecrets(...values: readonly (string | undefined)[]): void {
  for (const value of values) {
    if (value === undefined || value.length < MIN_BARE_SECRET) continue;
    secrets.add(value);
    secrets.add(encodeURIComponent(value));
  }
}

// `scheme://user:password@host`: the password goes, the user stays (it says which account).
// The userinfo runs to the last `@` before the path, so a raw `@` inside a password is covered.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"'<>]*):([^\s/?#"'<>]*)@(?=[^\s/?#@"'<>]*(?:[\s/?#"'<>]|$))/gi;

// `?key=…`, `&api_key=…`, `access_token=…`, `X-Amz-Signature=…`, `password=…` in a URL or a text.
const SECRET_PARAM =
  /(^|[?&;\s,"'(])((?:[a-z0-9.-]*[_.-])?(?:key|apikey|token|password|passwd|pwd|secret|sig|signature|auth|credentials?))=([^&#\s"'<>,;)]+)/gi;

// `Bearer …` anywhere; `Authorization: Basic …` (or any scheme) as a header or a field.
const BEARER = /\b(Bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*/g;
const AUTHORIZATION = /\b(authorization["']?\s*[:=]\s*["']?(?:[A-Za-z]+\s+)?)[^\s"',;]+/gi;

/** The text with every secret phasegate knows how to recognise replaced by `***`. */
export function redact(text: string): string {
  let out = text;
  // Longest first: a secret containing another is masked whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(MASK);
  return out
    .replace(USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`)
    .replace(SECRET_PARAM, (_m, before: string, name: string) => `${before}${name}=${MASK}`)
    .replace(AUTHORIZATION, (_m, head: string) => `${head}${MASK}`)
    .replace(BEARER, (_m, head: string) => `${head}${MASK}`);
}

/** The message of anything thrown, redacted. */
export function redactedMessage(thrown: unknown): string {
  return redact(thrown instanceof Error ? thrown.message : String(thrown));
}

/** Every string inside a log record or message body, redacted (objects and arrays copied). */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redact(value) as T;
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1)) as T;
  if (value instanceof Error) return Object.assign(new Error(redact(value.message)), { name: value.name, stack: value.stack && redact(value.stack) }) as T;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = redactDeep(v, depth + 1);
  return out as T;
}
