/** What every dashboard handler is given. */
import type { Request, Response } from 'express';
import type { Keys } from '../redis/keys.ts';
import type { Runtime } from '../runtime.ts';
import type { SessionSigner, SessionStore } from './auth/session.ts';
import type { SignInThrottle } from './auth/throttle.ts';
import type { DepthHistory } from './data/depth-history.ts';
import type { DashboardMetrics } from './metrics/dashboard-metrics.ts';
import type { DashboardOptions } from './options.ts';

export interface DashboardContext {
  rt: Runtime;
  opts: DashboardOptions;
  keys: Pick<Keys, 'dashboardSession' | 'dashboardSignInFailures' | 'dashboardAudit'>;
  signer: SessionSigner;
  sessions: SessionStore;
  throttle: SignInThrottle;
  /** Host names requests may name besides loopback ones (see auth/hosts.ts). */
  hostNames: ReadonlySet<string>;
  depth: DepthHistory;
  metrics: DashboardMetrics;
}

/** How the request was authenticated, and the CSRF token its forms carry. */
export interface AuthState {
  /** `cookie` and `basic` are sent by the browser on its own (ambient), so they need CSRF checks. */
  via: 'bearer' | 'basic' | 'cookie';
  csrf: string;
  /** Who, for the audit log: `bearer token`, `user ops`, `token session`, `session of user ops`. */
  who: string;
  /** The session id when signed in by cookie (sign-out revokes it). */
  session?: string | undefined;
}

export type Handler = (c: DashboardContext, req: Request, res: Response) => Promise<void>;

/** The request's auth state, set by the auth middleware before any protected handler runs. */
export function authOf(res: Response): AuthState | undefined {
  return (res.locals as { auth?: AuthState }).auth;
}

/** The client's address: the peer, or the forwarded client when the proxy is trusted. */
export function clientOf(req: Request): string {
  return (req.ip ?? req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
}
