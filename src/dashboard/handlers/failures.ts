/** GET /failures — failed and deferred slices with their reason and a retry action; waiting slices below. */
import type { SliceStatus } from '../../queues/status-store.ts';
import { authOf, type Handler } from '../context.ts';
import { type AttentionSlice, attentionSlices } from '../data/failures.ts';
import { html, type SafeHtml, urlPart } from '../html/escape.ts';
import { clip, num, relative, when } from '../html/format.ts';
import { page } from '../html/layout.ts';

function backfillLink(s: SliceStatus): SafeHtml | string {
  return s.backfillId ? html`<a href="/backfills/${urlPart(s.backfillId)}" class="mono">${s.backfillId}</a>` : html`<span class="muted">live</span>`;
}

export const failuresPage: Handler = async (c, req, res) => {
  const list = await attentionSlices(c.rt, 500);
  const auth = authOf(res);
  const retryForm = (items: readonly AttentionSlice[], label: string, id?: string) =>
    c.opts.readOnly
      ? html`<button type="button" disabled title="read-only dashboard">${label}</button>`
      : html`<form class="inline" method="post" action="/failures/retry"><input type="hidden" name="_csrf" value="${auth?.csrf}">${items.map((i) => html`<input type="hidden" name="slice" value="${i.processor}/${i.slice}">`)}<button type="submit" ${id ? html`id="${id}"` : ''}>${label}</button></form>`;
  const rows = (items: readonly AttentionSlice[], withRetry: boolean) =>
    items.map(
      (
        i,
      ) => html`<tr data-slice="${i.processor}/${i.slice}"><td class="mono">${i.processor}</td><td class="mono">${i.slice}</td><td>${backfillLink(i.status)}</td>
<td><span class="legend"><span class="s-${i.status.status}">${i.status.status}</span></span>${i.status.nextTryAt && i.status.status === 'waiting' ? html`<div class="muted">next try ${relative(i.status.nextTryAt)}</div>` : ''}</td>
<td class="num">${num(i.status.attempts)}</td><td>${when(i.status.updatedAt)}</td><td class="err">${clip(i.status.error, 2000) || html`<span class="muted">no reason recorded</span>`}</td>
${withRetry ? html`<td>${retryForm([i], 'Retry')}</td>` : ''}</tr>`,
    );
  const needing = [...list.slices.failed, ...list.slices.deferred];
  const head = (retry: boolean) =>
    html`<thead><tr><th>processor</th><th>date</th><th>backfill</th><th>status</th><th class="num">attempts</th><th>updated</th><th>reason</th>${retry ? html`<th></th>` : ''}</tr></thead>`;
  const q = req.query.enqueued;
  const body = html`<h1>Failures</h1>
${typeof q === 'string' && /^\d{1,9}$/.test(q) ? html`<p class="notice" role="status">Requeued ${q} slice(s).</p>` : ''}
<p>${num(list.counts.failed)} failed · ${num(list.counts.deferred)} deferred (waited past the maximum; nothing is dropped) · ${num(list.counts.waiting)} waiting on a busy table or the streaming buffer</p>
<h2>Failed and deferred</h2>
${needing.length === 0 ? html`<p class="muted">Nothing has failed.</p>` : html`<div class="actions">${retryForm(needing, `Retry all ${needing.length} shown`, 'retry-all')}</div><table class="data">${head(true)}<tbody>${rows(needing, true)}</tbody></table>`}
<h2>Waiting</h2>
${list.slices.waiting.length === 0 ? html`<p class="muted">No slice is waiting.</p>` : html`<table class="data">${head(false)}<tbody>${rows(list.slices.waiting, false)}</tbody></table>`}
${list.counts.failed + list.counts.deferred > needing.length || list.counts.waiting > list.slices.waiting.length ? html`<p class="muted">Showing the newest 500 of each state.</p>` : ''}`;
  res.type('html').send(page({ title: 'Failures', active: 'failures', body, csrf: auth?.csrf, readOnly: c.opts.readOnly }).value);
};
