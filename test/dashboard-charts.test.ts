/**
 * The server-side charts: the time axis fits the data (a two-minute run fills the chart
 * instead of being a sliver at the right of a fixed hour), bucket sizes follow the span,
 * ticks are round clock times that fit, the legend is HTML that wraps (it cannot overlap),
 * and the drawing scales to its box. The browser test checks the same at 800 px.
 */
import { expect } from 'chai';
import { depthSpan } from '../src/dashboard/handlers/charts.ts';
import { chart, fitRange, MIN_SPAN_MS, niceStep, timeTicks } from '../src/dashboard/html/svg-chart.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T12:00:00Z');

function xs(markup: string, tag: 'rect' | 'circle'): number[] {
  const attr = tag === 'rect' ? 'x' : 'cx';
  return [...markup.matchAll(new RegExp(`<${tag} ${attr}="([0-9.]+)"`, 'g'))].map((m) => Number(m[1]));
}

describe('dashboard charts', () => {
  it('a two-minute run fills the chart instead of a sliver at the right of the hour', () => {
    const now = T0 + HOUR;
    const start = now - 2 * 60_000;
    const points = Array.from({ length: 24 }, (_, i) => ({ x: start + i * 5000, y: 100 + i }));
    const svg = chart({
      title: 'rows',
      unit: 'rows / 5 s',
      from: now - HOUR,
      to: now,
      series: [{ name: 't', color: '#0072b2', points }],
      bars: true,
      barSpan: 5000,
    }).value;
    const bars = xs(svg, 'rect');
    expect(bars).to.have.length(24);
    // The plot spans x 56…624 of a 640-wide drawing: the run covers most of it, from near the left.
    expect(Math.min(...bars)).to.be.below(80);
    expect(Math.max(...bars)).to.be.above(560);
    const from = Number(/data-from="(\d+)"/.exec(svg)?.[1]);
    const to = Number(/data-to="(\d+)"/.exec(svg)?.[1]);
    expect(to - from).to.be.below(3 * 60_000);
    // Seconds on the axis when the span is minutes.
    const labels = [...svg.matchAll(/<text x="[0-9.]+" y="192\.0" text-anchor="middle"[^>]*>([^<]+)</g)].map((m) => m[1]);
    expect(labels.length).to.be.within(3, 7);
    for (const l of labels) expect(l).to.match(/^\d\d:\d\d:\d\d$/);
  });

  it('fits lines too, keeps at least a minute around one point, and the whole window without data', () => {
    const now = T0 + HOUR;
    expect(fitRange([], now - HOUR, now)).to.deep.equal({ from: now - HOUR, to: now });
    const one = fitRange([now - 600_000], now - HOUR, now);
    expect(one.to - one.from).to.be.at.least(MIN_SPAN_MS);
    expect(one.from).to.be.at.most(now - 600_000);
    expect(one.to).to.be.at.least(now - 600_000);
    // Points at the very end of the window: the span stays inside it.
    const edge = fitRange([now - 1000, now], now - HOUR, now);
    expect(edge.to).to.equal(now);
    expect(edge.to - edge.from).to.be.at.least(MIN_SPAN_MS);
    const svg = chart({
      title: 'depth',
      unit: 'jobs',
      from: now - HOUR,
      to: now,
      series: [{ name: 'a', color: '#000', points: [0, 1, 2, 3].map((i) => ({ x: now - 90_000 + i * 30_000, y: i })) }],
    }).value;
    const dots = xs(svg, 'circle');
    expect(Math.min(...dots)).to.be.below(80);
    expect(Math.max(...dots)).to.be.above(560);
  });

  it('steps and ticks are round clock times, at most six, inside the range', () => {
    expect(niceStep(120_000, 40)).to.equal(5000);
    expect(niceStep(HOUR, 40)).to.equal(120_000);
    expect(niceStep(10 * 60_000, 6)).to.equal(120_000);
    const ticks = timeTicks(T0 + 7_000, T0 + 7_000 + 3 * HOUR);
    expect(ticks.length).to.be.within(2, 6);
    for (const t of ticks) {
      expect(t.at % 60_000).to.equal(0);
      expect(t.at).to.be.within(T0 + 7_000, T0 + 7_000 + 3 * HOUR);
      expect(t.label).to.match(/^\d\d:\d\d$/);
    }
  });

  it('bars stack by series: one bar per interval, as wide as the interval', () => {
    const at = T0 + 30_000;
    const svg = chart({
      title: 'rows',
      unit: 'rows',
      from: T0,
      to: T0 + 120_000,
      bars: true,
      barSpan: 5000,
      series: [
        { name: 'a', color: '#0072b2', points: [{ x: at, y: 300 }] },
        { name: 'b', color: '#e69f00', points: [{ x: at, y: 100 }] },
      ],
    }).value;
    const rects = [...svg.matchAll(/<rect x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="([0-9.]+)"/g)].map((m) => m.slice(1).map(Number));
    expect(rects).to.have.length(2);
    const [ax = 0, ay = 0, aw = 0, ah = 0] = rects[0] ?? [];
    const [bx = 0, by = 0, bw = 0, bh = 1] = rects[1] ?? [];
    expect(ax).to.equal(bx);
    expect(aw).to.equal(bw);
    expect(aw).to.be.above(10);
    // b sits on a: its bottom is a's top, and the two heights are 3 : 1.
    expect(by + bh).to.be.closeTo(ay, 0.11);
    expect(ah / bh).to.be.closeTo(3, 0.05);
    // The axis reaches the stack (400 → 500) in round steps.
    const yLabels = [...svg.matchAll(/text-anchor="end"[^>]*>([^<]+)</g)].map((m) => m[1]);
    expect(yLabels).to.deep.equal(['0', '100', '200', '300', '400', '500']);
  });

  it('the legend is HTML below the drawing (it wraps), and the drawing scales to its box', () => {
    const series = Array.from({ length: 7 }, (_, i) => ({
      name: `nba_analytics.a_rather_long_table_name_${i}`,
      color: '#0072b2',
      points: [{ x: T0 + i * 1000, y: i }],
    }));
    const svg = chart({ title: 'rows', unit: 'rows', from: T0 - HOUR, to: T0 + HOUR, series }).value;
    const drawing = /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 640 200"[^>]*>[\s\S]*?<\/svg><ul/.exec(svg)?.[0] ?? '';
    expect(drawing, 'drawing before the legend').to.not.equal('');
    // No name is drawn inside the SVG (the hover titles of the points carry it, which is fine).
    expect(drawing.replace(/<title>[\s\S]*?<\/title>/g, '')).to.not.include('a_rather_long_table_name');
    expect(/<svg[^>]*viewBox="0 0 640 200"[^>]*>/.exec(svg)?.[0]).to.not.match(/\swidth=/);
    const items = [...svg.matchAll(/<ul class="chart-legend">([\s\S]*?)<\/ul>/g)].flatMap((m) => (m[1] ?? '').match(/<li>/g) ?? []);
    expect(items).to.have.length(7);
  });

  it('the depth chart says the span it covers: the time since the dashboard started, until that is an hour', () => {
    const now = T0 + HOUR;
    expect(depthSpan(now - 10 * 60_000, now)).to.deep.equal({
      from: now - 10 * 60_000,
      title: 'Queue depth since the dashboard started (12:50 UTC, 10 minutes ago)',
    });
    expect(depthSpan(now - 20_000, now).title).to.equal('Queue depth since the dashboard started (12:59 UTC, under a minute ago)');
    expect(depthSpan(now - 2 * HOUR, now)).to.deep.equal({ from: now - HOUR, title: 'Queue depth, last hour' });
  });
});
