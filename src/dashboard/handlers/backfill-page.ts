/**
 * GET /backfills/:id — the dates × processors grid. Built for 853 dates × 6 processors
 * (5,118 cells): statuses come from one HMGET per processor, every cell is one `<td>` whose
 * colour is a class and whose tooltip is its title, and the page is rendered in one pass of
 * string building. The time taken is sent as a `Server-Timing` header.
 */
import { performance } from 'node:perf_hooks';
import { InputError } from '../../errors/input-error.ts';
import { type BackfillRecord, backfillProgress, getBackfill } from '../../queues/backfill.ts';
import { SLICE_STATES, type SliceStatus } from '../../queues/status-store.ts';
import { authOf, type Handler } from '../context.ts';
import { RETRYABLE_STATES } from '../data/failed-dates.ts';
import { escapeHtml, html, trusted, urlPart } from '../html/escape.ts';
import { clip, num, relative, when } from '../html/format.ts';
import { page } from '../html/layout.ts';

function tooltip(processor: string, date: string, s: SliceStatus | undefined, now: number): string {
  if (!s) return `${processor} · ${date}\nno status recorded`;
  const lines = [`${processor} · ${date}`, `status: ${s.status}`];
  if (s.rows !== undefined) lines.push(`rows: ${s.rows}`);
  if (s.attempts !== undefined) lines.push(`attempts: ${s.attempts}`);
  if (s.nextTryAt && s.status === 'waiting') lines.push(`next try: ${when(s.nextTryAt)} (${relative(s.nextTryAt, now)})`);
  if (s.committedAt && (s.status === 'committed' || (s.status === 'incomplete' && !s.nothingLanded))) lines.push(`committed: ${when(s.committedAt)}`);
  if (s.expectedGames !== undefined)
    lines.push(s.expectedGames === null ? 'scheduled games: no schedule for this date' : `scheduled games: ${s.expectedGames}`);
  if (s.missingGames?.length) lines.push(`missing games: ${s.missingGames.join(', ')}`);
  if (s.warnings) lines.push(`rows with warnings: ${s.warnings} (quality_issues)`);
  if (s.note) lines.push(`note: ${clip(s.note, 300)}`);
  if (s.error && s.status !== 'committed') lines.push(`${s.status === 'incomplete' || s.status === 'empty' ? 'why' : 'error'}: ${clip(s.error, 600)}`);
  lines.push(`updated: ${when(s.updatedAt)}`);
  return lines.join('\n');
}

/** The grid, month by month (a calendar reads better than one 853-row table). */
function renderGrid(record: BackfillRecord, statuses: Record<string, (SliceStatus | undefined)[]>, now: number): string {
  const months = new Map<string, number[]>();
  record.dates.forEach((d, i) => {
    const m = d.slice(0, 7);
    const list = months.get(m);
    if (list) list.push(i);
    else months.set(m, [i]);
  });
  const out: string[] = ['<div class="months">'];
  const names = record.processors.map((p) => escapeHtml(p));
  for (const [month, indexes] of months) {
    out.push(`<section class="month"><h3>${escapeHtml(month)}</h3><table class="grid"><thead><tr><th></th>`);
    for (const i of indexes) out.push(`<th>${escapeHtml(record.dates[i]?.slice(8) ?? '')}</th>`);
    out.push('</tr></thead><tbody>');
    record.processors.forEach((p, pi) => {
      const list = statuses[p] ?? [];
      out.push(`<tr data-p="${names[pi]}"><th>${names[pi]}</th>`);
      for (const i of indexes) {
        const s = list[i];
        const date = record.dates[i] ?? '';
        out.push(`<td class="s-${s ? escapeHtml(s.status) : 'none'}" data-d="${escapeHtml(date)}" title="${escapeHtml(tooltip(p, date, s, now))}"></td>`);
      }
      out.push('</tr>');
    });
    out.push('</tbody></table></section>');
  }
  out.push('</div>');
  return out.join('');
}

export const backfillPage: Handler = async (c, req, res) => {
  const started = performance.now();
  const id = String(req.params.id);
  let record: BackfillRecord;
  try {
    record = await getBackfill(c.rt, id);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    res
      .status(404)
      .type('html')
      .send(
        page({
          title: 'Unknown backfill',
          active: 'overview',
          csrf: authOf(res)?.csrf,
          body: html`<h1>Unknown backfill</h1><p>There is no backfill <span class="mono">${id}</span>. <a href="/">Overview →</a></p>`,
        }).value,
      );
    return;
  }
  const progress = await backfillProgress(c.rt, record);
  const readMs = performance.now() - started;
  const now = Date.now();
  let retryable = 0;
  for (const list of Object.values(progress.statuses)) for (const s of list) if (s && RETRYABLE_STATES.has(s.status)) retryable += 1;
  const totals = Object.fromEntries(SLICE_STATES.map((s) => [s, 0])) as Record<(typeof SLICE_STATES)[number], number>;
  for (const counts of Object.values(progress.perProcessor)) for (const s of SLICE_STATES) totals[s] += counts[s];

  // The outcome of a retry arrives in the query string (POST → redirect → GET); it is only shown as counts.
  const count = (key: string) => {
    const v = req.query[key];
    return typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : 0;
  };
  const notice =
    req.query.enqueued !== undefined
      ? html`<p class="notice" role="status" id="retry-notice">Requeued ${count('enqueued')} slice(s)${count('carried') ? html`, ${count('carried')} more follow their upstream` : ''}${count('already') ? html`, ${count('already')} were still queued` : ''}${count('skipped') ? html`, ${count('skipped')} were no longer failed` : ''}.</p>`
      : '';
  const auth = authOf(res);
  const summary = html`<table class="data summary"><thead><tr><th>processor</th>${SLICE_STATES.map((s) => html`<th class="num"><span class="legend"><span class="s-${s}">${s}</span></span></th>`)}<th class="num">total</th></tr></thead><tbody>
${record.processors.map((p) => html`<tr><td class="mono">${p}</td>${SLICE_STATES.map((s) => html`<td class="num" data-count="${p}:${s}">${num(progress.perProcessor[p]?.[s] ?? 0)}</td>`)}<td class="num">${num(record.dates.length)}</td></tr>`)}
<tr><th>all</th>${SLICE_STATES.map((s) => html`<th class="num" data-count="all:${s}">${num(totals[s])}</th>`)}<th class="num">${num(progress.total)}</th></tr></tbody></table>`;
  const actions = html`<div class="actions">
${c.opts.readOnly ? html`<button type="button" disabled title="read-only dashboard">Retry failed (${retryable})</button>` : html`<form class="inline" method="post" action="/backfills/${urlPart(record.id)}/retry-failed"><input type="hidden" name="_csrf" value="${auth?.csrf}"><button class="primary" id="retry-failed" type="submit" ${retryable === 0 ? trusted('disabled') : ''}>Retry failed (${retryable})</button></form>`}
<a class="button" id="export-failed" href="/backfills/${urlPart(record.id)}/failed-dates.json" download="failed_dates_${record.id}.json">Export failed dates (JSON)</a>
<span class="muted">The export is the file <span class="mono">phasegate backfill --retry-failed</span> reads.</span></div>`;
  const body = html`<h1>Backfill <span class="mono">${record.id}</span></h1>
<p class="muted">${record.dates.length} dates (${record.dates[0]} … ${record.dates.at(-1)}) × ${record.processors.length} processors · created ${when(record.createdAt)} · priority ${record.priority}${record.cascade ? ' · cascade' : ''} · ${progress.done ? 'finished' : 'running'}</p>
${notice}${summary}${actions}
<div class="legend">${['none', ...SLICE_STATES].map((s) => html`<span class="s-${s}">${s === 'none' ? 'no status' : s}</span>`)}</div>
${trusted(renderGrid(record, progress.statuses, now))}`;
  const out = page({
    title: `Backfill ${record.id}`,
    active: 'overview',
    body,
    csrf: auth?.csrf,
    readOnly: c.opts.readOnly,
    refreshSeconds: progress.done ? undefined : c.opts.refreshSeconds || undefined,
  }).value;
  const total = performance.now() - started;
  res.setHeader('Server-Timing', `redis;dur=${readMs.toFixed(1)}, total;dur=${total.toFixed(1)}`);
  res.type('html').send(out);
};
