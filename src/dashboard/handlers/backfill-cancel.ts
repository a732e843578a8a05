/**
 * POST /backfills/:id/cancel — cancels the run (src/queues/runs/cancel.ts): its queued and
 * delayed jobs are removed and their slices end cancelled; running jobs finish, staged slices land.
 */
import { getBackfill } from '../../queues/backfill/backfill.ts';
import { cancelRun } from '../../queues/runs/cancel.ts';
import type { Handler } from '../context.ts';
import { auditRequest } from '../data/audit.ts';
import { urlPart } from '../html/escape.ts';

export const cancelBackfill: Handler = async (c, req, res) => {
  const record = await getBackfill(c.rt, String(req.params.id));
  const outcome = await cancelRun(c.rt, record.id);
  await auditRequest(c, req, res, {
    action: 'cancel run',
    target: record.id,
    outcome: outcome.alreadyEnded ? 'had already ended' : `${outcome.removed} jobs removed, ${outcome.cancelled} slices cancelled, ${outcome.landing} landing`,
  });
  const qs = new URLSearchParams({ cancelled: String(outcome.cancelled), landing: String(outcome.landing) });
  res.redirect(303, `/backfills/${urlPart(record.id)}?${qs.toString()}`);
};
