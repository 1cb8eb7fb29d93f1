// Secrets never travel sideways (STYLE.md rule 5): after a representative admin-API session —
// logins, key generation, signing, encryption, import/export, wrap/unwrap, failed logins —
// no password, token, plaintext, key byte or unseal share appears in the server's log, either
// captured in-process or on the stdout/stderr of a real `inkan serve --dev` process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { devServer, tempDir } from '../helpers/harness';
import { serve } from '../cli/cli-helpers';

interface Secret { name: string; forms: string[] }
interface Account { username: string; password: string }

const textSecret = (name: string, text: string): Secret => ({ name, forms: [text, ...binForms(Buffer.from(text, 'utf8'))] });
const binSecret = (name: string, b: Buffer): Secret => ({ name, forms: binForms(b) });
function binForms(b: Buffer): string[] {
  const hex = b.toString('hex');
  return [hex, hex.toUpperCase(), b.toString('base64'), b.toString('base64url'), b.toString('base64').replace(/=+$/, '')];
}

/** Every credential a dev server hands out (passwords, PKCS#11 PIN, KMS secret key, ...), named "dev ...". */
function devSecrets(creds: Record<string, unknown>): Secret[] {
  const out: Secret[] = [];
  const walk = (v: unknown, at: string) => {
    if (v && typeof v === 'object') { for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`); return; }
    if (typeof v === 'string' && /\.(password|pin|secret\w*)$/i.test(at)) out.push(textSecret(`dev ${at}`, v));
  };
  walk(creds, 'credentials');
  assert.ok(out.length >= 2, 'the officer and user passwords at least');
  return out;
}

/** Runs the session against `url` and returns every secret it handled. */
async function session(url: string, officer: Account, user: Account): Promise<Secret[]> {
  const secrets: Secret[] = [];
  const api = async (method: string, p: string, body?: unknown, token?: string) => {
    const res = await fetch(`${url}${p}`, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.status, body: await res.json() as any };
  };
  const expect = async (status: number, method: string, p: string, body?: unknown, token?: string) => {
    const a = await api(method, p, body, token);
    assert.equal(a.status, status, `${method} ${p}: ${JSON.stringify(a.body)}`);
    return a.body;
  };
  const login = async (a: Account) => {
    const { token } = await expect(200, 'POST', '/v1/login', a);
    secrets.push(textSecret(`token of ${a.username}`, token));
    return token as string;
  };
  const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

  const ot = await login(officer);
  const helper = { username: 'sec-helper', password: 'Helper-Initial-Password-5b1e7d93' };
  secrets.push(textSecret('new user password', helper.password), textSecret('changed password', 'Helper-Changed-Password-a8c3f0e2'));
  await expect(201, 'POST', '/v1/users', { ...helper, role: 'user' }, ot);
  await expect(200, 'POST', `/v1/users/${helper.username}/password`, { password: 'Helper-Changed-Password-a8c3f0e2' }, ot);

  const ut = await login(user);
  for (const [label, spec] of [['sec-ec', { type: 'ec' }], ['sec-rsa', { type: 'rsa', usage: ['sign', 'verify', 'encrypt', 'decrypt'] }], ['sec-aes', { type: 'aes' }], ['sec-wrapper', { type: 'aes' }]] as const) {
    await expect(201, 'POST', '/v1/keys', { ...spec, label }, ut);
  }
  const known = 'KNOWN-DATA-TO-SIGN-9f8e7d6c5b4a3921';
  secrets.push(textSecret('signed data', known));
  for (const k of ['sec-ec', 'sec-rsa']) {
    const { signature } = await expect(200, 'POST', `/v1/keys/${k}/sign`, { data: b64(known) }, ut);
    const { valid } = await expect(200, 'POST', `/v1/keys/${k}/verify`, { data: b64(known), signature }, ut);
    assert.equal(valid, true);
  }

  const plaintext = 'DISTINCTIVE-PLAINTEXT-Zq7Xw3Lp9Rt2-never-log-me';
  secrets.push(textSecret('plaintext', plaintext));
  for (const k of ['sec-aes', 'sec-rsa']) {
    const enc = await expect(200, 'POST', `/v1/keys/${k}/encrypt`, { data: b64(plaintext) }, ut);
    const params = enc.iv ? { iv: enc.iv } : {};
    const dec = await expect(200, 'POST', `/v1/keys/${k}/decrypt`, { data: enc.ciphertext, params }, ut);
    assert.equal(Buffer.from(dec.plaintext, 'base64').toString('utf8'), plaintext);
    if (k === 'sec-aes') {
      const bad = Buffer.from(enc.ciphertext, 'base64');
      bad[0] ^= 1;
      await expect(400, 'POST', `/v1/keys/${k}/decrypt`, { data: b64(bad), params }, ut);
    }
  }

  // An AES key of known bytes, extractable and not sensitive: import, export, wrap, unwrap, export.
  const keyBytes = crypto.randomBytes(32);
  secrets.push(binSecret('imported AES key', keyBytes));
  await expect(201, 'POST', '/v1/keys/import', { format: 'aes', material: b64(keyBytes), label: 'sec-imported', extractable: true, sensitive: false }, ut);
  const exported = await expect(200, 'POST', '/v1/keys/sec-imported/export', {}, ut);
  assert.equal(exported.format, 'raw');
  assert.deepEqual(Buffer.from(exported.material, 'base64'), keyBytes);
  const { wrapped } = await expect(200, 'POST', '/v1/keys/sec-wrapper/wrap', { key: 'sec-imported' }, ut);
  await expect(201, 'POST', '/v1/keys/sec-wrapper/unwrap', { wrapped, type: 'aes', label: 'sec-unwrapped', extractable: true, sensitive: false }, ut);
  const again = await expect(200, 'POST', '/v1/keys/sec-unwrapped/export', {}, ut);
  assert.deepEqual(Buffer.from(again.material, 'base64'), keyBytes);
  await expect(200, 'POST', '/v1/keys/sec-aes/encrypt', { data: b64(plaintext), params: { iv: b64(Buffer.alloc(12, 1)), aad: b64('aad-Secretish-Value-77') } }, ut);

  // Generated keys exported in plaintext: their material must not be logged either.
  for (const [label, spec] of [['sec-rsa-x', { type: 'rsa' }], ['sec-hmac-x', { type: 'hmac' }], ['sec-ec-x', { type: 'ec' }]] as const) {
    await expect(201, 'POST', '/v1/keys', { ...spec, label, extractable: true, sensitive: false }, ut);
    const { material } = await expect(200, 'POST', `/v1/keys/${label}/export`, {}, ut);
    secrets.push(binSecret(`exported ${label}`, Buffer.from(material, 'base64')));
  }
  const { random } = await expect(200, 'POST', '/v1/random', { bytes: 32 }, ut);
  secrets.push(binSecret('random bytes', Buffer.from(random, 'base64')));

  const wrong = 'Distinctive-Wrong-Password-c0ffee42';
  const wrong2 = 'Another-Wrong-Password-decaf777';
  secrets.push(textSecret('wrong password', wrong), textSecret('wrong password of an unknown user', wrong2));
  await expect(401, 'POST', '/v1/login', { username: user.username, password: wrong });
  await expect(401, 'POST', '/v1/login', { username: 'no-such-user-here', password: wrong2 });
  await expect(400, 'POST', `/v1/users/${helper.username}/password`, { password: 'short' }, ot);
  await expect(200, 'POST', '/v1/logout', {}, ut);
  return secrets;
}

/** The unseal share kept in a dev data directory, in every form it could leak in. */
function devShare(dir: string): Secret {
  const text = fs.readFileSync(path.join(dir, 'dev-master-key.DEVELOPMENT-ONLY'), 'utf8');
  const share = text.split('\n').find((l) => l.startsWith('inkan-share-'))!;
  assert.ok(share, 'the dev key file holds a share');
  const payload = share.slice(share.indexOf(':') + 1);
  return { name: 'unseal share', forms: [share, payload, ...binForms(Buffer.from(payload, 'base64url'))] };
}

function assertNoSecrets(where: string, text: string, secrets: Secret[]): void {
  for (const s of secrets) {
    for (const form of s.forms) {
      assert.ok(form.length >= 16, `${s.name}: a form too short to search for`);
      assert.ok(!text.includes(form), `${s.name} appears in ${where}`);
    }
  }
}

test('in-process dev server: nothing secret reaches the captured log', async () => {
  const srv = await devServer();
  try {
    const c = srv.credentials!;
    const secrets = [...devSecrets(c), ...await session(srv.url, c.officer, c.user), devShare(srv.dir)];
    const log = srv.logs.join('\n');
    // The capture really saw the session.
    assert.ok(srv.logs.length > 30, `only ${srv.logs.length} log lines`);
    for (const op of ['key.generate', 'key.sign', 'key.encrypt', 'key.decrypt', 'key.import', 'key.export', 'key.wrap', 'key.unwrap']) {
      assert.ok(log.includes(`"op":"${op}"`), `the log records ${op}`);
    }
    assert.ok(srv.logs.some((l) => l.includes('"path":"/v1/login"') && l.includes('"code":"LOGIN_FAILED"')));
    assertNoSecrets('the captured log', log, secrets);
  } finally {
    await srv.close();
  }
});

test('a real `inkan serve --dev` process: stdout and stderr hold no secrets beyond the dev banner', async () => {
  const root = tempDir('inkan-seclog-');
  const dir = path.join(root, 'data');
  const proc = await serve(['--dev', '--data', dir, '--http', '127.0.0.1:0']);
  try {
    const creds = JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8'));
    const secrets = [...devSecrets(creds), ...await session(proc.url, creds.officer, creds.user), devShare(dir)];
    assert.equal(await proc.stop(), 0);
    const stdout = proc.stdout();
    const stderr = proc.stderr();

    // The banner: printed on purpose, with the dev credentials and a loud warning.
    // (From the first line to "written to <credentials file>"; the lines between may grow as faces are added.)
    const banner = /^Inkan unsealed — admin API at \S+\n(?:.*\n)*? {2}written to .*dev-credentials\.json\n/.exec(stdout);
    assert.ok(banner, `the dev banner:\n${stdout}`);
    assert.match(banner[0], /DEVELOPMENT/);
    assert.match(banner[0], /crypto officer: .*\n.*crypto user: /);
    assert.match(banner[0], /never use these credentials .* in production/);
    assert.ok(banner[0].includes(creds.officer.password) && banner[0].includes(creds.user.password));
    assertNoSecrets('the dev banner', banner[0], secrets.filter((s) => !s.name.startsWith('dev ')));

    const rest = stdout.slice(banner[0].length);
    assertNoSecrets('stdout after the banner', rest, secrets);
    assertNoSecrets('stderr', stderr, secrets);
    // stderr is the JSON log, and it saw the session.
    const lines = stderr.split('\n').filter(Boolean);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `a JSON log line: ${l}`);
    assert.ok(lines.some((l) => l.includes('"op":"key.export"')));
    assert.ok(lines.some((l) => l.includes('"code":"LOGIN_FAILED"')));
  } finally {
    await proc.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
