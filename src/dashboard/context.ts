/** What every dashboard handler is given. */
import type { Request, Response } from 'express';
import type { Runtime } from '../runtime.ts';
import type { SessionSigner } from './auth/session.ts';
import type { DepthHistory } from './data/depth-history.ts';
import type { DashboardMetrics } from './metrics/dashboard-metrics.ts';
import type { DashboardOptions } from './options.ts';

export interface DashboardContext {
  rt: Runtime;
  opts: DashboardOptions;
  signer: SessionSigner;
  depth: DepthHistory;
  metrics: DashboardMetrics;
}

/** How the request was authenticated, and the CSRF token its forms carry. */
export interface AuthState {
  /** `cookie` and `basic` are sent by the browser on its own (ambient), so they need CSRF checks. */
  via: 'bearer' | 'basic' | 'cookie';
  csrf: string;
}

export type Handler = (c: DashboardContext, req: Request, res: Response) => Promise<void>;

/** The request's auth state, set by the auth middleware before any protected handler runs. */
export function authOf(res: Response): AuthState | undefined {
  return (res.locals as { auth?: AuthState }).auth;
}
