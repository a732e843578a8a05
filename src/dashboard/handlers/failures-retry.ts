/** POST /failures/retry — re-enqueues the named slices (`slice=<processor>/<date>`, repeatable). */
import { InputError } from '../../errors/input-error.ts';
import { parseDate } from '../../queues/backfill/dates.ts';
import type { Handler } from '../context.ts';
import { auditRequest } from '../data/audit.ts';
import { retryOutcome, retrySlices, type SliceRef } from '../data/retry.ts';

/** At most this many slices per request: a form of every failure of a 4-season backfill fits. */
const MAX_SLICES = 20_000;

export function parseSliceRefs(value: unknown): SliceRef[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new InputError('name at least one slice (slice=<processor>/<date>)');
  if (list.length > MAX_SLICES) throw new InputError(`at most ${MAX_SLICES} slices per request`);
  return list.map((v) => {
    const [processor, slice, ...rest] = typeof v === 'string' ? v.split('/') : [];
    if (!processor || !slice || rest.length > 0) throw new InputError(`not <processor>/<date>: ${JSON.stringify(v).slice(0, 80)}`);
    return { processor, slice: parseDate(slice) };
  });
}

export const retryFailures: Handler = async (c, req, res) => {
  const refs = parseSliceRefs((req.body as Record<string, unknown> | undefined)?.slice);
  const result = await retrySlices(c.rt, refs);
  await auditRequest(c, req, res, {
    action: 'retry slices',
    target: `${refs.length} slice(s): ${refs
      .slice(0, 10)
      .map((r) => `${r.processor}/${r.slice}`)
      .join(', ')}${refs.length > 10 ? ', …' : ''}`,
    outcome: retryOutcome(result),
  });
  res.redirect(303, `/failures?enqueued=${result.enqueued + result.carried}`);
};
