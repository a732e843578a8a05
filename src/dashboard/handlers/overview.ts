/** GET / — queues, running backfills, tables with an open breaker, charts. */

import { tableId } from '../../processors/types.ts';
import { readBreaker } from '../../queues/conflicts/breaker.ts';
import { authOf, type Handler } from '../context.ts';
import { recentBackfills } from '../data/backfill-summary.ts';
import { queueCounts } from '../data/queue-list.ts';
import { html, urlPart } from '../html/escape.ts';
import { num, relative, when } from '../html/format.ts';
import { page } from '../html/layout.ts';
import { depthChart, throughputChart } from './charts.ts';

export const overview: Handler = async (c, _req, res) => {
  const [counts, backfills] = await Promise.all([queueCounts(c.rt), recentBackfills(c.rt, 10)]);
  c.depth.record(counts);
  const tables = c.rt.registry.transforms().map((d) => tableId(d.table));
  const breakers = await Promise.all(tables.map(async (table) => ({ table, view: await readBreaker(c.rt, table).catch(() => undefined) })));
  const open = breakers.filter((b) => b.view && b.view.state !== 'closed');
  const breakerKnown = breakers.some((b) => b.view !== undefined);
  const throughput = await throughputChart(c);
  const running = backfills.some((b) => !b.done);

  const queueRows = counts.map(
    (
      q,
    ) => html`<tr><td><a href="/queues/queue/${urlPart(q.queue.name)}">${q.queue.displayName}</a>${q.paused ? html` <span class="badge open">paused</span>` : ''}<div class="muted mono">${q.queue.name}</div></td>
<td class="num">${num(q.counts.waiting + q.counts.prioritized)}</td><td class="num">${num(q.counts.active)}</td><td class="num">${num(q.counts.delayed)}</td><td class="num">${num(q.counts.failed)}</td><td class="num">${num(q.counts.completed)}</td></tr>`,
  );
  const backfillRows = backfills.map(
    (
      b,
    ) => html`<tr data-backfill="${b.record.id}"><td><a href="/backfills/${urlPart(b.record.id)}">${b.record.id}</a><div class="muted date">${when(b.record.createdAt)}</div></td>
<td>${b.record.dates.length} dates × ${b.record.processors.length} processors${b.record.cascade ? html` <span class="muted">+ cascade (${Object.keys(b.perProcessor).length - b.record.processors.length} downstream)</span>` : ''}<div class="muted"><span class="date">${b.record.dates[0]}</span> … <span class="date">${b.record.dates.at(-1)}</span></div></td>
<td><progress max="${b.total}" value="${b.finished}"></progress> ${num(b.finished)} / ${num(b.total)}</td>
<td class="num">${num(b.counts.committed)}</td><td class="num">${num(b.counts.waiting)}</td><td class="num">${num(b.counts.failed + b.counts.deferred)}</td>
<td data-state="${b.done ? 'finished' : 'running'}">${b.done ? 'finished' : 'running'}${b.rerun > 0 ? html`<div class="muted">${num(b.rerun)} re-run since</div>` : ''}</td></tr>`,
  );
  const body = html`<h1>Overview</h1>
<div class="charts">${throughput}${depthChart(c)}</div>
<h2>Backfills</h2>
${backfills.length === 0 ? html`<p class="muted">No backfills yet. Start one with <span class="mono">phasegate backfill --processors … --start … --end …</span>.</p>` : html`<div class="wide"><table class="data"><thead><tr><th>backfill</th><th>scope</th><th>progress</th><th class="num">committed</th><th class="num">waiting</th><th class="num">failed / deferred</th><th></th></tr></thead><tbody>${backfillRows}</tbody></table></div>`}
<h2>Tables</h2>
${!breakerKnown ? html`<p class="muted">No circuit-breaker data yet. <a href="/tables">Table gates →</a></p>` : open.length === 0 ? html`<p>Every table's breaker is closed. <a href="/tables">Table gates →</a></p>` : html`<table class="data"><thead><tr><th>table</th><th>breaker</th><th>since</th></tr></thead><tbody>${open.map((b) => html`<tr><td>${b.table}</td><td><span class="badge ${b.view?.state ?? ''}">${b.view?.state}</span></td><td><span class="date">${when(b.view?.since)}</span> <span class="muted">${relative(b.view?.since)}</span></td></tr>`)}</tbody></table>`}
<h2>Queues</h2>
<div class="wide"><table class="data"><thead><tr><th>queue</th><th class="num">waiting</th><th class="num">active</th><th class="num">delayed</th><th class="num">failed</th><th class="num">completed (kept)</th></tr></thead><tbody>${queueRows}</tbody></table></div>
<p class="muted">Jobs in detail: <a href="/queues">Bull Board</a> · slices needing attention: <a href="/failures">Failures</a> · Prometheus: <a href="/metrics">/metrics</a></p>`;
  res.type('html').send(
    page({
      title: 'Overview',
      active: 'overview',
      body,
      csrf: authOf(res)?.csrf,
      readOnly: c.opts.readOnly,
      refreshSeconds: running ? c.opts.refreshSeconds || undefined : undefined,
    }).value,
  );
};
