// The admin HTTP API under hostile or careless input: every error is JSON
// {error:{code,message}} with the status docs/errors.md gives, nothing crashes the server,
// failed logins lock an account, and a slow RSA-4096 generation does not stall other requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { devServer, REPO_ROOT, TestServer } from '../helpers/harness';

let srv: TestServer;
let userToken: string;
let officerToken: string;

/** code → HTTP status, read from the documentation (not from the catalog under test). */
const DOC_STATUS = new Map<string, number>();
for (const m of fs.readFileSync(path.join(REPO_ROOT, 'docs', 'errors.md'), 'utf8').matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) {
  DOC_STATUS.set(m[1], Number(m[2]));
}

interface Answer { status: number; type: string | null; text: string; body: any }

async function call(method: string, p: string, opts: { body?: string | Buffer | ReadableStream<Uint8Array>; json?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const body = opts.json !== undefined ? JSON.stringify(opts.json) : opts.body;
  const res = await fetch(`${srv.url}${p}`, { method, headers, body, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
  const text = await res.text();
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  return { status: res.status, type: res.headers.get('content-type'), text, body: parsed };
}

/** An error answer: JSON, exactly {error:{code,message}}, the documented status. */
function isError(a: Answer, code: string): void {
  assert.equal(a.type, 'application/json', a.text);
  assert.ok(a.body && typeof a.body === 'object', `not JSON: ${a.text}`);
  assert.deepEqual(Object.keys(a.body), ['error'], a.text);
  assert.deepEqual(Object.keys(a.body.error).sort(), ['code', 'message'], a.text);
  assert.equal(a.body.error.code, code, a.text);
  assert.equal(typeof a.body.error.message, 'string');
  assert.ok(a.body.error.message.length > 0);
  assert.ok(DOC_STATUS.has(code), `${code} is documented in docs/errors.md`);
  assert.equal(a.status, DOC_STATUS.get(code), `${code} answers with its documented status`);
}

async function login(username: string, password: string): Promise<string> {
  const a = await call('POST', '/v1/login', { json: { username, password } });
  assert.equal(a.status, 200, a.text);
  return a.body.token as string;
}

before(async () => {
  srv = await devServer();
  const c = srv.credentials!;
  userToken = await login(c.user.username, c.user.password);
  officerToken = await login(c.officer.username, c.officer.password);
  const gen = await call('POST', '/v1/keys', { token: userToken, json: { type: 'ec', label: 'p256' } });
  assert.equal(gen.status, 201, gen.text);
});
after(async () => { await srv.close(); });

test('docs/errors.md was read', () => {
  assert.ok(DOC_STATUS.size > 20);
  assert.equal(DOC_STATUS.get('BAD_REQUEST'), 400);
});

test('malformed JSON and non-object JSON bodies are BAD_REQUEST', async () => {
  for (const body of ['{"username": "user", ', 'not json at all', '\u0000\u0001\u0002', '[]', '[{"username":"user"}]', '"a string"', '42', 'null', 'true']) {
    isError(await call('POST', '/v1/login', { body }), 'BAD_REQUEST');
    isError(await call('POST', '/v1/keys/p256/sign', { body, token: userToken }), 'BAD_REQUEST');
  }
  const invalidUtf8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]);
  const a = await call('POST', '/v1/keys/p256/sign', { body: invalidUtf8, token: userToken });
  assert.ok(a.status >= 400 && a.status < 500, a.text);
  isError(a, a.body.error.code);
});

test('a body over 8 MiB is REQUEST_TOO_LARGE, declared or chunked', async () => {
  const big = Buffer.alloc(8 * 1024 * 1024 + 1, 0x20);
  isError(await call('POST', '/v1/keys/p256/sign', { body: big, token: userToken }), 'REQUEST_TOO_LARGE');
  isError(await call('POST', '/v1/login', { body: big }), 'REQUEST_TOO_LARGE');
  let sent = 0;
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 9) { controller.close(); return; }
      sent++;
      controller.enqueue(new Uint8Array(chunk));
    },
  });
  isError(await call('POST', '/v1/keys/p256/sign', { body: stream, token: userToken }), 'REQUEST_TOO_LARGE');
  // A body within the limit still works (6 MiB of data, base64 in JSON).
  const data = Buffer.alloc(6 * 1024 * 1024, 7).toString('base64').slice(0, 7 * 1024 * 1024);
  const fine = await call('POST', '/v1/keys/p256/sign', { json: { data }, token: userToken });
  assert.equal(fine.status, 200, fine.text.slice(0, 200));
});

test('unknown routes and wrong methods', async () => {
  // GET / is the console's redirect (test/console); other unknown paths are the admin API's 404.
  for (const [method, p] of [['GET', '/nope'], ['GET', '/v1/nope'], ['POST', '/v2/keys'], ['GET', '/v1/keys/a/b/c'], ['GET', '/v1/status/'], ['GET', '/%']]) {
    const a = await call(method, p, { token: userToken });
    isError(a, 'NO_SUCH_ROUTE');
    assert.equal(a.status, 404);
    assert.match(a.body.error.message, /no such route/);
  }
  for (const [method, p] of [['DELETE', '/v1/status'], ['PUT', '/v1/keys'], ['GET', '/v1/login'], ['PATCH', '/v1/random'], ['POST', '/v1/keys/p256']]) {
    const a = await call(method, p, { token: userToken, body: method === 'GET' ? undefined : '{}' });
    isError(a, 'METHOD_NOT_ALLOWED');
    assert.equal(a.status, 405);
    assert.match(a.body.error.message, /method not allowed/);
  }
  // A path parameter that is not valid percent-encoding is the caller's error, not an internal one.
  isError(await call('GET', '/v1/keys/%E0%A4%A', { token: userToken }), 'BAD_REQUEST');
  isError(await call('DELETE', '/v1/users/%zz', { token: officerToken }), 'BAD_REQUEST');
});

test('a missing or invalid bearer token is AUTH_REQUIRED', async () => {
  const variants: Record<string, string>[] = [{}, { authorization: 'Bearer ' }, { authorization: 'Bearer not-a-token' }, { authorization: `bearer ${userToken}` },
    { authorization: `Basic ${Buffer.from('user:pw').toString('base64')}` }, { authorization: userToken }];
  for (const headers of variants) {
    isError(await call('GET', '/v1/keys', { headers }), 'AUTH_REQUIRED');
    isError(await call('POST', '/v1/keys/p256/sign', { headers, json: { data: 'AAAA' } }), 'AUTH_REQUIRED');
  }
  const c = srv.credentials!;
  const token = await login(c.user.username, c.user.password);
  assert.equal((await call('POST', '/v1/logout', { token, json: {} })).status, 200);
  isError(await call('GET', '/v1/keys', { token }), 'AUTH_REQUIRED');
});

test('wrong field types, non-base64 data and unknown mechanisms are clear 4xx errors', async () => {
  const sign = (json: unknown) => call('POST', '/v1/keys/p256/sign', { token: userToken, json });
  for (const body of [{}, { data: 123 }, { data: null }, { data: ['AAAA'] }, { data: { b: 1 } }, { data: true },
    { data: 'not base64!' }, { data: 'AA==AA' }, { data: 'AAAA', params: [] }, { data: 'AAAA', params: 'x' },
    { data: 'AAAA', mechanism: 7 }, { data: 'AAAA', encoding: 'pem' }]) {
    isError(await sign(body), 'BAD_REQUEST');
  }
  isError(await sign({ data: 'AAAA', mechanism: 'NO-SUCH-MECHANISM' }), 'MECHANISM_INVALID');
  // The key type is checked before what the mechanism can do (PKCS#11 §5.8 CKR_KEY_TYPE_INCONSISTENT).
  isError(await sign({ data: 'AAAA', mechanism: 'AES-GCM' }), 'KEY_TYPE_INCONSISTENT');
  isError(await sign({ data: 'AAAA', params: { hash: 'md4' }, mechanism: 'ECDSA' }), 'MECHANISM_PARAM_INVALID');
  const gen = (json: unknown) => call('POST', '/v1/keys', { token: userToken, json });
  for (const body of [{ type: 'rsa', size: '2048' }, { type: 7 }, { type: 'dsa' }, { type: 'aes', usage: 'sign' },
    { type: 'aes', usage: ['fly'] }, { type: 'aes', extractable: 'yes' }, { type: 'aes', label: 5 }, { type: 'aes', ckaId: 'zz' },
    { type: 'aes', size: 1.5 }]) {
    isError(await gen(body), 'BAD_REQUEST');
  }
  isError(await gen({ type: 'ec', curve: 'P-257' }), 'CURVE_NOT_SUPPORTED');
  isError(await call('POST', '/v1/login', { json: { username: 5, password: 'x' } }), 'BAD_REQUEST');
  isError(await call('POST', '/v1/login', { json: { username: 'user' } }), 'BAD_REQUEST');
  isError(await call('POST', '/v1/random', { token: userToken, json: { bytes: '32' } }), 'BAD_REQUEST');
  isError(await call('POST', '/v1/random', { token: userToken, json: { bytes: -1 } }), 'DATA_LEN_RANGE');
  isError(await call('POST', '/v1/random', { token: userToken, json: { bytes: 1e12 } }), 'DATA_LEN_RANGE');
  isError(await call('POST', '/v1/keys/no-such-key/sign', { token: userToken, json: { data: 'AAAA' } }), 'KEY_NOT_FOUND');
  isError(await call('POST', '/v1/users', { token: officerToken, json: { username: 'x y', role: 'user', password: 'long-enough-pw' } }), 'USERNAME_INVALID');
  isError(await call('POST', '/v1/users', { token: officerToken, json: { username: 'shorty', role: 'user', password: 'short' } }), 'PASSWORD_POLICY');
  isError(await call('POST', '/v1/users', { token: officerToken, json: { username: 'r', role: 'root', password: 'long-enough-pw' } }), 'BAD_REQUEST');
});

test('five wrong passwords lock the account until an officer unlocks it', async () => {
  const created = await call('POST', '/v1/users', { token: officerToken, json: { username: 'locky', role: 'user', password: 'locky-password-1' } });
  assert.equal(created.status, 201, created.text);
  for (let i = 1; i <= 4; i++) isError(await call('POST', '/v1/login', { json: { username: 'locky', password: `wrong-password-${i}` } }), 'LOGIN_FAILED');
  isError(await call('POST', '/v1/login', { json: { username: 'locky', password: 'wrong-password-5' } }), 'ACCOUNT_LOCKED');
  isError(await call('POST', '/v1/login', { json: { username: 'locky', password: 'locky-password-1' } }), 'ACCOUNT_LOCKED');
  const users = await call('GET', '/v1/users', { token: officerToken });
  assert.equal(users.body.users.find((u: any) => u.username === 'locky').locked, true);
  // A crypto user may not unlock; an officer may.
  isError(await call('POST', '/v1/users/locky/unlock', { token: userToken, json: {} }), 'FORBIDDEN');
  isError(await call('POST', '/v1/users/nobody-at-all/unlock', { token: officerToken, json: {} }), 'USER_NOT_FOUND');
  assert.equal((await call('POST', '/v1/users/locky/unlock', { token: officerToken, json: {} })).status, 200);
  const token = await login('locky', 'locky-password-1');
  assert.equal((await call('GET', '/v1/keys', { token })).status, 200);
  // The counter restarted: four more failures do not lock.
  for (let i = 1; i <= 4; i++) isError(await call('POST', '/v1/login', { json: { username: 'locky', password: `again-wrong-${i}` } }), 'LOGIN_FAILED');
  await login('locky', 'locky-password-1');
});

test('after all of that, the server still serves a normal sign request', async () => {
  const data = Buffer.from('business as usual');
  const a = await call('POST', '/v1/keys/p256/sign', { token: userToken, json: { data: data.toString('base64') } });
  assert.equal(a.status, 200, a.text);
  const v = await call('POST', '/v1/keys/p256/verify', { token: userToken, json: { data: data.toString('base64'), signature: a.body.signature } });
  assert.equal(v.body.valid, true);
  assert.ok(!srv.logs.some((l) => l.includes('"level":"error"')), `no internal errors logged:\n${srv.logs.filter((l) => l.includes('"level":"error"')).join('\n')}`);
});

test('a slow RSA-4096 generation does not block status or a P-256 sign', async () => {
  const data = Buffer.from('fast request').toString('base64');
  // Ordering, not timings: while the generation runs, status and sign requests are made one
  // after another and must all be answered first. Were the event loop blocked, the generation
  // would always answer first; one that happens to be very fast is retried.
  for (let attempt = 1; ; attempt++) {
    const order: string[] = [];
    const slow = call('POST', '/v1/keys', { token: userToken, json: { type: 'rsa', size: 4096, label: `slow-${attempt}` } })
      .then((a) => { order.push('rsa-4096'); return a; });
    for (let i = 0; i < 4; i++) {
      const a = await call('GET', '/v1/status');
      assert.equal(a.status, 200, a.text);
      order.push('status');
    }
    const s = await call('POST', '/v1/keys/p256/sign', { token: userToken, json: { data } });
    assert.equal(s.status, 200, s.text);
    order.push('sign');
    const gen = await slow;
    assert.equal(gen.status, 201, gen.text);
    assert.equal(gen.body.key.size, 4096);
    if (order[order.length - 1] === 'rsa-4096' || attempt === 3) {
      assert.deepEqual(order, ['status', 'status', 'status', 'status', 'sign', 'rsa-4096']);
      break;
    }
  }
});
