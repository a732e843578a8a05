/** GET /backfills/:id/failed-dates.json — the failed-dates file, as a download. */
import { getBackfill } from '../../queues/backfill/backfill.ts';
import type { Handler } from '../context.ts';
import { actionableStatuses, backfillOutcome } from '../data/backfill-outcome.ts';
import { failedDatesFile } from '../data/failed-dates.ts';

export const exportFailedDates: Handler = async (c, req, res) => {
  const record = await getBackfill(c.rt, String(req.params.id));
  const file = failedDatesFile(record, actionableStatuses(await backfillOutcome(c.rt, record)));
  // The id is phasegate's own format (bf-<stamp>-<hex>); anything else is kept out of the header.
  const name = /^[A-Za-z0-9._-]{1,80}$/.test(record.id) ? record.id : 'backfill';
  res.setHeader('Content-Disposition', `attachment; filename="failed_dates_${name}.json"`);
  res.setHeader('Cache-Control', 'no-store');
  res.type('application/json').send(`${JSON.stringify(file, null, 2)}\n`);
};
