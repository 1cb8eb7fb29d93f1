// @ts-check
// Activity (every role): how busy the module is, from its own metrics (GET /metrics, the
// Prometheus text any scraper reads; unauthenticated, so polling it never keeps a session alive).
// Polled every POLL_MS while the page is shown: operations per second by face as a live chart
// (an SVG made with DOM calls), the busiest operations and mechanisms, error rates, latency
// percentiles from the histogram, object counts and open sessions.

import { request } from './api.js';
import { h, heading, replace } from './dom.js';

export const POLL_MS = 2000;
/** Points kept for the chart: two minutes at POLL_MS. */
const HISTORY = 60;
const SVG = 'http://www.w3.org/2000/svg';

/** @typedef {{ name: string, labels: Record<string, string>, value: number }} Sample */

/** Parses Prometheus text exposition (the subset prom-client writes). @param {string} text @returns {Sample[]} */
export function parseMetrics(text) {
  /** @type {Sample[]} */
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    /** @type {Record<string, string>} */
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sums a metric's samples by one label. @param {Sample[]} s @param {string} name @param {string} by */
function sumBy(s, name, by) {
  /** @type {Map<string, number>} */
  const out = new Map();
  for (const x of s) if (x.name === name) out.set(x.labels[by] ?? '', (out.get(x.labels[by] ?? '') ?? 0) + x.value);
  return out;
}

/** Latency quantiles per operation from cumulative buckets (the bucket's upper bound). @param {Sample[]} s */
function latency(s) {
  /** @type {Map<string, Map<number, number>>} */
  const byOp = new Map();
  for (const x of s) {
    if (x.name !== 'inkan_operation_duration_seconds_bucket') continue;
    const op = x.labels.operation;
    const le = x.labels.le === '+Inf' ? Infinity : Number(x.labels.le);
    const m = byOp.get(op) ?? new Map();
    m.set(le, (m.get(le) ?? 0) + x.value);
    byOp.set(op, m);
  }
  return [...byOp].map(([op, buckets]) => {
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    const total = sorted.length ? sorted[sorted.length - 1][1] : 0;
    const q = (/** @type {number} */ p) => { const hit = sorted.find(([, c]) => c >= p * total); return hit ? hit[0] : NaN; };
    return { op, count: total, p50: q(0.5), p95: q(0.95), p99: q(0.99) };
  }).filter((r) => r.count > 0).sort((a, b) => b.count - a.count);
}

/** @param {number} seconds */
const ms = (seconds) => (seconds === Infinity ? '> 30 s' : Number.isNaN(seconds) ? '-' : seconds < 1 ? `≤ ${Math.round(seconds * 1000 * 10) / 10} ms` : `≤ ${seconds} s`);

/** @param {string} caption @param {string[]} head @param {any[][]} rows @param {string} id */
const table = (caption, head, rows, id) => h('div', { class: 'scroll' }, h('table', { id },
  h('caption', {}, caption), h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))),
  h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, String(c)) : h('td', {}, String(c)))))))));

/** @param {import('./app.js').PageContext} ctx */
export async function activityPage(ctx) {
  const body = h('div', { id: 'activity', 'aria-live': 'off' });
  replace(ctx.main, heading('Activity'), h('p', {}, `From the module's own metrics, updated every ${POLL_MS / 1000} s.`), body);
  /** @type {{ t: number, ops: Map<string, number>, errors: Map<string, number> }[]} */
  const history = [];
  /** @type {{ t: number, byOp: Map<string, number>, byMech: Map<string, number> } | undefined} */
  let prev;
  const tick = async () => {
    if (!body.isConnected) return false;
    const samples = parseMetrics(await request('GET', '/metrics', undefined, { raw: true }));
    const t = Date.now();
    const ops = sumBy(samples, 'inkan_operations_total', 'face');
    const errors = sumBy(samples, 'inkan_operation_errors_total', 'face');
    const byOp = sumBy(samples, 'inkan_operations_total', 'operation');
    const byMech = sumBy(samples, 'inkan_operations_total', 'mechanism');
    history.push({ t, ops, errors });
    if (history.length > HISTORY + 1) history.shift();
    const rate = (/** @type {Map<string, number>} */ now, /** @type {Map<string, number> | undefined} */ before, /** @type {string} */ k, /** @type {number} */ dt) =>
      before && dt > 0 ? Math.max(0, ((now.get(k) ?? 0) - (before.get(k) ?? 0)) / dt) : 0;
    const dt = prev ? (t - prev.t) / 1000 : 0;
    const last = history.length > 1 ? history[history.length - 2] : undefined;
    const faces = [...ops.keys()].sort();
    const fmt = (/** @type {number} */ x) => (Math.round(x * 10) / 10).toString();
    replace(body,
      chart(history, faces),
      table('Operations by face', ['Face', 'Total', 'Per second now', 'Errors', 'Error rate'], faces.map((f) => [f, ops.get(f) ?? 0, fmt(rate(ops, last?.ops, f, dt)), errors.get(f) ?? 0,
        `${fmt(100 * (errors.get(f) ?? 0) / Math.max(1, ops.get(f) ?? 0))} %`]), 'by-face'),
      table('Operations (busiest first)', ['Operation', 'Total', 'Per second now'], [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([o, n]) => [o, n, fmt(rate(byOp, prev?.byOp, o, dt))]), 'by-operation'),
      table('Mechanisms', ['Mechanism', 'Total', 'Per second now'], [...byMech].filter(([m]) => m !== 'none').sort((a, b) => b[1] - a[1]).slice(0, 15).map(([m, n]) => [m, n, fmt(rate(byMech, prev?.byMech, m, dt))]), 'by-mechanism'),
      table('Latency since start (histogram bucket bounds)', ['Operation', 'Count', 'p50', 'p95', 'p99'], latency(samples).slice(0, 15).map((r) => [r.op, r.count, ms(r.p50), ms(r.p95), ms(r.p99)]), 'latency'),
      table('Objects and sessions', ['What', 'Count'], [
        ...[...sumBy(samples, 'inkan_objects', 'class')].map(([c, n]) => [`objects: ${c}`, n]),
        ...[...sumBy(samples, 'inkan_sessions', 'face')].map(([f, n]) => [`sessions: ${f}`, n]),
        ['audit records', samples.find((x) => x.name === 'inkan_audit_records')?.value ?? '-']], 'objects'));
    prev = { t, byOp, byMech };
    return true;
  };
  await tick();
  const timer = setInterval(() => { tick().then((on) => { if (!on) clearInterval(timer); }).catch(() => {}); }, POLL_MS);
}

/** Operations per second by face over the last two minutes, one line per face. @param {{ t: number, ops: Map<string, number> }[]} history @param {string[]} faces */
function chart(history, faces) {
  const W = 600, H = 160;
  const series = faces.map((f) => history.slice(1).map((p, i) => ({ t: p.t, v: Math.max(0, ((p.ops.get(f) ?? 0) - (history[i].ops.get(f) ?? 0)) / Math.max(0.001, (p.t - history[i].t) / 1000)) })));
  const max = Math.max(1, ...series.flat().map((p) => p.v));
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Operations per second by face over the last ${Math.round(HISTORY * POLL_MS / 60000)} minutes; peak ${Math.round(max * 10) / 10} per second`);
  const axis = document.createElementNS(SVG, 'path');
  axis.setAttribute('d', `M0 ${H - 1} H${W}`);
  axis.setAttribute('class', 'axis');
  svg.appendChild(axis);
  series.forEach((pts, i) => {
    if (pts.length < 1) return;
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', pts.map((p, j) => `${(W * (j + HISTORY - pts.length)) / HISTORY},${H - 2 - ((H - 4) * p.v) / max}`).join(' '));
    line.setAttribute('class', `series s${i % 6}`);
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.appendChild(line);
    // The newest point is marked, so a line of one point still shows.
    const lastPt = pts[pts.length - 1];
    const dot = document.createElementNS(SVG, 'circle');
    dot.setAttribute('cx', String(W - W / HISTORY));
    dot.setAttribute('cy', String(H - 2 - ((H - 4) * lastPt.v) / max));
    dot.setAttribute('r', '3');
    dot.setAttribute('class', `dot s${i % 6}`);
    svg.appendChild(dot);
  });
  const legend = h('ul', { class: 'legend' }, faces.map((f, i) => h('li', { class: `s${i % 6}` }, f)));
  return h('figure', { class: 'card' }, svg, h('figcaption', {}, `Operations per second by face (peak ${Math.round(max * 10) / 10}/s)`), legend);
}
