// @ts-check
// Keys (crypto user): the list (filtered and paged in the page, so thousands of keys stay fast:
// only one page of rows is ever in the DOM), a key's detail, generate, share and unshare, delete,
// and the public key as a PEM download. Exported key material is never asked for or shown.
import { ApiError, request, seg } from './api.js';
import { download, h, field, heading, notify, replace, select, values } from './dom.js';

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

/** @param {import('./app.js').PageContext} ctx */
export async function keysPage(ctx) {
  const { keys } = await request('GET', '/v1/keys');
  const selected = (location.hash.match(/^#\/keys\/(.+)$/) ?? [])[1];
  const list = h('div', { id: 'key-list' });
  const detail = h('section', { id: 'key-detail', class: 'card', 'aria-live': 'polite', hidden: !selected });
  const draw = () => drawList(ctx, list, keys.filter(matches), detail);
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
  if (selected) await showDetail(ctx, detail, decodeURIComponent(selected));
}

/** @param {import('./app.js').PageContext} ctx @param {HTMLElement} list @param {any[]} shown @param {HTMLElement} detail */
function drawList(ctx, list, shown, detail) {
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  filters.page = Math.min(filters.page, pages - 1);
  const slice = shown.slice(filters.page * PAGE_SIZE, (filters.page + 1) * PAGE_SIZE);
  const go = (/** @type {number} */ d) => { filters.page += d; drawList(ctx, list, shown, detail); };
  replace(list,
    h('div', { class: 'scroll' }, h('table', { id: 'keys' },
      h('caption', {}, `${shown.length} key${shown.length === 1 ? '' : 's'}`),
      h('thead', {}, h('tr', {}, ['Label', 'Class', 'Type', 'Size', 'Usage', 'Owner', 'Shared with', 'Created'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, slice.map((k) => h('tr', { 'data-key': k.id },
        h('th', { scope: 'row' }, h('a', { href: `#/keys/${seg(k.id)}`, class: 'key-label', onclick: (/** @type {Event} */ e) => { e.preventDefault(); history.replaceState(null, '', `#/keys/${seg(k.id)}`); void showDetail(ctx, detail, k.id); } }, k.label || k.id)),
        h('td', {}, k.class), h('td', {}, k.keyType ?? ''), h('td', {}, k.size ?? ''), h('td', {}, (k.usage ?? []).join(', ')),
        h('td', {}, k.owner), h('td', {}, (k.sharedWith ?? []).join(', ')), h('td', {}, new Date(k.created).toLocaleString())))))),
    h('nav', { class: 'pager', 'aria-label': 'Key pages' },
      h('button', { type: 'button', id: 'prev-page', disabled: filters.page === 0, onclick: () => go(-1) }, 'Previous'),
      h('span', { id: 'page-of' }, `Page ${filters.page + 1} of ${pages}`),
      h('button', { type: 'button', id: 'next-page', disabled: filters.page >= pages - 1, onclick: () => go(1) }, 'Next')));
}

/** @param {import('./app.js').PageContext} ctx @param {HTMLElement} detail @param {string} ref */
async function showDetail(ctx, detail, ref) {
  let key;
  try { ({ key } = await request('GET', `/v1/keys/${seg(ref)}`)); } catch (e) { fail(e); return; }
  const shareUser = /** @type {HTMLInputElement} */ (h('input', { name: 'user', required: true, autocomplete: 'off', spellcheck: 'false' }));
  const shareForm = /** @type {HTMLFormElement} */ (h('form', { class: 'row', id: 'share-form' }, field('Share with crypto user', shareUser), h('button', { type: 'submit' }, 'Share')));
  shareForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await request('POST', `/v1/keys/${seg(key.id)}/share`, { user: shareUser.value }); notify(`Shared with ${shareUser.value}.`); await showDetail(ctx, detail, key.id); } catch (e) { fail(e); }
  });
  const asymmetric = key.class !== 'secret-key';
  const rows = Object.entries(key).map(([k, v]) => [h('dt', {}, k), h('dd', {}, Array.isArray(v) ? v.join(', ') || '-' : v === undefined ? '-' : String(v))]);
  replace(detail,
    h('h2', { id: 'detail-title' }, `Key ${key.label || key.id}`),
    h('dl', { class: 'facts' }, rows),
    h('h3', {}, 'Shared with'),
    key.sharedWith.length ? h('ul', { id: 'shared-with' }, key.sharedWith.map((/** @type {string} */ u) => h('li', {}, u, ' ',
      h('button', { type: 'button', class: 'link', 'aria-label': `Stop sharing with ${u}`, onclick: async () => {
        try { await request('POST', `/v1/keys/${seg(key.id)}/unshare`, { user: u }); notify(`No longer shared with ${u}.`); await showDetail(ctx, detail, key.id); } catch (e) { fail(e); }
      } }, 'Unshare')))) : h('p', { id: 'shared-with' }, 'Nobody.'),
    key.owner === ctx.session?.username ? shareForm : null,
    h('div', { class: 'row' },
      asymmetric ? h('button', { type: 'button', id: 'download-public', onclick: async () => {
        try { const { pem } = await request('GET', `/v1/keys/${seg(key.id)}/public`); download(`${(key.label || key.id).replace(/[^A-Za-z0-9._-]/g, '_')}.pub.pem`, pem, 'application/x-pem-file'); } catch (e) { fail(e); }
      } }, 'Download public key (PEM)') : null,
      key.owner === ctx.session?.username ? h('button', { type: 'button', class: 'danger', id: 'delete-key', onclick: async () => {
        if (!confirm(`Delete the key ${key.label || key.id}${asymmetric ? ' and its pair' : ''}? This cannot be undone.`)) return;
        try { await request('DELETE', `/v1/keys/${seg(key.id)}`); notify(`Deleted ${key.label || key.id}.`); history.replaceState(null, '', '#/keys'); ctx.refresh(); } catch (e) { fail(e); }
      } }, 'Delete key') : null));
  detail.hidden = false;
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
