/**
 * GET /healthz — open without credentials so load balancers and probes can use it; it says
 * only up or down (details go to the log), so it tells an outsider nothing about the data.
 */
import type { Handler } from '../context.ts';
import { health } from '../data/health.ts';

export const healthz: Handler = async (c, _req, res) => {
  const h = await health(c.rt);
  res.setHeader('Cache-Control', 'no-store');
  res.status(h.ok ? 200 : 503).json({ status: h.ok ? 'ok' : 'unavailable', redis: h.redis, warehouse: h.warehouse, warehouseCheck: h.warehouseCheck });
};
