// @ts-check
// Module: state, self-tests, the unseal progress with share entry (each custodian from their own
// browser: progress is the module's, so every page shows it), sealing (crypto officer), and the
// nodes sharing the module's store with their health (officers and auditors; `inkan cluster status`).
import { ApiError, request } from './api.js';
import { h, field, heading, notify, replace, values } from './dom.js';

const STATE_NAMES = { uninitialized: 'uninitialised', sealed: 'sealed', unsealed: 'unsealed', error: 'error' };

/** @param {any} st */
function stateOf(st) {
  if (st.state === 'error') return 'error';
  if (!st.initialized) return 'uninitialized';
  return st.sealed ? 'sealed' : 'unsealed';
}

/** @param {[string, any][]} rows */
const facts = (rows) => h('dl', { class: 'facts' }, rows.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));

/** @param {import('./app.js').PageContext} ctx @param {() => HTMLElement} signInForm */
export async function modulePage(ctx, signInForm) {
  const st = await request('GET', '/v1/status');
  const state = stateOf(st);
  const selfTests = st.selfTests ?? {};
  const parts = [
    heading('Module'),
    h('section', { class: 'card', 'aria-labelledby': 'state-title' },
      h('h2', { id: 'state-title' }, 'State'),
      h('p', { class: `state state-${state}`, id: 'module-state' }, STATE_NAMES[state]),
      st.problem ? h('p', { class: 'error', role: 'alert' }, st.problem) : null,
      facts([['Node', st.node], ['Key store', st.keystore], ['Domain', st.domain], ['Unseal shares', st.threshold ? `${st.threshold} of ${st.shares}` : undefined],
        ['Mechanisms', st.mechanisms], ['Audit records', st.audit?.records >= 0 ? st.audit.records : undefined], ['Audit write failures', st.audit?.writeFailures || undefined],
        ['Approved-only mode', st.approvedOnly === undefined ? undefined : st.approvedOnly ? 'on' : 'off']])),
    h('section', { class: 'card', 'aria-labelledby': 'selftest-title' },
      h('h2', { id: 'selftest-title' }, 'Self-tests'),
      h('p', { id: 'self-tests', class: selfTests.passed ? 'ok' : 'error' },
        selfTests.passed ? `All ${selfTests.count} power-up self-tests passed.` : `Failed: ${(selfTests.failed ?? []).join(', ') || 'not run'}`)),
  ];
  if (state === 'sealed') parts.push(unsealCard(ctx, st));
  if (state === 'unsealed' && !ctx.session) parts.push(signInForm());
  if (state === 'unsealed' && (ctx.session?.role === 'officer' || ctx.session?.role === 'auditor')) parts.push(await nodesCard());
  if (state === 'unsealed' && ctx.session?.role === 'officer') parts.push(sealCard(ctx));
  replace(ctx.main, ...parts);
}

/** @param {import('./app.js').PageContext} ctx @param {any} st */
function unsealCard(ctx, st) {
  const progress = h('progress', { id: 'unseal-progress', max: st.threshold ?? 1, value: st.unsealProgress ?? 0, 'aria-label': 'Unseal progress' });
  const count = h('p', { id: 'unseal-count', 'aria-live': 'polite' }, `${st.unsealProgress ?? 0} of ${st.threshold ?? '?'} shares given`);
  // A share is a secret: typed into a password field (not shown, not autofilled, not kept).
  const share = /** @type {HTMLInputElement} */ (h('input', { name: 'share', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' }));
  const form = /** @type {HTMLFormElement} */ (h('form', { id: 'unseal-form' }, field('Your unseal share', share, 'Each custodian enters their own share, from any browser.'), h('button', { type: 'submit' }, 'Give share')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = values(form);
    share.value = '';
    try {
      const r = await request('POST', '/v1/unseal', { share: v.share });
      notify(r.sealed ? `Share accepted: ${r.progress} of ${r.threshold}.` : 'The module is unsealed.');
    } catch (e) { notify(e instanceof ApiError ? e.message : String(e), 'error'); }
    ctx.refresh();
  });
  // Other custodians' shares move the same progress: follow it while the page shows it.
  const timer = setInterval(async () => {
    if (!progress.isConnected) { clearInterval(timer); return; }
    try {
      const now = await request('GET', '/v1/status');
      if (!now.sealed || now.state === 'error') { clearInterval(timer); ctx.refresh(); return; }
      /** @type {HTMLProgressElement} */ (progress).value = now.unsealProgress ?? 0;
      count.textContent = `${now.unsealProgress ?? 0} of ${now.threshold ?? '?'} shares given`;
    } catch { /* the next tick tries again */ }
  }, 3000);
  return h('section', { class: 'card', 'aria-labelledby': 'unseal-title' }, h('h2', { id: 'unseal-title' }, 'Unseal'), progress, count, form);
}

/** @param {import('./app.js').PageContext} ctx */
function sealCard(ctx) {
  const btn = h('button', { type: 'button', class: 'danger', id: 'seal' }, 'Seal the module');
  btn.addEventListener('click', async () => {
    if (!confirm('Seal the module? Every key leaves memory and every session ends; the custodians must unseal it again.')) return;
    try {
      await request('POST', '/v1/seal', {});
      await ctx.signOut('The module is sealed; every session was ended.');
    } catch (e) { notify(e instanceof ApiError ? e.message : String(e), 'error'); }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'seal-title' }, h('h2', { id: 'seal-title' }, 'Seal'),
    h('p', {}, 'Sealing drops every key from memory until the custodians give their shares again.'), btn);
}

/** @param {any} n one node of GET /v1/cluster */
const nodeRow = (n) => h('tr', { 'data-node': n.node, class: n.alive && n.mac !== 'bad' ? '' : 'failure' },
  h('th', { scope: 'row' }, n.node, n.self ? ' (this node)' : ''), h('td', {}, n.address), h('td', {}, n.state),
  h('td', { class: n.alive ? 'ok' : 'error' }, n.alive ? 'alive' : 'not answering'),
  h('td', { class: n.mac === 'ok' ? '' : 'error' }, n.mac === 'ok' ? 'ok' : n.mac === 'unsigned' ? 'unsigned (sealed)' : 'BAD'),
  h('td', {}, `${(n.heartbeatAgeMs / 1000).toFixed(1)} s ago`), h('td', {}, `${n.opsPerSec}/s`), h('td', {}, n.version), h('td', {}, n.leader ? 'leader' : ''));

/** The node list with each node's health, kept current while the page shows it. */
async function nodesCard() {
  const body = h('tbody', {});
  const caption = h('caption', {}, '');
  const fill = (/** @type {any} */ c) => {
    caption.textContent = `${c.nodes.length} node${c.nodes.length === 1 ? '' : 's'} on the ${c.keystore} key store, ${c.nodes.filter((/** @type {any} */ n) => n.alive).length} alive`;
    replace(body, c.nodes.map(nodeRow));
  };
  const table = h('table', { id: 'nodes' }, caption,
    h('thead', {}, h('tr', {}, ['Node', 'Address', 'State', 'Health', 'Heartbeat MAC', 'Last heartbeat', 'Operations', 'Version', 'Leader'].map((t) => h('th', { scope: 'col' }, t)))), body);
  try { fill(await request('GET', '/v1/cluster')); } catch (e) { replace(body, h('tr', {}, h('td', { colspan: 9, class: 'error' }, e instanceof ApiError ? e.message : String(e)))); }
  const timer = setInterval(async () => {
    if (!table.isConnected) { clearInterval(timer); return; }
    try { fill(await request('GET', '/v1/cluster', undefined, { quiet: true })); } catch { /* the next tick tries again */ }
  }, 5000);
  return h('section', { class: 'card', 'aria-labelledby': 'nodes-title' }, h('h2', { id: 'nodes-title' }, 'Nodes'), h('div', { class: 'scroll' }, table));
}
