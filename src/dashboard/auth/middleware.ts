/**
 * Authentication and request-forgery guards.
 *
 * - Credentials: `Authorization: Bearer <token>`, `Authorization: Basic` (user/password), or
 *   the session cookie a sign-in sets (HttpOnly, SameSite=Strict). `?token=` on any GET signs
 *   in and redirects to the same URL without the token, so it does not stay in history.
 * - Forgery: the cookie and basic credentials are sent by the browser on its own, so every
 *   state-changing request authenticated by them must come from this origin (Origin/Referer,
 *   Sec-Fetch-Site) and, for phasegate's forms, carry the synchronizer token. A bearer header
 *   cannot be forged by another site, so it needs neither.
 * - Unauthenticated requests get 401 before any handler runs, so they change nothing.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthState, DashboardContext } from '../context.ts';
import { loginHtml } from '../handlers/login-page.ts';
import { parseCookies, SESSION_COOKIE, safeEqual } from './session.ts';

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

/** The request's credentials, checked; undefined when there are none or they are wrong. */
export function authenticate(c: DashboardContext, req: Request): AuthState | undefined {
  const header = req.headers.authorization;
  if (header) {
    const [scheme, value = ''] = header.split(' ', 2);
    if (scheme?.toLowerCase() === 'bearer' && checkToken(c, value.trim())) return { via: 'bearer', csrf: c.signer.csrfToken('bearer') };
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value.trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0 && checkPassword(c, decoded.slice(0, colon), decoded.slice(colon + 1))) {
        return { via: 'basic', csrf: c.signer.csrfToken(`basic\0${decoded.slice(0, colon)}`) };
      }
    }
  }
  const session = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  if (session && c.signer.verify(session)) return { via: 'cookie', csrf: c.signer.csrfToken(`cookie\0${session}`) };
  return undefined;
}

export function setSessionCookie(c: DashboardContext, req: Request, res: Response): void {
  res.cookie(SESSION_COOKIE, c.signer.issue(), {
    httpOnly: true,
    sameSite: 'strict',
    secure: req.secure,
    path: '/',
    maxAge: c.signer.ttlMs,
  });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
}

/** 401: a sign-in page for browsers, JSON for everything else. */
export function unauthorized(c: DashboardContext, req: Request, res: Response, message = 'authentication required'): void {
  const schemes = [
    c.opts.credentials.token !== undefined ? 'Bearer realm="phasegate"' : undefined,
    c.opts.credentials.basic ? 'Basic realm="phasegate", charset="UTF-8"' : undefined,
  ].filter((s): s is string => s !== undefined);
  res.status(401).setHeader('WWW-Authenticate', schemes.join(', '));
  res.setHeader('Cache-Control', 'no-store');
  if (req.accepts(['json', 'html']) === 'html')
    res.type('html').send(loginHtml(c, { next: req.originalUrl, error: message === 'authentication required' ? undefined : message }).value);
  else res.json({ error: message });
}

/** A local path to go back to after sign-in (never another site: `//evil` and `/\evil` are refused). */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

/** `?token=` sign-in on GET: sets the session cookie and redirects to the URL without the token. */
export function tokenLogin(c: DashboardContext): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = req.query.token;
    if (req.method !== 'GET' || token === undefined) return next();
    if (typeof token !== 'string' || !checkToken(c, token)) return unauthorized(c, req, res, 'that login link is not valid (wrong or old token)');
    setSessionCookie(c, req, res);
    const url = new URL(req.originalUrl, 'http://local');
    url.searchParams.delete('token');
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, safeNext(`${url.pathname}${url.search}`));
  };
}

export function requireAuth(c: DashboardContext): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const auth = authenticate(c, req);
    if (!auth) return unauthorized(c, req, res);
    (res.locals as { auth?: AuthState }).auth = auth;
    next();
  };
}

/**
 * Whether the request says it comes from this origin: true/false from Origin (or Referer when
 * the browser sent no Origin), undefined when it sent neither (curl, scripts).
 */
export function sameOrigin(req: Request): boolean | undefined {
  const host = req.headers.host;
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
