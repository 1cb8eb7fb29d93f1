// The web console's part of the admin listener (docs/console.md): GET / redirects to /ui/; /ui/
// serves the console's static files (src/console/, hand-written ES modules, read once into
// memory) with a strict Content-Security-Policy and the other security headers; /ui/session signs
// in (a cookie session in the admin session table), tells the page who is signed in and its CSRF
// token, and signs out. Everything else the page does is the admin API (/v1), the CLI's API.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HsmError, toHsmError } from '../../../errors/hsm-error';
import type { Hsm } from '../../../core/hsm';
import type { Logger } from '../../../logger';
import type { BodyBudget } from '../../body-budget';
import { readJson, str } from '../http-util';
import { requestSource } from '../../forwarded';
import { AdminSessions, SESSION_IDLE_MS } from '../sessions';
import { ConsoleCookies, isTls } from './cookies';

export const CONSOLE_PATH = '/ui/';
/** Sign-in bodies are a username, a password and a partition. */
const MAX_SIGN_IN_BODY = 4096;
/** The console's files are a few dozen KiB; this bounds what is held in memory. */
const MAX_ASSETS_BYTES = 2 * 1024 * 1024;
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml',
};

/** No inline script or style, nothing from anywhere but this origin, no framing, no plugins. */
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function securityHeaders(res: ServerResponse, tls: boolean): void {
  res.setHeader('content-security-policy', CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  res.setHeader('permissions-policy', 'camera=(), microphone=(), geolocation=(), usb=(), payment=(), clipboard-read=()');
  res.setHeader('cache-control', 'no-store');
  if (tls) res.setHeader('strict-transport-security', 'max-age=31536000');
}

interface Asset { body: Buffer; type: string }

/** Where the console's files are: src/console/ of the package (this file runs from dist/src/…). */
export function findAssetDir(from = __dirname): string | undefined {
  for (let dir = from, i = 0; i < 8; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'src', 'console');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
  }
  return undefined;
}

function loadAssets(dir: string | undefined): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!dir) return assets;
  let total = 0;
  for (const name of fs.readdirSync(dir).sort()) {
    if (!ASSET_NAME.test(name)) continue;
    const body = fs.readFileSync(path.join(dir, name));
    total += body.length;
    if (total > MAX_ASSETS_BYTES) throw new Error(`the console's files in ${dir} exceed ${MAX_ASSETS_BYTES} bytes`);
    assets.set(name, { body, type: TYPES[name.slice(name.lastIndexOf('.') + 1)] });
  }
  return assets;
}

export interface ConsoleUi {
  handles(pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function createConsoleUi(hsm: Hsm, sessions: AdminSessions, cookies: ConsoleCookies, log: Logger, bodies: BodyBudget, assetDir = findAssetDir()): ConsoleUi {
  let assets: Map<string, Asset> | undefined;
  const asset = (name: string) => (assets ??= loadAssets(assetDir)).get(name);

  function json(res: ServerResponse, status: number, body: unknown, cookie?: string): void {
    const text = JSON.stringify(body);
    if (cookie) res.setHeader('set-cookie', cookie);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function session(req: IncomingMessage, res: ServerResponse, tls: boolean): Promise<number> {
    const token = cookies.token(req);
    const who = (p: { username: string; role: string; partition: string }, t: string) => ({
      username: p.username, role: p.role, partition: p.partition, csrf: cookies.csrfOf(t), idleSeconds: SESSION_IDLE_MS / 1000,
    });
    if (req.method === 'GET') {
      if (!token) throw new HsmError('AUTH_REQUIRED');
      cookies.check(req, token);
      hsm.requireUnsealed();
      json(res, 200, who(sessions.principal(token), token));
      return 200;
    }
    if (req.method === 'POST') {
      // Checked before a byte of the body is read; the body is small and charged to the budget.
      cookies.checkSignIn(req);
      hsm.requireUnsealed();
      const hold = bodies.hold(undefined);
      res.once('close', () => hold.release());
      const body = await readJson(req, MAX_SIGN_IN_BODY, { hold });
      const partition = str(body, 'partition', false) || 'default';
      const principal = await hsm.login(str(body, 'username')!, str(body, 'password')!, 'admin', { partition: await hsm.partitions.idOf(partition), source: requestSource(req) });
      if (token) sessions.close(token);
      const opened = sessions.open(principal);
      json(res, 200, who(principal, opened.token), cookies.set(opened.token, tls));
      return 200;
    }
    if (req.method === 'DELETE') {
      if (token) { cookies.check(req, token); sessions.close(token); }
      json(res, 200, { signedOut: true }, cookies.clear(tls));
      return 200;
    }
    throw new HsmError('METHOD_NOT_ALLOWED');
  }

  return {
    handles: (p) => p === '/' || p === '/ui' || p.startsWith('/ui/'),
    async handle(req, res) {
      const started = Date.now();
      const p = (req.url ?? '/').split('?')[0];
      const tls = isTls(req);
      securityHeaders(res, tls);
      let status = 200;
      try {
        if (p === '/ui/session') {
          status = await session(req, res, tls);
        } else {
          if (req.method !== 'GET' && req.method !== 'HEAD') throw new HsmError('METHOD_NOT_ALLOWED');
          if (p === '/' || p === '/ui') {
            status = 302;
            res.writeHead(302, { location: CONSOLE_PATH, 'content-length': 0 });
            res.end();
          } else {
            const a = asset(p === CONSOLE_PATH ? 'index.html' : p.slice(CONSOLE_PATH.length));
            if (!a) throw new HsmError('NO_SUCH_ROUTE', 'no such console page');
            res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length });
            res.end(req.method === 'HEAD' ? undefined : a.body);
          }
        }
      } catch (err) {
        const e = toHsmError(err);
        if (!(err instanceof HsmError)) log.error('internal error', { path: p.slice(0, 200), error: (err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') });
        status = e.status;
        if (!req.complete) res.setHeader('connection', 'close');
        if (!res.headersSent) json(res, e.status, { error: { code: e.code, message: e.message } }); else res.destroy();
      }
      if (p === '/ui/session') log.info('admin request', { method: req.method, path: p, status, ms: Date.now() - started });
    },
  };
}
