/**
 * The express application: Host check, security headers, static assets, sign-in, the route
 * table, Bull Board — every route but /healthz, /login and the assets behind authentication —
 * and one error handler that never shows a stack to the browser.
 */
import { readFileSync } from 'node:fs';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { DashboardNetworkSettings } from '../config/dashboard-settings.ts';
import { InputError } from '../errors/input-error.ts';
import { log } from '../log.ts';
import { redact } from '../redact.ts';
import type { Runtime } from '../runtime.ts';
import { allowedHostNames } from './auth/hosts.ts';
import { bullBoardGuard, csrfGuard, hostGuard, isSafeMethod, originGuard, requireAuth } from './auth/middleware.ts';
import { SessionSigner, SessionStore } from './auth/session.ts';
import { SignInThrottle } from './auth/throttle.ts';
import { BULL_BOARD_PATH, bullBoardOffline, bullBoardRouter } from './bull-board.ts';
import { bullBoardHooks, rememberActor } from './bull-board-policy.ts';
import type { DashboardContext } from './context.ts';
import { DepthHistory } from './data/depth-history.ts';
import { BULL_BOARD_CSP, PAGE_CSP } from './html/csp.ts';
import { escapeHtml } from './html/escape.ts';
import { DashboardMetrics } from './metrics/dashboard-metrics.ts';
import { DASHBOARD_DEFAULTS, type DashboardOptions } from './options.ts';
import { ROUTES } from './routes.ts';

const CSS = readFileSync(new URL('./assets/dashboard.css', import.meta.url), 'utf8');
const LOGIN_JS = readFileSync(new URL('./assets/login.js', import.meta.url), 'utf8');

export type DashboardInput = Partial<DashboardOptions> & Pick<DashboardOptions, 'credentials'>;

/**
 * The configuration's dashboard section, with the network settings once the configuration
 * carries them (PHASEGATE_DASHBOARD_TRUST_PROXY, PHASEGATE_DASHBOARD_ALLOWED_HOSTS; see settings.ts).
 */
type DashboardConfig = Runtime['config']['dashboard'] & Partial<DashboardNetworkSettings>;

export function createDashboardContext(rt: Runtime, input: DashboardInput): DashboardContext {
  const configured: DashboardConfig = rt.config.dashboard;
  const opts: DashboardOptions = {
    ...DASHBOARD_DEFAULTS,
    readOnly: configured.readOnly,
    host: configured.host,
    allowedHosts: configured.allowedHosts ?? [],
    trustProxy: configured.trustProxy ?? false,
    ...input,
  };
  const keys = rt.keys;
  const signer = new SessionSigner(opts.credentials);
  return {
    rt,
    opts,
    keys,
    signer,
    sessions: new SessionStore(rt.redis, keys, signer, opts.sessionTtlMs),
    throttle: new SignInThrottle(rt.redis, keys, opts.signInLimit),
    hostNames: allowedHostNames(opts.host, opts.allowedHosts),
    depth: new DepthHistory(),
    metrics: new DashboardMetrics(rt),
  };
}

function securityHeaders(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    // `same-origin` (not `no-referrer`): browsers send `Origin: null` on a form post under
    // no-referrer, which the origin check would refuse.
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('Content-Security-Policy', req.path.startsWith(BULL_BOARD_PATH) ? BULL_BOARD_CSP : PAGE_CSP);
    next();
  };
}

function readOnlyGuard(c: DashboardContext): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    if (c.opts.readOnly) {
      res.status(403).type('text/plain').send('403 Forbidden: this dashboard is read-only (PHASEGATE_DASHBOARD_READ_ONLY)\n');
      return;
    }
    next();
  };
}

/** Read-only: every unsafe method under /queues answers 403 (JSON) before Bull Board sees it. */
function bullBoardReadOnly(c: DashboardContext): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (c.opts.readOnly && !isSafeMethod(req)) {
      res.status(403).json({ error: { key: 'ERRORS.FORBIDDEN' }, message: 'this dashboard is read-only (PHASEGATE_DASHBOARD_READ_ONLY)' });
      return;
    }
    next();
  };
}

export function buildApp(c: DashboardContext): Express {
  const app = express();
  app.disable('x-powered-by');
  // Decides req.secure (the cookie's Secure), req.hostname (the Host check) and req.ip (the sign-in limit).
  app.set('trust proxy', c.opts.trustProxy);
  app.use(hostGuard(c));
  app.use(securityHeaders());
  app.get('/assets/dashboard.css', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('text/css').send(CSS);
  });
  app.get('/assets/login.js', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('text/javascript').send(LOGIN_JS);
  });
  app.use(originGuard());
  const auth = requireAuth(c);
  // Forms post urlencoded; a "retry all" of a large backfill names thousands of slices.
  const form = express.urlencoded({ extended: false, limit: '2mb', parameterLimit: 50_000 });
  for (const route of ROUTES) {
    const chain: RequestHandler[] = [];
    if (route.access !== 'public') chain.push(auth);
    if (route.method === 'post') chain.push(form);
    if (route.changes || route.csrf) chain.push(csrfGuard());
    if (route.changes) chain.push(readOnlyGuard(c));
    chain.push((req, res) => route.handler(c, req, res));
    app[route.method](route.path, ...chain);
  }
  app.use(
    BULL_BOARD_PATH,
    auth,
    bullBoardReadOnly(c),
    bullBoardGuard(),
    rememberActor(),
    bullBoardOffline(),
    bullBoardRouter(c.rt, { readOnly: c.opts.readOnly, hooks: bullBoardHooks(c) }),
  );
  // Unknown paths: still 401 first, so an outsider learns nothing about what exists.
  app.use(auth, (_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('404 Not Found\n');
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (err instanceof InputError) {
      // The class says which: an unknown run is a NotFoundError (404), other bad input 400.
      const status = err.httpStatus;
      res
        .status(status)
        .type('html')
        .send(
          `<!doctype html><title>${status}</title><link rel="stylesheet" href="/assets/dashboard.css"><main><h1>${status === 404 ? 'Not found' : 'Bad request'}</h1><p>${escapeHtml(redact(err.message))}</p><p><a href="/">Overview</a></p></main>`,
        );
      return;
    }
    log.error(`dashboard ${req.method} ${req.path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    res.status(500).type('text/plain').send('500 Internal Server Error (details are in the dashboard log)\n');
  });
  return app;
}

/** The dashboard as an express application (no timers, no listening socket). */
export function createDashboard(rt: Runtime, input: DashboardInput): Express {
  return buildApp(createDashboardContext(rt, input));
}
