/** The dashboard's public surface. */
export { createDashboard, createDashboardContext, type DashboardInput } from './app.ts';
export { type Credentials, checkBind, isLoopback, resolveCredentials } from './auth/credentials.ts';
export type { DashboardOptions } from './options.ts';
export { type RunningDashboard, type StartOptions, startDashboard } from './server.ts';
export { type DashboardNetworkSettings, dashboardNetworkSettings, parseAllowedHosts, parseTrustProxy, type TrustProxy } from './settings.ts';
