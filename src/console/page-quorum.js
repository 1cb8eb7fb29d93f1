// @ts-check
// Quorum (crypto officers; crypto users for key-use tokens): the partition's quorum values, the
// open tokens, one token in full exactly as `inkan quorum show <token>` prints it, and Approve as
// `inkan quorum approve`: the approver's private key file is read in the page only (never sent),
// imported into WebCrypto non-extractable, and signs the token's canonical bytes only after they
// are checked to be the encoding of the fields shown. Only the signature is posted.
import { ApiError, request, seg } from './api.js';
import { h, field, heading, notify, replace } from './dom.js';
import { canonicalBytes, describeView, fromBase64, importSigningKey, sameBytes, signBytes } from './quorum-token.js';

/** @param {unknown} e */
const fail = (e) => notify(e instanceof ApiError ? e.message : String(e), 'error');

/** Clear words for the refusals an approver can meet. @type {Record<string, string>} */
const REFUSALS = {
  QUORUM_SIGNATURE_INVALID: 'The signature does not verify with your registered signing key: that key file is not yours (or your key was replaced). Not approved.',
  QUORUM_NO_SIGNING_KEY: 'You have no registered signing key (inkan user keygen, then inkan user register-key). Not approved.',
  QUORUM_SELF_APPROVAL: 'You requested this token: the requester counts once already and may not also sign it.',
  QUORUM_DUPLICATE_APPROVAL: 'You have already approved this token.',
  QUORUM_NOT_APPROVER: 'You are not entitled to approve this token.',
};

/** @param {import('./app.js').PageContext} ctx */
export async function quorumPage(ctx) {
  const wanted = (location.hash.match(/^#\/quorum\/([A-Za-z0-9_-]+)/) ?? [])[1];
  const [{ tokens }, values] = await Promise.all([
    request('GET', '/v1/quorum/tokens'),
    ctx.session?.role === 'officer' ? request('GET', '/v1/quorum').then((r) => r.values) : Promise.resolve(undefined),
  ]);
  const table = h('table', { id: 'tokens' },
    h('caption', {}, `${tokens.length} open token${tokens.length === 1 ? '' : 's'} in partition ${ctx.session?.partition}`),
    h('thead', {}, h('tr', {}, ['Token', 'Operation', 'Arguments', 'Requester', 'Partition', 'Expires', 'Approvals'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, tokens.map((/** @type {any} */ t) => h('tr', { 'data-token': t.body.id },
      h('th', { scope: 'row' }, h('a', { href: `#/quorum/${t.body.id}` }, t.body.id.slice(0, 12))),
      h('td', {}, t.body.operation), h('td', { class: 'mono' }, JSON.stringify(t.body.args)), h('td', {}, t.body.requester.username),
      h('td', {}, t.body.partition), h('td', {}, t.body.expires), h('td', { class: 'approvals' }, `${t.count} / ${t.required}`)))));
  const detail = wanted ? await tokenDetail(ctx, wanted) : null;
  replace(ctx.main, heading('Quorum'),
    values ? h('p', { id: 'quorum-values' }, Object.entries(values).map(([k, v]) => `${k} ${v}`).join(' · ')) : null,
    detail, h('div', { class: 'scroll' }, table));
}

/** One token in full, and Approve. @param {import('./app.js').PageContext} ctx @param {string} id */
async function tokenDetail(ctx, id) {
  /** @type {any} */
  let t;
  try { t = await request('GET', `/v1/quorum/tokens/${seg(id)}`); } catch (e) { fail(e); return null; }
  const file = /** @type {HTMLInputElement} */ (h('input', { type: 'file', name: 'key', accept: '.key,.pem,text/plain', required: true }));
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card row', id: 'approve-token', 'aria-label': 'Approve this token' },
    field('Your private signing key', file, 'PEM (inkan user keygen). Read in this page only; it is never sent.'),
    h('button', { type: 'submit' }, 'Approve')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    file.value = '';
    if (!f) { notify('Pick your private key file.', 'error'); return; }
    try {
      // Sign what is shown: the server's canonical bytes must be exactly those of the body shown.
      const bytes = canonicalBytes(t.body);
      if (!sameBytes(bytes, fromBase64(t.canonical))) { notify('The server\'s canonical bytes do not match the token it shows: not signed.', 'error'); return; }
      if (f.size > 16384) { notify('That file is not a signing key (too large). Not approved.', 'error'); return; }
      const key = await importSigningKey(await f.text());
      if (!key) { notify('That file is not a PEM Ed25519 or P-256 private key (inkan user keygen). Not approved.', 'error'); return; }
      if (!confirm(`Approve exactly this?\n\n${describeView(t)}`)) return;
      const signature = await signBytes(key, bytes);
      const r = await request('POST', `/v1/quorum/tokens/${seg(t.body.id)}/approve`, { signature });
      notify(`Approved: ${r.count} of ${r.required}.`);
      ctx.refresh();
    } catch (e) {
      if (e instanceof ApiError && REFUSALS[e.code]) notify(REFUSALS[e.code], 'error');
      else fail(e);
    }
  });
  const mine = t.body.requester.username === ctx.session?.username;
  return h('section', { class: 'card', id: 'token-detail', 'aria-labelledby': 'token-title' },
    h('h2', { id: 'token-title' }, `Token ${t.body.operation}`),
    h('pre', { id: 'token-text', class: 'mono' }, describeView(t)),
    t.state === 'open' && !mine ? form : h('p', {}, mine ? 'You requested this token; other approvers sign it.' : `This token is ${t.state}.`));
}
