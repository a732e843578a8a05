/**
 * Authentication and request-forgery guards.
 *
 * - Credentials: `Authorization: Bearer <token>`, `Authorization: Basic` (user/password), or
 *   the session cookie a sign-in sets (HttpOnly, SameSite=Strict, Secure over https). A session
 *   lives in Redis (see session.ts); sign-out ends it on the server.
 * - The token is never accepted in a URL query (`?token=`): a query stays in browser history,
 *   proxy and server logs and Referer headers. The login link printed at start carries it in
 *   the fragment (`/login#token=…`), which browsers do not send; the sign-in page's script
 *   posts it to /login and removes the fragment from the address bar and history.
 * - Failed sign-ins (form, bearer, basic) are limited per client (see throttle.ts).
 * - Host: a request must name a host this dashboard answers to (DNS rebinding; see hosts.ts).
 * - Forgery: the cookie and basic credentials are sent by the browser on its own, so every
 *   state-changing request authenticated by them must come from this origin (Origin/Referer,
 *   Sec-Fetch-Site) and, for phasegate's forms, carry the synchronizer token. A bearer header
 *   cannot be forged by another site, so it needs neither.
 * - Unauthenticated requests get 401 before any handler runs, so they change nothing.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type AuthState, clientOf, type DashboardContext } from '../context.ts';
import { loginHtml } from '../handlers/login-page.ts';
import { SIGN_IN_CSP } from '../html/csp.ts';
import { hostAllowed } from './hosts.ts';
import { parseCookies, SESSION_COOKIE, type SessionOwner, safeEqual } from './session.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(req: Request): boolean {
  return SAFE_METHODS.has(req.method);
}

export function checkToken(c: DashboardContext, token: string): boolean {
  const expected = c.opts.credentials.token;
  return expected !== undefined && safeEqual(token, expected);
}

export function checkPassword(c: DashboardContext, user: string, password: string): boolean {
  const basic = c.opts.credentials.basic;
  // Both compared, always, so the time taken does not tell which one was wrong.
  const okUser = basic !== undefined && safeEqual(user, basic.user);
  const okPassword = basic !== undefined && safeEqual(password, basic.password);
  return okUser && okPassword;
}

function sessionWho(owner: SessionOwner): string {
  return owner.by === 'token' ? 'token session' : `session of user ${owner.user ?? '?'}`;
}

/** The request's credentials, checked; undefined when there are none or they are wrong. */
export async function authenticate(c: DashboardContext, req: Request): Promise<AuthState | undefined> {
  const header = req.headers.authorization;
  if (header) {
    const [scheme, value = ''] = header.split(' ', 2);
    if (scheme?.toLowerCase() === 'bearer' && checkToken(c, value.trim())) return { via: 'bearer', csrf: c.signer.csrfToken('bearer'), who: 'bearer token' };
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value.trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      if (colon > 0 && checkPassword(c, user, decoded.slice(colon + 1))) {
        return { via: 'basic', csrf: c.signer.csrfToken(`basic\0${user}`), who: `user ${user}` };
      }
    }
  }
  const session = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  if (session) {
    const owner = await c.sessions.lookup(session);
    if (owner) return { via: 'cookie', csrf: c.signer.csrfToken(`cookie\0${session}`), who: sessionWho(owner), session };
  }
  return undefined;
}

/** Creates a session in Redis and sets its cookie (`Secure` when the request came over https). */
export async function startSession(c: DashboardContext, req: Request, res: Response, owner: SessionOwner): Promise<void> {
  const id = await c.sessions.create(owner);
  res.cookie(SESSION_COOKIE, id, {
    httpOnly: true,
    sameSite: 'strict',
    // express's req.secure: TLS on this socket, or X-Forwarded-Proto from a trusted proxy.
    secure: req.secure,
    path: '/',
    maxAge: c.sessions.ttlMs,
  });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
}

function wantsHtml(req: Request): boolean {
  return req.accepts(['json', 'html']) === 'html';
}

/** 401: a sign-in page for browsers, JSON for everything else. */
export function unauthorized(c: DashboardContext, req: Request, res: Response, message = 'authentication required'): void {
  const schemes = [
    c.opts.credentials.token !== undefined ? 'Bearer realm="phasegate"' : undefined,
    c.opts.credentials.basic ? 'Basic realm="phasegate", charset="UTF-8"' : undefined,
  ].filter((s): s is string => s !== undefined);
  if (message === 'authentication required' && req.query.token !== undefined) {
    message =
      'sign-in links no longer carry the token as ?token= (it would stay in history and logs): use the link printed at start (…/login#token=…) or the form';
  }
  res.status(401).setHeader('WWW-Authenticate', schemes.join(', '));
  res.setHeader('Cache-Control', 'no-store');
  if (wantsHtml(req)) {
    res.setHeader('Content-Security-Policy', SIGN_IN_CSP);
    res.type('html').send(loginHtml(c, { next: req.originalUrl, error: message === 'authentication required' ? undefined : message }).value);
  } else res.json({ error: message });
}

/** 429 with Retry-After: too many failed sign-ins from this client. */
export function tooManySignIns(c: DashboardContext, req: Request, res: Response, waitMs: number): void {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const message = `too many failed sign-ins from this address; try again in ${seconds} s`;
  res.status(429).setHeader('Retry-After', String(seconds));
  res.setHeader('Cache-Control', 'no-store');
  if (wantsHtml(req)) {
    res.setHeader('Content-Security-Policy', SIGN_IN_CSP);
    res.type('html').send(loginHtml(c, { next: req.method === 'GET' ? req.originalUrl : '/', error: message }).value);
  } else res.json({ error: message, retryAfterSeconds: seconds });
}

/** A local path to go back to after sign-in (never another site: `//evil` and `/\evil` are refused). */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

export function requireAuth(c: DashboardContext): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    // A request carrying a token or password is a sign-in attempt, and is limited as one.
    const attempt = req.headers.authorization !== undefined;
    if (attempt) {
      const waitMs = await c.throttle.waitMs(clientOf(req));
      if (waitMs > 0) return tooManySignIns(c, req, res, waitMs);
    }
    const auth = await authenticate(c, req);
    if (!auth) {
      if (attempt) await c.throttle.fail(clientOf(req));
      return unauthorized(c, req, res);
    }
    (res.locals as { auth?: AuthState }).auth = auth;
    next();
  };
}

/** Refuses a request naming a Host this dashboard does not answer to (421); /healthz stays open to probes. */
export function hostGuard(c: DashboardContext): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.path === '/healthz' || hostAllowed(c.hostNames, req.hostname)) return next();
    res
      .status(421)
      .type('text/plain')
      .send('421 Misdirected Request: this dashboard does not answer to that host name (add it to PHASEGATE_DASHBOARD_ALLOWED_HOSTS)\n');
  };
}

/**
 * Whether the request says it comes from this origin: true/false from Origin (or Referer when
 * the browser sent no Origin), undefined when it sent neither (curl, scripts). "This origin" is
 * the Host the request names (X-Forwarded-Host when the proxy is trusted).
 */
export function sameOrigin(req: Request): boolean | undefined {
  const host = req.host?.toLowerCase();
  const origin = req.headers.origin ?? (req.headers.referer ? safeOrigin(req.headers.referer) : undefined);
  if (origin === undefined) return undefined;
  if (origin === 'null' || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}

function forbidden(res: Response, message: string): void {
  res.status(403).type('text/plain').send(`403 Forbidden: ${message}\n`);
}

/** Every unsafe request: refused when the browser says it comes from another site. */
export function originGuard(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (isSafeMethod(req)) return next();
    const fetchSite = req.headers['sec-fetch-site'];
    if (sameOrigin(req) === false || (typeof fetchSite === 'string' && !['same-origin', 'none'].includes(fetchSite))) {
      return forbidden(res, 'cross-site request refused');
    }
    next();
  };
}

/** phasegate's own forms: an ambient credential must come with the synchronizer token. */
export function csrfGuard(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const auth = (res.locals as { auth?: AuthState }).auth;
    if (!auth) return forbidden(res, 'not signed in');
    if (auth.via === 'bearer') return next();
    const body = req.body as Record<string, unknown> | undefined;
    const sent = typeof body?._csrf === 'string' ? body._csrf : req.headers['x-csrf-token'];
    if (typeof sent !== 'string' || !safeEqual(sent, auth.csrf)) return forbidden(res, 'missing or wrong CSRF token (reload the page and try again)');
    next();
  };
}

/**
 * Bull Board's API: its client cannot send phasegate's token, so with an ambient credential a
 * change must positively come from this origin (browsers send Origin on every such fetch).
 */
export function bullBoardGuard(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const auth = (res.locals as { auth?: AuthState }).auth;
    if (isSafeMethod(req) || auth?.via === 'bearer') return next();
    if (sameOrigin(req) !== true) return forbidden(res, 'changes through Bull Board must come from the dashboard itself');
    next();
  };
}
