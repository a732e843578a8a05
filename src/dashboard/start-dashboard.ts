/** The dashboard's public surface. */

export { type DashboardNetworkSettings, dashboardNetworkSettings, parseAllowedHosts, parseTrustProxy, type TrustProxy } from '../config/dashboard-settings.ts';
export { createDashboard, createDashboardContext, type DashboardInput } from './app.ts';
export { type Credentials, checkBind, isLoopback, resolveCredentials } from './auth/credentials.ts';
export type { DashboardOptions } from './options.ts';
export { type RunningDashboard, type StartOptions, startDashboard } from './server.ts';
