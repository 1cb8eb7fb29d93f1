// @ts-check
// One key's detail on the Keys page: its attributes, state and lifecycle (enable / disable, rotate,
// schedule deletion and cancel it: `inkan key enable|disable|rotate|schedule-deletion|
// cancel-deletion`), its versions (`key versions`), use counts from the audit trail (`key usage`),
// who it is shared with (share / unshare), the public key as a PEM download and delete. Every
// button is one admin API call the CLI makes; the module decides who may do it.
import { ApiError, request, seg } from './api.js';
import { download, h, field, notify, replace } from './dom.js';

/** @param {unknown} e */
const fail = (e) => notify(e instanceof ApiError ? e.message : String(e), 'error');
/** @param {string | undefined} t */
const when = (t) => (t ? new Date(t).toLocaleString() : '-');

/** What each state lets the owner do next (core/managed-keys.ts refuses the rest anyway). */
const NEXT = {
  enabled: ['disable', 'rotate', 'schedule'],
  disabled: ['enable', 'schedule'],
  'pending-deletion': ['cancel'],
};

/**
 * @param {import('./app.js').PageContext} ctx @param {HTMLElement} detail @param {string} ref
 * @param {() => void} changed the key list is out of date (state, sharing, deletion)
 */
export async function showDetail(ctx, detail, ref, changed) {
  let key;
  try { ({ key } = await request('GET', `/v1/keys/${seg(ref)}`)); } catch (e) { fail(e); return; }
  const owner = key.owner === ctx.session?.username;
  const asymmetric = key.class !== 'secret-key';
  // A public half has no lifecycle of its own: its private half is the managed key.
  const managed = key.class !== 'public-key' && key.class !== 'certificate';
  const [versions, usage, lifecycle] = managed ? await Promise.all([
    request('GET', `/v1/keys/${seg(key.id)}/versions`).catch(() => undefined),
    request('GET', `/v1/keys/${seg(key.id)}/usage`).catch(() => undefined),
    request('GET', `/v1/keys/${seg(key.id)}/managed`).catch(() => undefined),
  ]) : [undefined, undefined, undefined];
  const again = async (/** @type {string} */ done) => { notify(done); changed(); await showDetail(ctx, detail, key.id, changed); };
  const name = key.label || key.id;
  const rows = Object.entries(key).map(([k, v]) => [h('dt', {}, k), h('dd', {}, Array.isArray(v) ? v.join(', ') || '-' : v === undefined ? '-' : String(v))]);
  replace(detail,
    h('h2', { id: 'detail-title' }, `Key ${name}`),
    h('dl', { class: 'facts' }, rows),
    managed && lifecycle ? lifecycleCard(lifecycle.key, owner, name, key.id, again) : null,
    versions ? versionsTable(versions) : null,
    usage ? usageCard(usage) : null,
    sharing(key, owner, again),
    h('div', { class: 'row' },
      asymmetric ? h('button', { type: 'button', id: 'download-public', onclick: async () => {
        try { const { pem } = await request('GET', `/v1/keys/${seg(key.id)}/public`); download(`${name.replace(/[^A-Za-z0-9._-]/g, '_')}.pub.pem`, pem, 'application/x-pem-file'); } catch (e) { fail(e); }
      } }, 'Download public key (PEM)') : null,
      owner ? h('button', { type: 'button', class: 'danger', id: 'delete-key', onclick: async () => {
        if (!confirm(`Delete the key ${name}${asymmetric ? ' and its pair' : ''} now? This cannot be undone (Schedule deletion waits and can be cancelled).`)) return;
        try { await request('DELETE', `/v1/keys/${seg(key.id)}`); notify(`Deleted ${name}.`); history.replaceState(null, '', '#/keys'); ctx.refresh(); } catch (e) { fail(e); }
      } }, 'Delete key now') : null));
  detail.hidden = false;
}

/**
 * State and the lifecycle buttons (owner only; others see the state).
 * @param {any} m the managed key (GET /v1/keys/:ref/managed) @param {boolean} owner @param {string} name @param {string} id
 * @param {(done: string) => Promise<void>} again
 */
function lifecycleCard(m, owner, name, id, again) {
  /** @type {string[]} */
  const next = owner ? (/** @type {Record<string, string[]>} */ (NEXT))[m.state] ?? [] : [];
  /** @param {string} path @param {any} body @param {string} done */
  const call = async (path, body, done) => { try { await request('POST', `/v1/keys/${seg(id)}/${path}`, body); await again(done); } catch (e) { fail(e); } };
  const days = /** @type {HTMLInputElement} */ (h('input', { name: 'days', type: 'number', min: 7, max: 30, value: 30, required: true, inputmode: 'numeric' }));
  const schedule = /** @type {HTMLFormElement} */ (h('form', { class: 'row', id: 'schedule-deletion' },
    field('Waiting period (days, 7 to 30)', days),
    h('button', { type: 'submit', class: 'danger' }, 'Schedule deletion')));
  schedule.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = Number(days.value);
    if (!confirm(`Schedule the deletion of ${name} in ${n} days? Every use is refused from now on; you can cancel until then.`)) return;
    void call('schedule-deletion', { days: n }, `Deletion of ${name} scheduled in ${n} days; every use is refused.`);
  });
  return h('section', { 'aria-labelledby': 'lifecycle-title' },
    h('h3', { id: 'lifecycle-title' }, 'State'),
    h('p', { id: 'key-state', class: m.state === 'enabled' ? 'ok' : 'error' }, m.state.replace('-', ' '),
      m.deletion ? ` — deleted on ${when(m.deletion.due)} unless cancelled` : ''),
    next.length ? h('div', { class: 'row', id: 'lifecycle' },
      next.includes('enable') ? h('button', { type: 'button', id: 'enable-key', onclick: () => call('enable', {}, `Enabled ${name}.`) }, 'Enable') : null,
      next.includes('disable') ? h('button', { type: 'button', id: 'disable-key', onclick: () => call('disable', {}, `Disabled ${name}: every use is refused.`) }, 'Disable') : null,
      next.includes('rotate') ? h('button', { type: 'button', id: 'rotate-key', onclick: () => {
        if (confirm(`Rotate ${name}? A new version signs and encrypts from now on; older versions still decrypt and verify.`)) void call('rotate', {}, `Rotated ${name}.`);
      } }, 'Rotate') : null,
      next.includes('cancel') ? h('button', { type: 'button', id: 'cancel-deletion', onclick: () => call('cancel-deletion', {}, `Deletion of ${name} cancelled; the key is disabled until you enable it.`) }, 'Cancel deletion') : null,
      next.includes('schedule') ? schedule : null) : null);
}

/** @param {any} v GET /v1/keys/:ref/versions */
function versionsTable(v) {
  return h('div', { class: 'scroll' }, h('table', { id: 'versions' },
    h('caption', {}, `${v.versions.length} version${v.versions.length === 1 ? '' : 's'} (the newest signs and encrypts)`),
    h('thead', {}, h('tr', {}, ['#', 'Version', 'Created', 'Origin', 'Enabled', 'Uses', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, v.versions.map((/** @type {any} */ x) => h('tr', {},
      h('th', { scope: 'row' }, String(x.index + 1)), h('td', { class: 'nowrap' }, x.id), h('td', {}, when(x.created)),
      h('td', {}, x.origin + (x.rotation ? ` (${x.rotation})` : '')), h('td', {}, x.enabled ? 'yes' : 'no'), h('td', {}, x.uses.join(', ')),
      h('td', {}, x.current ? 'current' : x.decrypts ? '' : 'retired'))))));
}

/** @param {any} u GET /v1/keys/:ref/usage */
function usageCard(u) {
  const ops = Object.entries(u.counts);
  return h('section', { 'aria-labelledby': 'usage-title' },
    h('h3', { id: 'usage-title' }, 'Usage'),
    h('dl', { class: 'facts', id: 'key-usage' },
      h('dt', {}, 'Uses'), h('dd', { id: 'use-total' }, String(u.total)),
      ops.map(([op, n]) => [h('dt', {}, op.replace(/^key\./, '')), h('dd', { 'data-op': op }, String(n))]),
      h('dt', {}, 'Last use'), h('dd', { id: 'last-use' }, u.last ? `${u.last.op.replace(/^key\./, '')} through ${u.last.face}, ${when(u.last.time)}` : 'never'),
      h('dt', {}, 'Counted since'), h('dd', {}, when(u.trackedSince))),
    h('small', {}, 'Counted from the audit trail: successful uses on every face.'));
}

/** @param {any} key @param {boolean} owner @param {(done: string) => Promise<void>} again */
function sharing(key, owner, again) {
  const shareUser = /** @type {HTMLInputElement} */ (h('input', { name: 'user', required: true, autocomplete: 'off', spellcheck: 'false' }));
  const shareForm = /** @type {HTMLFormElement} */ (h('form', { class: 'row', id: 'share-form' }, field('Share with crypto user', shareUser), h('button', { type: 'submit' }, 'Share')));
  shareForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await request('POST', `/v1/keys/${seg(key.id)}/share`, { user: shareUser.value }); await again(`Shared with ${shareUser.value}.`); } catch (e) { fail(e); }
  });
  return h('section', { 'aria-labelledby': 'shared-title' },
    h('h3', { id: 'shared-title' }, 'Shared with'),
    key.sharedWith.length ? h('ul', { id: 'shared-with' }, key.sharedWith.map((/** @type {string} */ u) => h('li', {}, u, ' ',
      owner ? h('button', { type: 'button', class: 'link', 'aria-label': `Stop sharing with ${u}`, onclick: async () => {
        try { await request('POST', `/v1/keys/${seg(key.id)}/unshare`, { user: u }); await again(`No longer shared with ${u}.`); } catch (e) { fail(e); }
      } }, 'Unshare') : null))) : h('p', { id: 'shared-with' }, 'Nobody.'),
    owner ? shareForm : null);
}
