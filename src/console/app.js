// @ts-check
// The console's shell: who is signed in, the pages each role may see, hash routing, the idle
// timeout and sign-out. Pages are in page-*.js; every one talks to the module through api.js only.
import { ApiError, onSignedOut, request, setCsrf } from './api.js';
import { h, field, heading, notify, replace, values } from './dom.js';
import { modulePage } from './page-module.js';
import { usersPage } from './page-users.js';
import { keysPage } from './page-keys.js';
import { auditPage } from './page-audit.js';
import { activityPage } from './page-activity.js';
import { quorumPage } from './page-quorum.js';

/** @typedef {{ username: string, role: 'officer'|'user'|'auditor', partition: string, csrf: string, idleSeconds: number }} Session */
/** @typedef {{ session: Session | null, main: HTMLElement, refresh: () => void, signOut: (why?: string) => Promise<void> }} PageContext */

/** Pages: who may see each (the API refuses the others anyway; this only keeps the menu honest). */
const PAGES = [
  { path: 'module', title: 'Module', roles: ['officer', 'user', 'auditor'], render: modulePage },
  { path: 'users', title: 'Users', roles: ['officer'], render: usersPage },
  { path: 'keys', title: 'Keys', roles: ['user'], render: keysPage },
  { path: 'quorum', title: 'Quorum', roles: ['officer', 'user'], render: quorumPage },
  { path: 'audit', title: 'Audit', roles: ['auditor'], render: auditPage },
  { path: 'activity', title: 'Activity', roles: ['officer', 'user', 'auditor'], render: activityPage },
];
/** @type {Record<string, string>} */
const ROLE_NAMES = { officer: 'crypto officer', user: 'crypto user', auditor: 'auditor' };

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));

/** @type {Session | null} */
let session = null;
let lastActivity = Date.now();
/** @type {ReturnType<typeof setInterval> | undefined} */
let idleTimer;

/** The idle timeout counts the user's own input only (the module's timer counts requests, so it is never shorter). */
for (const ev of ['pointerdown', 'keydown', 'wheel']) document.addEventListener(ev, () => { lastActivity = Date.now(); }, { passive: true, capture: true });

function startIdleWatch() {
  clearInterval(idleTimer);
  lastActivity = Date.now();
  idleTimer = setInterval(() => {
    if (session && Date.now() - lastActivity >= session.idleSeconds * 1000) {
      void signOut(`Signed out after ${Math.round(session.idleSeconds / 60)} minutes without activity.`);
    }
  }, 1000);
}

/** @param {string} [why] */
async function signOut(why) {
  clearInterval(idleTimer);
  const had = session;
  session = null;
  if (had) await request('DELETE', '/ui/session', undefined, { quiet: true }).catch(() => {});
  setCsrf('');
  renderChrome();
  notify(why ?? 'Signed out.');
  location.hash = '#/module';
  show();
}

onSignedOut((e) => {
  if (!session) return;
  session = null;
  clearInterval(idleTimer);
  renderChrome();
  notify(`${e.message}. Sign in again.`, 'error');
  show();
});

function renderChrome() {
  const s = session;
  replace(nav, s ? PAGES.filter((p) => p.roles.includes(s.role)).map((p) => h('a', { href: `#/${p.path}`, 'data-page': p.path }, p.title)) : []);
  replace(who, session
    ? [h('span', { class: 'user' }, `${session.username} · ${ROLE_NAMES[session.role] ?? session.role}${session.partition !== 'default' ? ` · ${session.partition}` : ''}`),
      h('button', { type: 'button', class: 'link', id: 'sign-out', onclick: () => signOut() }, 'Sign out')]
    : []);
}

/** The sign-in form. Passwords are typed, never echoed back, and cleared from the form once sent. */
function signInForm() {
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card narrow', id: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h2', { id: 'sign-in-title' }, 'Sign in'),
    field('Username', h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false' })),
    field('Password', password),
    field('Partition', h('input', { name: 'partition', placeholder: 'default', autocomplete: 'off' }), 'Leave empty for the default partition.'),
    h('button', { type: 'submit' }, 'Sign in')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = values(form);
    /** @type {HTMLInputElement} */ (password).value = '';
    try {
      // The partition goes in the body only when one is typed: empty means the module's default.
      const partition = (v.partition ?? '').trim();
      session = await request('POST', '/ui/session', { username: v.username, password: v.password, ...(partition ? { partition } : {}) });
      setCsrf(/** @type {Session} */ (session).csrf);
      startIdleWatch();
      renderChrome();
      notify(`Signed in as ${v.username}.`);
      show();
    } catch (e) {
      notify(e instanceof ApiError ? e.message : String(e), 'error');
    }
  });
  return form;
}

let shown = 0;
let lastPath = '';
function show() {
  const n = ++shown;
  const wanted = (location.hash.match(/^#\/([a-z]+)/) ?? [])[1] ?? 'module';
  const page = PAGES.find((p) => p.path === wanted) ?? PAGES[0];
  for (const a of nav.querySelectorAll('a')) a.toggleAttribute('aria-current', a.getAttribute('data-page') === page.path);
  /** @type {PageContext} */
  const ctx = { session, main, refresh: () => { if (n === shown) show(); }, signOut };
  main.replaceChildren();
  if (page.path !== 'module') {
    if (!session) { replace(main, heading(page.title), signInForm()); return; }
    if (!page.roles.includes(session.role)) {
      replace(main, heading(page.title), h('p', { class: 'refused', role: 'alert' }, `This page is for the ${page.roles.map((r) => ROLE_NAMES[r]).join(' or ')} role; you are signed in as a ${ROLE_NAMES[session.role]}.`));
      return;
    }
  }
  // A new page moves the focus to its heading (keyboard and screen-reader users land there); a
  // page redrawn after an action leaves the focus alone.
  const moved = page.path !== lastPath;
  lastPath = page.path;
  void page.render(ctx, signInForm).then(() => {
    const t = main.querySelector('.page-title');
    if (t instanceof HTMLElement && (moved || document.activeElement === document.body)) t.focus();
  }).catch((e) => { if (!(e instanceof ApiError && e.code in { AUTH_REQUIRED: 1, SESSION_EXPIRED: 1, SESSION_REVOKED: 1 })) notify(e.message ?? String(e), 'error'); });
}

window.addEventListener('hashchange', () => show());

async function boot() {
  try {
    const s = await request('GET', '/ui/session', undefined, { quiet: true });
    session = s;
    setCsrf(s.csrf);
    startIdleWatch();
  } catch { session = null; }
  renderChrome();
  show();
}
void boot();
