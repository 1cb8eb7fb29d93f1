// The console's server side over real sockets, without a browser: the cookie session is the admin
// session table's (same per-user bound, same idle timeout, here on an injected clock), sign-in is
// checked before its body is read, every state-changing cookie request needs the CSRF token of
// its own session, bearer clients are unaffected, and over TLS the cookie is Secure and __Host-.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { devServer, freshModule, OFFICER_PASSWORD, TestModule, TestServer } from '../helpers/harness';
import { makeTestPki } from '../helpers/test-ca';
import { createAdminHandler } from '../../src/api/admin/server';
import { AdminSessions, MAX_PER_USER, SESSION_IDLE_MS } from '../../src/api/admin/sessions';
import { createLogger } from '../../src/logger';

let mod: TestModule;
let server: http.Server;
let url: string;
let now = Date.now();
const logs: string[] = [];

before(async () => {
  mod = await freshModule();
  const sessions = new AdminSessions(() => now);
  server = http.createServer(createAdminHandler(mod.hsm, createLogger((l) => logs.push(l)), sessions));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await mod.close();
});

interface Answer { status: number; body: any; headers: Headers }
async function call(method: string, p: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const r = await fetch(`${url}${p}`, { method, headers, body, redirect: 'manual' });
  const text = await r.text();
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return { status: r.status, body: parsed, headers: r.headers };
}

const SIGN_IN = { 'content-type': 'application/json', 'x-inkan-csrf': 'sign-in' };
async function signIn(username = 'officer', password = OFFICER_PASSWORD): Promise<{ cookie: string; csrf: string }> {
  const a = await call('POST', '/ui/session', SIGN_IN, JSON.stringify({ username, password }));
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const set = a.headers.get('set-cookie')!;
  return { cookie: set.split(';')[0], csrf: a.body.csrf };
}

test('sign-in sets an HttpOnly SameSite=Strict session cookie and answers who and the CSRF token, never the token itself', async () => {
  const a = await call('POST', '/ui/session', SIGN_IN, JSON.stringify({ username: 'officer', password: OFFICER_PASSWORD }));
  assert.equal(a.status, 200);
  const set = a.headers.get('set-cookie')!;
  assert.match(set, /^inkan_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
  assert.deepEqual(Object.keys(a.body).sort(), ['csrf', 'idleSeconds', 'partition', 'role', 'username']);
  assert.equal(a.body.role, 'officer');
  assert.equal(a.body.idleSeconds, SESSION_IDLE_MS / 1000);
  assert.ok(!JSON.stringify(a.body).includes(set.split(';')[0].split('=')[1]), 'the session token is only in the HttpOnly cookie');
  assert.ok(!logs.some((l) => l.includes(OFFICER_PASSWORD)), 'no password in the log');
  assert.match(a.headers.get('content-security-policy')!, /default-src 'self'/);
});

test('sign-in is refused before its body is read: no CSRF marker, not JSON, cross-site, too large, wrong password', async () => {
  const body = JSON.stringify({ username: 'officer', password: OFFICER_PASSWORD });
  assert.equal((await call('POST', '/ui/session', { 'content-type': 'application/json' }, body)).body.error.code, 'CSRF_REJECTED');
  assert.equal((await call('POST', '/ui/session', { ...SIGN_IN, 'sec-fetch-site': 'cross-site' }, body)).body.error.code, 'CSRF_REJECTED');
  assert.equal((await call('POST', '/ui/session', { ...SIGN_IN, 'content-type': 'text/plain' }, body)).body.error.code, 'BAD_REQUEST');
  const big = await call('POST', '/ui/session', SIGN_IN, JSON.stringify({ username: 'officer', password: 'x'.repeat(10_000) }));
  assert.equal(big.status, 413);
  assert.equal((await call('POST', '/ui/session', SIGN_IN, '[1]')).body.error.code, 'BAD_REQUEST');
  assert.equal((await call('POST', '/ui/session', SIGN_IN, JSON.stringify({ username: 'officer', password: 'wrong-password' }))).body.error.code, 'LOGIN_FAILED');
  assert.equal((await call('PUT', '/ui/session', SIGN_IN, body)).body.error.code, 'METHOD_NOT_ALLOWED');
});

test('CSRF: a cookie request that changes something needs its own session\'s token; reads and bearer clients do not', async () => {
  const me = await signIn();
  const other = await signIn();
  const make = (name: string) => JSON.stringify({ username: name, role: 'user', password: 'csrf-password-1' });
  assert.equal((await call('GET', '/v1/users', { cookie: me.cookie })).status, 200, 'reads need no token');
  assert.equal((await call('POST', '/v1/users', { cookie: me.cookie }, make('c1'))).body.error.code, 'CSRF_REJECTED');
  assert.equal((await call('POST', '/v1/users', { cookie: me.cookie, 'x-inkan-csrf': other.csrf }, make('c1'))).body.error.code, 'CSRF_REJECTED', 'another session\'s token');
  assert.equal((await call('POST', '/v1/users', { cookie: me.cookie, 'x-inkan-csrf': me.csrf, 'sec-fetch-site': 'same-site' }, make('c1'))).body.error.code, 'CSRF_REJECTED');
  assert.equal((await call('DELETE', '/v1/users/user', { cookie: me.cookie })).body.error.code, 'CSRF_REJECTED');
  assert.ok(!(await mod.hsm.users.find('default', 'c1')), 'nothing was created');
  assert.ok(await mod.hsm.users.find('default', 'user'), 'nothing was deleted');
  assert.equal((await call('POST', '/v1/users', { cookie: me.cookie, 'x-inkan-csrf': me.csrf }, make('c1'))).status, 201);
  // Refused before the body is read: a huge declared body gets the refusal, not a wait for the upload.
  const huge = await new Promise<{ status: number; code: string }>((resolve, reject) => {
    const req = http.request(`${url}/v1/keys/x/sign`, { method: 'POST', headers: { cookie: me.cookie, 'content-length': String(8 * 1024 * 1024) } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => { req.destroy(); resolve({ status: res.statusCode!, code: JSON.parse(text).error.code }); });
    });
    req.on('error', reject);
    req.write('{"data":"');
  });
  assert.deepEqual(huge, { status: 403, code: 'CSRF_REJECTED' });
  // A bearer client never needs the token.
  const login = await call('POST', '/v1/login', {}, JSON.stringify({ username: 'officer', password: OFFICER_PASSWORD }));
  assert.equal((await call('POST', '/v1/users', { authorization: `Bearer ${login.body.token}` }, make('c2'))).status, 201);
  // Sign-out needs the token too (so a forged page cannot sign a user out), then ends the session.
  assert.equal((await call('DELETE', '/ui/session', { cookie: me.cookie })).body.error.code, 'CSRF_REJECTED');
  const out = await call('DELETE', '/ui/session', { cookie: me.cookie, 'x-inkan-csrf': me.csrf });
  assert.equal(out.status, 200);
  assert.match(out.headers.get('set-cookie')!, /^inkan_session=; .*Max-Age=0/);
  assert.equal((await call('GET', '/v1/users', { cookie: me.cookie })).body.error.code, 'AUTH_REQUIRED');
  assert.equal((await call('GET', '/ui/session', { cookie: me.cookie })).status, 401);
});

test('cookie sessions are the admin session table\'s: the per-user bound and the idle timeout apply', async () => {
  const first = await signIn('user', 'user-password-1');
  for (let i = 0; i < MAX_PER_USER; i++) await signIn('user', 'user-password-1');
  assert.equal((await call('GET', '/ui/session', { cookie: first.cookie })).body.error.code, 'AUTH_REQUIRED', 'the oldest session was ended');
  const s = await signIn('user', 'user-password-1');
  assert.equal((await call('GET', '/ui/session', { cookie: s.cookie })).status, 200);
  now += SESSION_IDLE_MS - 1000;
  assert.equal((await call('GET', '/v1/keys', { cookie: s.cookie })).status, 200, 'used just before the idle time: still valid, and the timer restarts');
  now += SESSION_IDLE_MS + 1;
  assert.equal((await call('GET', '/v1/keys', { cookie: s.cookie })).body.error.code, 'SESSION_EXPIRED');
  assert.equal((await call('GET', '/ui/session', { cookie: s.cookie })).body.error.code, 'AUTH_REQUIRED', 'and forgotten');
});

test('locking a user ends its console sessions at once, as it ends its tokens', async () => {
  await mod.hsm.users.create(mod.officer, 'frank', 'user', 'frank-password-1');
  const frank = await signIn('frank', 'frank-password-1');
  assert.equal((await call('GET', '/v1/keys', { cookie: frank.cookie })).status, 200);
  const officer = await signIn();
  assert.equal((await call('POST', '/v1/users/frank/lock', { cookie: officer.cookie, 'x-inkan-csrf': officer.csrf }, '{}')).status, 200);
  assert.equal((await call('GET', '/v1/keys', { cookie: frank.cookie })).status, 401);
  assert.equal((await call('GET', '/ui/session', { cookie: frank.cookie })).status, 401);
});

test('the console files: / and /ui redirect, unknown files 404, only GET and HEAD, malformed cookies ignored', async () => {
  for (const p of ['/', '/ui']) {
    const a = await call('GET', p);
    assert.equal(a.status, 302);
    assert.equal(a.headers.get('location'), '/ui/');
  }
  const page = await call('GET', '/ui/');
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(page.headers.get('cache-control'), 'no-store');
  assert.equal((await call('GET', '/ui/app.js')).headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal((await call('GET', '/ui/../package.json')).status, 404);
  assert.equal((await call('GET', '/ui/%2e%2e%2fpackage.json')).status, 404);
  assert.equal((await call('GET', '/ui/nothing.js')).body.error.code, 'NO_SUCH_ROUTE');
  assert.equal((await call('POST', '/ui/app.js', {}, '{}')).body.error.code, 'METHOD_NOT_ALLOWED');
  const head = await fetch(`${url}/ui/console.css`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal((await call('GET', '/v1/users', { cookie: 'inkan_session=../../etc' })).body.error.code, 'AUTH_REQUIRED');
  // Two session cookies (one planted by another server on the same host): neither is used.
  const mine = await signIn();
  const planted = await signIn('user', 'user-password-1');
  assert.equal((await call('GET', '/v1/users', { cookie: mine.cookie })).status, 200);
  assert.equal((await call('GET', '/v1/users', { cookie: `${planted.cookie}; ${mine.cookie}` })).body.error.code, 'AUTH_REQUIRED');
  // The page's own session answer is refused to cross-site fetches too.
  assert.equal((await call('GET', '/ui/session', { cookie: mine.cookie, 'sec-fetch-site': 'cross-site' })).body.error.code, 'CSRF_REJECTED');
  assert.equal((await call('GET', '/ui/session', { cookie: mine.cookie, 'sec-fetch-site': 'same-origin' })).status, 200);
});

test('over TLS the cookie is Secure with the __Host- prefix, and HSTS is sent', async () => {
  const pki = makeTestPki(['localhost']);
  let srv: TestServer | undefined;
  try {
    srv = await devServer(undefined, { tlsCert: pki.server.certFile, tlsKey: pki.server.keyFile });
    const creds = JSON.parse(fs.readFileSync(`${srv.dir}/dev-credentials.json`, 'utf8'));
    const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
      const req = https.request(`${srv!.url}/ui/session`, { method: 'POST', ca: pki.ca, headers: SIGN_IN }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ username: creds.officer.username, password: creds.officer.password }));
    });
    assert.equal(answer.status, 200);
    assert.match(answer.headers['set-cookie']![0], /^__Host-inkan_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    assert.equal(answer.headers['strict-transport-security'], 'max-age=31536000');
  } finally {
    await srv?.close();
    pki.cleanup();
  }
});
