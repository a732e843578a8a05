/** GET /metrics — Prometheus text format from the dashboard's own registry. */
import type { Handler } from '../context.ts';

export const metrics: Handler = async (c, _req, res) => {
  const text = await c.metrics.render();
  res.setHeader('Cache-Control', 'no-store');
  res.type(c.metrics.contentType).send(text);
};
