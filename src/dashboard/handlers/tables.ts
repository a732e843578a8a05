/**
 * GET /tables — per target table, how close it is to each BigQuery per-table limit: commits
 * in flight vs the concurrency cap, table operations in the last window vs the rate cap,
 * today's operations (and load jobs) vs the daily budget, the breaker, and conflicts.
 */

import { commitQueueName } from '../../queues/names.ts';
import { authOf, type Handler } from '../context.ts';
import type { ConflictSummary } from '../data/conflicts.ts';
import { type TableStats, tableStats } from '../data/table-stats.ts';
import { html, type SafeHtml, urlPart } from '../html/escape.ts';
import { num, relative, when } from '../html/format.ts';
import { page } from '../html/layout.ts';
import { depthChart, throughputChart } from './charts.ts';

/** BigQuery stops a table's load jobs at 1,500 a day, failed ones included. */
const BIGQUERY_DAILY_LOADS = 1500;

function meter(value: number, max: number): SafeHtml {
  // high/optimum make the browser colour the bar amber then red as a limit nears.
  return html`<span class="gauge"><meter min="0" max="${max}" low="${max * 0.6}" high="${max * 0.85}" optimum="0" value="${Math.min(value, max)}"></meter> ${num(value)} / ${num(max)}</span>`;
}

function conflictsCell(c: ConflictSummary | undefined, known: boolean): SafeHtml {
  if (!known) return html`<span class="muted">no conflict data</span>`;
  if (!c || c.total === 0) return html`0`;
  const types = Object.entries(c.byType)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  const resolutions = Object.entries(c.byResolution)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  return html`${num(c.total)} (${num(c.resolved)} resolved)<div class="muted">${types}</div><div class="muted">${resolutions}</div>${c.latestAt ? html`<div class="muted">last ${relative(c.latestAt)}</div>` : ''}`;
}

function breakerCell(t: TableStats): SafeHtml {
  if (!t.breaker) return html`<span class="muted">no breaker data</span>`;
  const b = t.breaker;
  return html`<span class="badge ${b.state}">${b.state}</span><div class="muted">since ${when(b.since)} (${relative(b.since)})</div>
${b.reopensAt && b.state === 'open' ? html`<div class="muted">probe ${relative(b.reopensAt)}</div>` : ''}
${b.recentCommits !== undefined ? html`<div class="muted">${num(b.recentConflicts ?? 0)} of the last ${num(b.recentCommits)} commits conflicted</div>` : ''}`;
}

export const tablesPage: Handler = async (c, _req, res) => {
  const { tables, conflictsKnown } = await tableStats(c.rt, { breaker: c.opts.breaker, conflicts: c.opts.conflicts });
  const scaled = c.rt.config.timeScale !== 1;
  const rows = tables.map(
    (
      t,
    ) => html`<tr data-table="${t.table}"><td><a href="/queues/queue/${urlPart(commitQueueName(t.table))}" class="mono">${t.table}</a><div class="muted">written by ${t.writer}</div></td>
<td data-k="in-flight">${meter(t.inFlight, t.inFlightCap)}<div class="muted">${num(t.commitsWaiting)} queued · ${num(t.pendingSlices)} dates staged${t.commitsFailed ? html` · ${num(t.commitsFailed)} failed` : ''}</div></td>
<td data-k="ops-window">${meter(t.opsInWindow, t.opsCap)}<div class="muted">per ${t.windowSeconds} s${scaled ? html` (${num(t.windowMs)} ms real at ×${c.rt.config.timeScale})` : ''}</div></td>
<td data-k="ops-today">${meter(t.opsToday, t.dailyBudget)}${t.loadJobs !== undefined ? html`<div class="muted">load jobs (rules layer, this process): ${num(t.loadJobs)} / ${num(BIGQUERY_DAILY_LOADS)}</div>` : ''}</td>
<td data-k="breaker">${breakerCell(t)}</td><td data-k="conflicts">${conflictsCell(t.conflicts, conflictsKnown)}</td></tr>`,
  );
  const charts = [await throughputChart(c), depthChart(c)];
  const body = html`<h1>Table gates</h1>
<p class="muted">BigQuery runs at most 2 mutating DML per table at once (20 queued), allows 5 table operations per 10 s, and 1,500 load jobs per table per day. Each gate holds its table under its caps for every worker in every process.</p>
<table class="data"><thead><tr><th>table</th><th>commits in flight / cap</th><th>operations in the last window / cap</th><th>operations today (UTC) / budget</th><th>breaker</th><th>conflicts, last 24 h</th></tr></thead><tbody>${rows}</tbody></table>
<div class="charts">${charts}</div>`;
  res
    .type('html')
    .send(
      page({ title: 'Tables', active: 'tables', body, csrf: authOf(res)?.csrf, readOnly: c.opts.readOnly, refreshSeconds: c.opts.refreshSeconds || undefined })
        .value,
    );
};
