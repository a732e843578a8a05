/**
 * POST /backfills/:id/retry-failed — re-enqueues the backfill's failed, deferred and incomplete
 * slices (a cascade's downstream ones too), except those a later run has landed since.
 */
import { getBackfill } from '../../queues/backfill/backfill.ts';
import type { Handler } from '../context.ts';
import { auditRequest } from '../data/audit.ts';
import { actionableStatuses, backfillOutcome } from '../data/backfill-outcome.ts';
import { failedDatesFile } from '../data/failed-dates.ts';
import { retryOutcome, retrySlices } from '../data/retry.ts';
import { urlPart } from '../html/escape.ts';

export const retryBackfillFailed: Handler = async (c, req, res) => {
  const record = await getBackfill(c.rt, String(req.params.id));
  const failed = failedDatesFile(record, actionableStatuses(await backfillOutcome(c.rt, record)));
  const result = await retrySlices(
    c.rt,
    failed.failures.map((f) => ({ processor: f.processor, slice: f.slice })),
  );
  await auditRequest(c, req, res, { action: 'retry failed of backfill', target: record.id, outcome: retryOutcome(result) });
  const qs = new URLSearchParams({
    enqueued: String(result.enqueued),
    carried: String(result.carried),
    already: String(result.alreadyQueued),
    skipped: String(result.skipped),
  });
  res.redirect(303, `/backfills/${urlPart(record.id)}?${qs.toString()}`);
};
