// @ts-check
// Users (crypto officer): list, create with a role, change a role, lock, unlock, reset a password,
// delete (`inkan user create|role|lock|unlock|passwd|delete`).
import { ApiError, request, seg } from './api.js';
import { h, field, heading, notify, replace, select, values } from './dom.js';

/** @param {unknown} e */
const fail = (e) => notify(e instanceof ApiError ? e.message : String(e), 'error');

/** @param {import('./app.js').PageContext} ctx */
export async function usersPage(ctx) {
  const { users } = await request('GET', '/v1/users');
  const rows = users.map((/** @type {any} */ u) => userRow(ctx, u));
  const table = h('table', { id: 'users' },
    h('caption', {}, `${users.length} user${users.length === 1 ? '' : 's'} in partition ${ctx.session?.partition}`),
    h('thead', {}, h('tr', {}, ['User', 'Role', 'State', 'Failed logins', 'Created', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows));
  replace(ctx.main, heading('Users'), createForm(ctx), h('div', { class: 'scroll' }, table));
}

/** @param {import('./app.js').PageContext} ctx */
function createForm(ctx) {
  const password = /** @type {HTMLInputElement} */ (h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }));
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card row', id: 'create-user', 'aria-label': 'Create a user' },
    field('Username', h('input', { name: 'username', required: true, autocomplete: 'off', spellcheck: 'false' })),
    field('Role', select('role', ['user', 'officer', 'auditor'], 'user')),
    field('Password', password),
    h('button', { type: 'submit' }, 'Create user')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = values(form);
    password.value = '';
    try {
      await request('POST', '/v1/users', { username: v.username, role: v.role, password: v.password });
      notify(`Created ${v.role} ${v.username}.`);
      ctx.refresh();
    } catch (e) { fail(e); }
  });
  return form;
}

/** @param {import('./app.js').PageContext} ctx @param {any} u */
function userRow(ctx, u) {
  const me = u.username === ctx.session?.username;
  /** @param {string} label @param {() => Promise<unknown>} action @param {string} done @param {string} [confirmText] */
  const act = (label, action, done, confirmText) => h('button', {
    type: 'button', 'data-action': label.toLowerCase().split(' ')[0], 'aria-label': `${label} ${u.username}`,
    onclick: async () => {
      if (confirmText && !confirm(confirmText)) return;
      try { await action(); notify(done); ctx.refresh(); } catch (e) { fail(e); }
    },
  }, label);
  const reset = h('details', { class: 'inline' }, h('summary', {}, 'Reset password'), resetForm(ctx, u.username));
  return h('tr', { 'data-user': u.username },
    h('th', { scope: 'row' }, u.username), h('td', {}, u.role), h('td', { class: u.locked ? 'error' : '' }, u.locked ? 'locked' : 'active'),
    h('td', {}, String(u.failedLogins)), h('td', {}, new Date(u.created).toLocaleString()),
    h('td', { class: 'actions' },
      u.locked ? act('Unlock', () => request('POST', `/v1/users/${seg(u.username)}/unlock`, {}), `Unlocked ${u.username}.`)
        : me ? null : act('Lock', () => request('POST', `/v1/users/${seg(u.username)}/lock`, {}), `Locked ${u.username}; its sessions ended.`),
      me ? null : roleForm(ctx, u),
      reset,
      me ? null : act('Delete', () => request('DELETE', `/v1/users/${seg(u.username)}`), `Deleted ${u.username}.`, `Delete the user ${u.username}? Its keys stay, owned by nobody who can log in.`)));
}

/** @param {import('./app.js').PageContext} ctx @param {string} username */
function resetForm(ctx, username) {
  const pw = /** @type {HTMLInputElement} */ (h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }));
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'reset' }, field(`New password for ${username}`, pw), h('button', { type: 'submit' }, 'Set password')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const password = pw.value;
    pw.value = '';
    try {
      await request('POST', `/v1/users/${seg(username)}/password`, { password });
      notify(`Password of ${username} reset; its sessions ended.`);
      ctx.refresh();
    } catch (e) { fail(e); }
  });
  return form;
}

/** A new role for another user (its sessions end; nobody changes its own). @param {import('./app.js').PageContext} ctx @param {any} u */
function roleForm(ctx, u) {
  const id = `role-${u.username}`;
  const sel = /** @type {HTMLSelectElement} */ (select('role', ['user', 'officer', 'auditor'], u.role));
  sel.id = id;
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'role-form row' },
    h('label', { for: id, class: 'sr-only' }, `Role of ${u.username}`), sel,
    h('button', { type: 'submit', 'aria-label': `Change the role of ${u.username}` }, 'Change role')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const role = sel.value;
    if (role === u.role) { notify(`${u.username} is already ${role}.`); return; }
    if (!confirm(`Make ${u.username} ${role === 'user' ? 'a crypto user' : role === 'officer' ? 'a crypto officer' : 'an auditor'}? Its sessions end.`)) return;
    try {
      await request('POST', `/v1/users/${seg(u.username)}/role`, { role });
      notify(`${u.username} is now ${role}; its sessions ended.`);
      ctx.refresh();
    } catch (e) { fail(e); }
  });
  return form;
}
