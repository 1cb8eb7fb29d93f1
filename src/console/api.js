// @ts-check
// The console's one way to the module: the admin API (/v1, the CLI's API) and /ui/session, with
// the session in an HttpOnly cookie the page cannot read, and the CSRF token (from /ui/session)
// in the X-Inkan-CSRF header of every request that changes something.

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

/** Codes after which the session is gone and the user must sign in again. */
export const SIGNED_OUT = new Set(['AUTH_REQUIRED', 'SESSION_EXPIRED', 'SESSION_REVOKED']);

/** @type {{ csrf: string, onSignedOut: (e: ApiError) => void }} */
const state = { csrf: '', onSignedOut: () => {} };

/** @param {(e: ApiError) => void} fn */
export function onSignedOut(fn) { state.onSignedOut = fn; }
/** @param {string} t */
export function setCsrf(t) { state.csrf = t; }

/**
 * @param {string} method @param {string} path @param {any} [body]
 * @param {{ raw?: boolean, quiet?: boolean }} [opts] raw: answer the text; quiet: do not report a lost session
 * @returns {Promise<any>}
 */
export async function request(method, path, body, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['x-inkan-csrf'] = path === '/ui/session' && method === 'POST' ? 'sign-in' : state.csrf;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
  } catch {
    throw new ApiError(0, 'UNREACHABLE', 'the module did not answer');
  }
  if (res.ok) return opts.raw ? res.text() : res.json();
  let code = 'HTTP_' + res.status;
  let message = res.statusText;
  try { const e = (await res.json()).error; code = e.code; message = e.message; } catch { /* not JSON */ }
  const err = new ApiError(res.status, code, message);
  if (SIGNED_OUT.has(code) && !opts.quiet) state.onSignedOut(err);
  throw err;
}

/** A path segment (a key id or label, a username). @param {string} s */
export const seg = (s) => encodeURIComponent(s);
