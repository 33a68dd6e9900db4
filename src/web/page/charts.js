// Inline SVG charts of a machine card: run/stop timeline and production rate. Both share the
// time window and left padding, so the bars of one card line up with the other.
import { s } from './dom.js';
import { clock, duration, number, t } from './i18n.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const PAD_LEFT = 44;
const PAD_RIGHT = 10;

/** One window for all cards: the data's age, at least the last hour, at most the last 8. */
export function chartWindow(machines, now) {
  let first = now - HOUR;
  for (const m of machines) {
    if (m.timeline.length) first = Math.min(first, m.timeline[0].at);
    if (m.production.length) first = Math.min(first, m.production[0].at);
  }
  return { start: Math.max(first, now - 8 * HOUR), end: now };
}

const scale = (win, width) => (t) => PAD_LEFT + ((t - win.start) / (win.end - win.start)) * (width - PAD_LEFT - PAD_RIGHT);

/** Time labels at whole local 5/10/15/30 min or 1/2/3/4 h, about one per 80 px; gridlines from gridTop down to the labels when given. */
function timeAxis(win, width, y, gridTop) {
  const x = scale(win, width);
  const steps = [5, 10, 15, 30, 60, 120, 180, 240].map((m) => m * MIN);
  const fit = Math.max(1, Math.floor((width - PAD_LEFT - PAD_RIGHT) / 80));
  const step = steps.find((st) => (win.end - win.start) / st <= fit) ?? steps.at(-1);
  const offset = -new Date(win.start).getTimezoneOffset() * MIN;
  const ticks = [];
  for (let t = Math.ceil((win.start + offset) / step) * step - offset; t <= win.end; t += step) {
    if (gridTop !== undefined) ticks.push(s('line', { class: 'grid', x1: x(t), x2: x(t), y1: gridTop, y2: y - 14 }));
    ticks.push(s('text', { class: 'axis-label', x: x(t), y, 'text-anchor': 'middle' }, clock(t)));
  }
  return s('g', { class: 'axis' }, ...ticks);
}

function describe(seg) {
  const span = t('status.chart.span', { from: clock(seg.from), to: clock(seg.to), duration: duration(seg.to - seg.from) });
  if (seg.running === null) return t('status.chart.unknown', { span });
  const segment = seg.running
    ? t('status.chart.running', { span })
    : seg.type
      ? t('status.chart.stoppedType', { type: seg.type, span })
      : t('status.chart.stopped', { span });
  if (!seg.sent) return t('status.chart.notSent', { segment });
  return seg.uncertain ? t('status.chart.uncertain', { segment }) : segment;
}

/** Green running, red stopped, grey unknown; hatched where the change was not sent. */
export function timelineChart(m, win, width) {
  const x = scale(win, width);
  const svg = s('svg', {
    class: 'chart',
    width,
    height: 48,
    viewBox: `0 0 ${width} 48`,
    role: 'img',
    'aria-label': t('status.chart.timelineLabel', { code: m.code }),
  });
  const before = m.timeline.filter((c) => c.at <= win.start).at(-1);
  let current = { running: before ? before.running : null, type: before?.type, sent: before?.sent ?? true, uncertain: before?.uncertain, from: win.start };
  const segments = [];
  for (const c of m.timeline.filter((c) => c.at > win.start && c.at <= win.end)) {
    segments.push({ ...current, to: c.at });
    current = { running: c.running, type: c.type, sent: c.sent, uncertain: c.uncertain, from: c.at };
  }
  segments.push({ ...current, to: win.end });

  for (const seg of segments) {
    const state = seg.running === null ? 'unknown' : seg.running ? 'running' : 'stopped';
    const label = describe(seg);
    const box = { x: x(seg.from), y: 4, width: Math.max(1, x(seg.to) - x(seg.from)), height: 22 };
    svg.append(s('rect', { ...box, class: `seg ${state}`, 'data-state': state, 'data-type': seg.type, 'data-label': label }, s('title', {}, label)));
    if (!seg.sent) {
      svg.append(s('rect', { ...box, class: 'unsent-hatch', 'data-label': label }, s('title', {}, label)));
      svg.append(s('line', { class: 'unsent-mark', x1: box.x, x2: box.x, y1: 1, y2: 29 }));
    }
  }
  svg.append(s('text', { class: 'axis-label', x: PAD_LEFT - 6, y: 19, 'text-anchor': 'end' }, t('status.chart.state')), timeAxis(win, width, 44));
  return svg;
}

/** Parts per minute between consecutive delivered-total samples. */
function intervals(production) {
  const out = [];
  for (let i = 1; i < production.length; i++) {
    const a = production[i - 1];
    const b = production[i];
    if (b.at > a.at) out.push({ from: a.at, to: b.at, parts: Math.max(0, b.total - a.total) });
  }
  return out;
}

/** Average rate over the last `minutes` of samples, or null without two samples. */
export function recentRate(production, minutes = 5) {
  const last = production.at(-1);
  if (!last) return null;
  const from = production.findLast((p) => p.at <= last.at - minutes * MIN) ?? production[0];
  return last.at > from.at ? ((last.total - from.total) / (last.at - from.at)) * MIN : null;
}

const niceMax = (v) => {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((k) => k * p).find((n) => n >= v);
};

/** Bars of parts/min; samples are merged into wider buckets so a bar is never thinner than 5 px. */
export function rateChart(m, win, width) {
  const height = 150;
  const top = 20;
  const plotH = height - top - 26;
  const x = scale(win, width);
  const svg = s('svg', {
    class: 'chart',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': t('status.chart.rateLabel', { code: m.code }),
  });

  const bucketMs = Math.max(MIN, Math.ceil((win.end - win.start) / MIN / Math.max(1, Math.floor((width - PAD_LEFT - PAD_RIGHT) / 5))) * MIN);
  const buckets = new Map();
  for (const iv of intervals(m.production)) {
    if (iv.to <= win.start) continue;
    const k = Math.floor((iv.from + (iv.to - iv.from) / 2 - win.start) / bucketMs);
    const b = buckets.get(k) ?? { from: Infinity, to: -Infinity, parts: 0, ms: 0 };
    buckets.set(k, { from: Math.min(b.from, iv.from), to: Math.max(b.to, iv.to), parts: b.parts + iv.parts, ms: b.ms + iv.to - iv.from });
  }
  const bars = [...buckets.values()].map((b) => ({ ...b, rate: (b.parts / b.ms) * MIN }));
  const max = niceMax(Math.max(1, ...bars.map((b) => b.rate)));
  const y = (v) => top + plotH - (v / max) * plotH;

  for (const v of [0, max / 2, max]) {
    svg.append(
      s('line', { class: v === 0 ? 'baseline' : 'grid', x1: PAD_LEFT, x2: width - PAD_RIGHT, y1: y(v), y2: y(v) }),
      s('text', { class: 'axis-label', x: PAD_LEFT - 6, y: y(v) + 4, 'text-anchor': 'end' }, number(v)),
    );
  }
  svg.append(s('text', { class: 'axis-title', x: 4, y: 12 }, t('status.machine.partsPerMin')), timeAxis(win, width, height - 6, top));
  for (const b of bars) {
    const left = x(Math.max(b.from, win.start));
    const w = Math.max(1, x(b.to) - left - 1);
    const title = t('status.chart.bar', { from: clock(b.from), to: clock(b.to), rate: Math.round(b.rate * 10) / 10, count: b.parts });
    svg.append(
      s('rect', { class: 'rate-bar', x: left, y: y(b.rate), width: w, height: Math.max(0, y(0) - y(b.rate)), 'data-label': title }, s('title', {}, title)),
    );
  }
  if (bars.length === 0) {
    svg.append(s('text', { class: 'empty-chart', x: (PAD_LEFT + width) / 2, y: top + plotH / 2, 'text-anchor': 'middle' }, t('status.chart.noSamples')));
  }
  return svg;
}
