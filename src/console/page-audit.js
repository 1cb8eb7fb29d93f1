// @ts-check
// Audit (auditor): the trail as a filterable timeline, verified in the page (audit-verify.js,
// WebCrypto, against the module's audit public key) with the first bad record highlighted; the
// export as a download; and any export file checked the same way.
import { ApiError, request } from './api.js';
import { download, h, field, heading, notify, replace, select } from './dom.js';
import { importAuditKey, verifyExport } from './audit-verify.js';

export const ROWS = 100;

/** @type {{ text: string, source: string, result: import('./audit-verify.js').VerifyResult | null }} */
const loaded = { text: '', source: '', result: null };
const filters = { actor: '', op: '', object: '', outcome: '', node: '', from: '', to: '', page: 0 };

/** @param {unknown} e */
const fail = (e) => notify(e instanceof ApiError ? e.message : String(e), 'error');

/** @param {import('./app.js').PageContext} ctx */
export async function auditPage(ctx) {
  const since = /** @type {HTMLInputElement} */ (h('input', { name: 'since', type: 'datetime-local', step: 1 }));
  const loadBtn = h('button', { type: 'button', id: 'load-audit' }, 'Load and verify the trail');
  const file = /** @type {HTMLInputElement} */ (h('input', { type: 'file', name: 'file', id: 'audit-file', accept: '.ndjson,.jsonl,.json,application/x-ndjson' }));
  const body = h('div', { id: 'audit-body' });
  loadBtn.addEventListener('click', async () => {
    try {
      const q = since.value ? `?since=${encodeURIComponent(new Date(since.value).toISOString())}` : '';
      await load(await request('GET', `/v1/audit/export${q}`, undefined, { raw: true }), 'the module', body);
    } catch (e) { fail(e); }
  });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    try { await load(await f.text(), `the file ${f.name}`, body); } catch (e) { fail(e); }
  });
  replace(ctx.main, heading('Audit'),
    h('section', { class: 'card row', 'aria-label': 'Load the audit trail' },
      field('From (optional)', since), loadBtn,
      field('Or verify an export file', file),
      h('button', { type: 'button', id: 'export-audit', onclick: () => {
        if (!loaded.text) { notify('Load the trail first.', 'error'); return; }
        download(`inkan-audit-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`, loaded.text, 'application/x-ndjson');
      } }, 'Export (NDJSON)')),
    body);
  if (loaded.text) draw(body);
}

/** @param {string} text @param {string} source @param {HTMLElement} body */
async function load(text, source, body) {
  const { pem } = await request('GET', '/v1/audit/public-key');
  const key = await importAuditKey(pem);
  loaded.text = text;
  loaded.source = source;
  loaded.result = await verifyExport(text, key);
  filters.page = 0;
  draw(body);
  if (firstBad() !== undefined) showFirstBad(body);
}

/** Clears the filters, turns to the first bad record's page and brings its row into view. @param {HTMLElement} body */
function showFirstBad(body) {
  const bad = firstBad();
  if (bad === undefined) return;
  Object.assign(filters, { actor: '', op: '', object: '', outcome: '', node: '', from: '', to: '', page: Math.floor(bad / ROWS) });
  draw(body);
  const row = body.querySelector('tr.bad');
  if (row instanceof HTMLElement) { row.scrollIntoView({ block: 'center' }); row.tabIndex = -1; row.focus(); }
}

/** The index, in the unfiltered records, of the first bad record of any chain. */
function firstBad() {
  const r = loaded.result;
  if (!r) return undefined;
  const badSeqs = new Map(r.chains.filter((c) => !c.ok && c.firstBadSeq !== undefined).map((c) => [c.chain, c.firstBadSeq]));
  const i = r.records.findIndex((x) => badSeqs.get(x.chain) === x.seq);
  return i < 0 ? undefined : i;
}

/** @param {any} x */
const keep = (x) => (!filters.actor || String(x.actor ?? '').includes(filters.actor)) && (!filters.op || String(x.op ?? '').includes(filters.op))
  && (!filters.object || String(x.object ?? '').includes(filters.object)) && (!filters.outcome || x.outcome === filters.outcome)
  && (!filters.node || x.chain === filters.node) && (!filters.from || String(x.time) >= new Date(filters.from).toISOString())
  && (!filters.to || String(x.time) <= new Date(filters.to).toISOString());

/** @param {HTMLElement} body */
function draw(body) {
  const r = /** @type {import('./audit-verify.js').VerifyResult} */ (loaded.result);
  const bad = new Map(r.chains.filter((c) => !c.ok).map((c) => [c.chain, c.firstBadSeq]));
  const verdict = r.ok
    ? h('p', { id: 'audit-verdict', class: 'verdict ok' }, `Verified in this browser: ${r.records.length} records of ${loaded.source}, ${r.chains.length} chain(s), every hash, link and checkpoint signature (Ed25519, the module's audit key).`)
    : h('div', { id: 'audit-verdict', class: 'verdict bad', role: 'alert' },
      h('p', {}, `The audit trail from ${loaded.source} does NOT verify.`),
      firstBad() !== undefined ? h('button', { type: 'button', id: 'goto-bad', onclick: () => showFirstBad(body) }, 'Show the first bad record') : null,
      h('ul', {}, [...(r.problem ? [h('li', {}, r.problem)] : []), ...r.chains.filter((c) => !c.ok).map((c) => h('li', {}, `Chain ${c.chain}: ${c.problem}`))]));
  const shown = r.records.filter(keep);
  const pages = Math.max(1, Math.ceil(shown.length / ROWS));
  filters.page = Math.min(filters.page, pages - 1);
  const nodes = [...new Set(r.chains.map((c) => c.chain))];
  /** @param {keyof typeof filters} name @param {HTMLInputElement | HTMLSelectElement} el */
  const bind = (name, el) => { el.value = String(filters[name]); el.addEventListener('change', () => { /** @type {any} */ (filters)[name] = el.value; filters.page = 0; draw(body); }); return el; };
  const filterBar = h('form', { class: 'row filters', role: 'search', 'aria-label': 'Filter the audit trail', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
    field('Actor', bind('actor', /** @type {HTMLInputElement} */ (h('input', { name: 'actor', type: 'search' })))),
    field('Operation', bind('op', /** @type {HTMLInputElement} */ (h('input', { name: 'op', type: 'search' })))),
    field('Key or object', bind('object', /** @type {HTMLInputElement} */ (h('input', { name: 'object', type: 'search' })))),
    field('Outcome', bind('outcome', /** @type {HTMLSelectElement} */ (select('outcome', ['', 'success', 'failure'])))),
    field('Node', bind('node', /** @type {HTMLSelectElement} */ (select('node', ['', ...nodes])))),
    field('From', bind('from', /** @type {HTMLInputElement} */ (h('input', { name: 'from', type: 'datetime-local', step: 1 })))),
    field('To', bind('to', /** @type {HTMLInputElement} */ (h('input', { name: 'to', type: 'datetime-local', step: 1 })))));
  const slice = shown.slice(filters.page * ROWS, (filters.page + 1) * ROWS);
  const go = (/** @type {number} */ d) => { filters.page += d; draw(body); };
  replace(body, verdict, filterBar,
    h('div', { class: 'scroll' }, h('table', { id: 'audit' },
      h('caption', {}, `${shown.length} of ${r.records.length} records`),
      h('thead', {}, h('tr', {}, ['Seq', 'Time', 'Node', 'Actor', 'Role', 'Face', 'Operation', 'Object', 'Outcome', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, slice.map((x) => {
        const isBad = bad.get(x.chain) === x.seq;
        return h('tr', { 'data-seq': x.seq, 'data-chain': x.chain, class: isBad ? 'bad' : x.outcome === 'failure' ? 'failure' : '', 'aria-invalid': isBad ? 'true' : undefined },
          h('th', { scope: 'row' }, String(x.seq)), h('td', { class: 'nowrap' }, String(x.time ?? '').replace('T', ' ')), h('td', { class: 'nowrap' }, x.chain), h('td', {}, String(x.actor ?? '')), h('td', {}, String(x.role ?? '')),
          h('td', {}, String(x.face ?? '')), h('td', {}, String(x.op ?? '')), h('td', {}, String(x.object ?? '')), h('td', {}, `${x.outcome ?? ''}${x.code ? ` (${x.code})` : ''}`),
          h('td', {}, isBad ? `FIRST BAD RECORD. ${String(x.detail ?? '')}` : String(x.detail ?? '')));
      })))),
    h('nav', { class: 'pager', 'aria-label': 'Audit pages' },
      h('button', { type: 'button', disabled: filters.page === 0, onclick: () => go(-1) }, 'Previous'),
      h('span', {}, `Page ${filters.page + 1} of ${pages}`),
      h('button', { type: 'button', disabled: filters.page >= pages - 1, onclick: () => go(1) }, 'Next')));
}
