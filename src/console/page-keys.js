// @ts-check
// Keys (crypto user): the list (fetched once, filtered and paged in the page, so thousands of keys
// stay fast: only one page of rows is ever in the DOM) and generate; a key's detail, lifecycle,
// versions, use counts and sharing are key-detail.js. Exported key material is never asked for or shown.
import { ApiError, request, seg } from './api.js';
import { h, field, heading, notify, replace, select, values } from './dom.js';
import { showDetail } from './key-detail.js';

export const PAGE_SIZE = 50;
const TYPES = ['', 'aes', 'generic-secret', 'rsa', 'ec', 'ed25519'];
const CLASSES = ['', 'secret-key', 'private-key', 'public-key'];
const USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap', 'derive'];
/** @param {unknown} e */
const fail = (e) => notify(e instanceof ApiError ? e.message : String(e), 'error');

/** What the filters keep (kept across refreshes of the page). */
const filters = { text: '', keyType: '', cls: '', page: 0 };

/** @param {any} k */
const matches = (k) => (!filters.keyType || k.keyType === filters.keyType) && (!filters.cls || k.class === filters.cls)
  && (!filters.text || `${k.label ?? ''} ${k.id} ${k.ckaId ?? ''}`.toLowerCase().includes(filters.text.toLowerCase()));

/** The page draws at most this many keys (the API pages by 1,000: GET /v1/keys?next=…). */
const MAX_KEYS = 10000;

/** The caller's keys, page by page, up to MAX_KEYS, oldest first. @returns {Promise<any[]>} */
async function allKeys() {
  const first = await request('GET', '/v1/keys');
  const keys = [...first.keys];
  for (let next = first.next; next && keys.length < MAX_KEYS;) {
    const page = await request('GET', `/v1/keys?next=${encodeURIComponent(next)}`);
    keys.push(...page.keys);
    next = page.next;
  }
  // Oldest first, as the list always showed (the API pages in id order).
  const t = (/** @type {any} */ k) => new Date(k.created).getTime();
  return keys.slice(0, MAX_KEYS).sort((a, b) => t(a) - t(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** @param {import('./app.js').PageContext} ctx */
export async function keysPage(ctx) {
  /** @type {any[]} */
  const keys = await allKeys();
  const selected = (location.hash.match(/^#\/keys\/(.+)$/) ?? [])[1];
  const list = h('div', { id: 'key-list' });
  const detail = h('section', { id: 'key-detail', class: 'card', 'aria-live': 'polite', hidden: !selected });
  /** After an action on one key: that key's row again (one call, not the whole list). @param {string} id */
  const changed = async (id) => {
    const i = keys.findIndex((k) => k.id === id);
    try { const { key } = await request('GET', `/v1/keys/${seg(id)}`); if (i >= 0) keys[i] = key; } catch { if (i >= 0) keys.splice(i, 1); }
    draw();
  };
  const open = (/** @type {string} */ id) => showDetail(ctx, detail, id, () => void changed(id));
  const draw = () => drawList(list, keys.filter(matches), open);
  const text = /** @type {HTMLInputElement} */ (h('input', { name: 'q', type: 'search', value: filters.text, placeholder: 'label or id' }));
  const type = /** @type {HTMLSelectElement} */ (select('type', TYPES, filters.keyType));
  const cls = /** @type {HTMLSelectElement} */ (select('class', CLASSES, filters.cls));
  text.addEventListener('input', () => { filters.text = text.value; filters.page = 0; draw(); });
  type.addEventListener('change', () => { filters.keyType = type.value; filters.page = 0; draw(); });
  cls.addEventListener('change', () => { filters.cls = cls.value; filters.page = 0; draw(); });
  const filterBar = h('form', { class: 'row filters', role: 'search', 'aria-label': 'Filter keys', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
    field('Search', text), field('Key type', type), field('Class', cls));
  replace(ctx.main, heading('Keys'), generateForm(ctx), filterBar, list, detail);
  draw();
  if (selected) await open(decodeURIComponent(selected));
}

/** @param {HTMLElement} list @param {any[]} shown @param {(id: string) => Promise<void>} open */
function drawList(list, shown, open) {
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  filters.page = Math.min(filters.page, pages - 1);
  const slice = shown.slice(filters.page * PAGE_SIZE, (filters.page + 1) * PAGE_SIZE);
  const go = (/** @type {number} */ d) => { filters.page += d; drawList(list, shown, open); };
  replace(list,
    h('div', { class: 'scroll' }, h('table', { id: 'keys' },
      h('caption', {}, `${shown.length} key${shown.length === 1 ? '' : 's'}`),
      h('thead', {}, h('tr', {}, ['Label', 'Class', 'Type', 'Size', 'Usage', 'State', 'Owner', 'Shared with', 'Created'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, slice.map((k) => h('tr', { 'data-key': k.id },
        h('th', { scope: 'row' }, h('a', { href: `#/keys/${seg(k.id)}`, class: 'key-label', onclick: (/** @type {Event} */ e) => { e.preventDefault(); history.replaceState(null, '', `#/keys/${seg(k.id)}`); void open(k.id); } }, k.label || k.id)),
        h('td', {}, k.class), h('td', {}, k.keyType ?? ''), h('td', {}, k.size ?? ''), h('td', {}, (k.usage ?? []).join(', ')),
        h('td', { class: k.state && k.state !== 'enabled' ? 'error' : '' }, k.state ?? ''), h('td', {}, k.owner), h('td', {}, (k.sharedWith ?? []).join(', ')), h('td', {}, new Date(k.created).toLocaleString())))))),
    h('nav', { class: 'pager', 'aria-label': 'Key pages' },
      h('button', { type: 'button', id: 'prev-page', disabled: filters.page === 0, onclick: () => go(-1) }, 'Previous'),
      h('span', { id: 'page-of' }, `Page ${filters.page + 1} of ${pages}`),
      h('button', { type: 'button', id: 'next-page', disabled: filters.page >= pages - 1, onclick: () => go(1) }, 'Next')));
}

/** @param {import('./app.js').PageContext} ctx */
function generateForm(ctx) {
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card', id: 'generate-key', 'aria-labelledby': 'gen-title' },
    h('h2', { id: 'gen-title' }, 'Generate a key'),
    h('div', { class: 'row' },
      field('Type', select('type', ['aes', 'hmac', 'rsa', 'ec', 'ed25519'], 'aes')),
      field('Size', h('input', { name: 'size', inputmode: 'numeric', pattern: '[0-9]*', placeholder: 'default' }), 'AES and RSA: bits; HMAC: bytes'),
      field('Curve (EC)', select('curve', ['P-256', 'P-384', 'P-521', 'secp256k1'], 'P-256')),
      field('Label', h('input', { name: 'label', autocomplete: 'off', maxlength: 256 }))),
    h('fieldset', { class: 'row' }, h('legend', {}, 'Usage (none ticked: the defaults for the type)'),
      USAGES.map((u) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: `usage-${u}` }), u))),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'extractable' }), 'Extractable (may be wrapped out of the module)'),
    h('button', { type: 'submit' }, 'Generate')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = values(form);
    // With no usage ticked none is sent: the API's defaults by type apply, as for `inkan key generate`.
    const usage = USAGES.filter((u) => v[`usage-${u}`]);
    const body = { type: v.type, size: v.size ? Number(v.size) : undefined, curve: v.type === 'ec' ? v.curve : undefined, label: v.label || undefined,
      usage: usage.length ? usage : undefined, extractable: v.extractable ? true : undefined };
    try {
      const r = await request('POST', '/v1/keys', body);
      notify(`Generated ${r.key.label || r.key.id}.`);
      history.replaceState(null, '', `#/keys/${seg(r.key.id)}`);
      ctx.refresh();
    } catch (e) { fail(e); }
  });
  return form;
}
