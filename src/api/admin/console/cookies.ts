// The console's cookie session: the same admin session token as a bearer login (one table, one
// set of limits: src/api/admin/sessions.ts), carried in an HttpOnly, SameSite=Strict cookie
// (Secure, and named with the __Host- prefix, when the listener has TLS), plus the CSRF check every
// state-changing cookie request must pass: an X-Inkan-CSRF header holding HMAC(process key, token).
// The page learns that value from GET /ui/session (same-origin only: no CORS is ever answered), a
// forged cross-site request cannot know it, and a custom header cannot be sent cross-site without
// a preflight nobody answers. Fetch metadata (Sec-Fetch-Site) other than same-origin is refused too.
import type { IncomingMessage } from 'node:http';
import * as c from '../../../crypto/node-crypto';
import { HsmError } from '../../../errors/hsm-error';
import { requestOverTls } from '../../forwarded';

export const CSRF_HEADER = 'x-inkan-csrf';
/** What the sign-in request carries in CSRF_HEADER (there is no session yet to derive a token from). */
export const LOGIN_CSRF = 'sign-in';
/** A session token is 32 random bytes in base64url (sessions.ts). */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function isTls(req: IncomingMessage): boolean {
  return requestOverTls(req);
}

/** __Host- needs Secure, so plain-HTTP (loopback-only) listeners use the bare name. */
export function cookieName(tls: boolean): string {
  return tls ? '__Host-inkan_session' : 'inkan_session';
}

export class ConsoleCookies {
  /** Per process, like the session table itself: a restart ends sessions and their CSRF tokens together. */
  private readonly key = c.randomBytes(32);

  csrfOf(token: string): string {
    return c.hmac('sha256', this.key, Buffer.from(`inkan-console-csrf\0${token}`)).toString('base64url');
  }

  /** The session token in the request's cookie, '' if there is none, it is malformed, or there are
   *  two: cookies are not scoped by port, so another web server on the same host could plant a
   *  second one (a more specific Path is sent first) to fix its own session on the console's
   *  requests. Over TLS the __Host- prefix already forbids that; on loopback HTTP neither is used. */
  token(req: IncomingMessage): string {
    const header = req.headers.cookie;
    if (typeof header !== 'string') return '';
    const name = cookieName(isTls(req));
    let found: string | undefined;
    for (const part of header.split(';', 64)) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      if (found !== undefined) return '';
      found = part.slice(eq + 1).trim();
    }
    return found !== undefined && TOKEN.test(found) ? found : '';
  }

  /** Throws CSRF_REJECTED unless a cookie-authenticated request may go on: safe methods always
   *  may (SameSite=Strict keeps the cookie off cross-site requests); others need the header. */
  check(req: IncomingMessage, token: string): void {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') throw new HsmError('CSRF_REJECTED');
    if (SAFE_METHODS.has(req.method ?? 'GET')) return;
    const given = req.headers[CSRF_HEADER];
    if (typeof given !== 'string' || !c.timingSafeEqual(Buffer.from(given), Buffer.from(this.csrfOf(token)))) throw new HsmError('CSRF_REJECTED');
  }

  /** The sign-in request: no session yet, so it carries LOGIN_CSRF, which forces a CORS preflight on
   *  any cross-site attempt (login CSRF), and JSON. */
  checkSignIn(req: IncomingMessage): void {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') throw new HsmError('CSRF_REJECTED');
    if (req.headers[CSRF_HEADER] !== LOGIN_CSRF) throw new HsmError('CSRF_REJECTED');
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) throw new HsmError('BAD_REQUEST', 'the sign-in body must be JSON (content-type application/json)');
  }

  /** No Max-Age: the cookie ends with the browser; the server's idle and absolute timeouts end the session. */
  set(token: string, tls: boolean): string {
    return `${cookieName(tls)}=${token}; Path=/; HttpOnly; SameSite=Strict${tls ? '; Secure' : ''}`;
  }

  clear(tls: boolean): string {
    return `${cookieName(tls)}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${tls ? '; Secure' : ''}`;
  }
}
