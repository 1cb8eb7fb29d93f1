// Bad input at the Key Vault face, sent raw (the SDK never sends it): every refusal is Key
// Vault's envelope with its code and status, changes nothing, and never echoes the caller's
// data. Includes api-version checks, unknown keys and paths, malformed JSON and base64url,
// oversize and unexpected bodies, and the request-target forms the SDK uses (%2D, empty version).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { API, raw, token } from '../../protocol/akv/harness';
import { startAkvCore, type AkvCoreFixture } from './fixture';

let f: AkvCoreFixture;
let auth: Record<string, string>;
before(async () => {
  f = await startAkvCore();
  auth = { authorization: `Bearer ${await token(f)}` };
  await f.keyClient().createEcKey('present', { curve: 'P-256' });
});
after(async () => { await f.close(); });

const SECRET_MARK = 'c2VjcmV0LXBsYWludGV4dC1tYXJr'; // base64url of a recognisable "plaintext"

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const r = await raw(f, method, path, { headers: { ...auth, ...headers }, body });
  return { ...r, error: r.body ? (r.json().error ?? {}) : {} };
}

async function assertUnchanged(): Promise<void> {
  assert.deepEqual(await f.names(), ['present']);
  assert.equal(await f.versionCount('present'), 1);
}

test('api-version: the SDK form %2D is accepted; missing and unknown versions are BadParameter', async () => {
  assert.equal((await call('GET', '/keys/present/?api%2Dversion=2025-07-01')).status, 200);
  assert.equal((await call('GET', '/keys/present/?api-version=7.5')).status, 200);
  for (const q of ['', '?api-version=', '?api-version=7.9', '?api-version=2016-10-01', '?api-version=%3Cscript%3E']) {
    const r = await call('GET', `/keys/present${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.error.code, 'BadParameter');
    assert.doesNotMatch(r.body, /<script>/);
  }
});

test('unknown keys and versions are KeyNotFound 404; unknown paths 404; wrong methods 405; bad names 400', async () => {
  const cases: [string, string, number, string][] = [
    ['GET', `/keys/absent/?${API}`, 404, 'KeyNotFound'],
    ['GET', `/keys/present/0123456789abcdef0123456789abcdef?${API}`, 404, 'KeyNotFound'],
    ['GET', `/keys/present/not-a-version?${API}`, 404, 'KeyNotFound'],
    ['GET', `/deletedkeys/present?${API}`, 404, 'KeyNotFound'],
    ['GET', `/keys/present/frobnicate/x?${API}`, 404, 'NotFound'],
    ['PUT', `/keys/present/create?${API}`, 405, 'MethodNotAllowed'],
    ['GET', `/keys/bad_name!/?${API}`, 400, 'BadParameter'],
    ['GET', `/keys/${'a'.repeat(128)}/?${API}`, 400, 'BadParameter'],
    ['GET', `/keys/%E0%A4%A/?${API}`, 404, 'NotFound'],
  ];
  for (const [method, path, status, code] of cases) {
    const r = await call(method, path);
    assert.deepEqual([r.status, r.error.code], [status, code], `${method} ${path}`);
  }
  await assertUnchanged();
});

test('malformed bodies: not JSON, not an object, not UTF-8, wrong member types, bad base64url', async () => {
  const create = `/keys/newkey/create?${API}`;
  const bodies = ['{"kty":', '[]', '"EC"', '{"kty":"EC","crv":5}', '{"kty":"XYZ"}', '{"kty":"RSA","key_size":1024}',
    '{"kty":"EC","attributes":{"exportable":true}}', '{"kty":"EC","tags":{"a":1}}', '{"kty":"EC","release_policy":{"data":"x"}}'];
  for (const body of bodies) {
    const r = await call('POST', create, body);
    assert.deepEqual([r.status, r.error.code], [400, 'BadParameter'], body);
  }
  const notUtf8 = await raw(f, 'POST', create, { headers: auth, body: Buffer.from([0x7b, 0xff, 0x7d]) });
  assert.equal(notUtf8.status, 400);
  const sign = `/keys/present//sign?${API}`;
  for (const value of ['!!!', 'a', 42, `${SECRET_MARK}+/`]) {
    const r = await call('POST', sign, JSON.stringify({ alg: 'ES256', value }));
    assert.deepEqual([r.status, r.error.code], [400, 'BadParameter'], String(value));
    assert.ok(!r.body.includes(SECRET_MARK), 'the error never echoes the value');
  }
  const enc = await call('POST', `/keys/present//encrypt?${API}`, JSON.stringify({ alg: 'RSA-OAEP', value: SECRET_MARK }));
  assert.ok(!enc.body.includes(SECRET_MARK));
  await assertUnchanged();
});

test('bodies: too large (413, refused on its Content-Length), present where none is taken, compressed', async () => {
  const big = await call('POST', `/keys/newkey/create?${API}`, JSON.stringify({ kty: 'EC', pad: 'x'.repeat(8000) }));
  assert.deepEqual([big.status, big.error.code], [413, 'PayloadTooLarge']);
  const onGet = await call('GET', `/keys/present/?${API}`, '{}');
  assert.deepEqual([onGet.status, onGet.error.code], [400, 'BadParameter']);
  const gz = await call('POST', `/keys/newkey/create?${API}`, '{"kty":"EC"}', { 'content-encoding': 'gzip' });
  assert.equal(gz.status, 415);
  const host = await raw(f, 'GET', `/keys/present/?${API}`, { headers: { ...auth, host: 'bad host/x' } });
  assert.equal(host.status, 400);
  await assertUnchanged();
});

test('paging input: maxresults out of range and a bad $skiptoken are BadParameter', async () => {
  for (const q of ['maxresults=0', 'maxresults=26', 'maxresults=abc', '$skiptoken=%25%25', `$skiptoken=${'A'.repeat(2000)}`]) {
    const r = await call('GET', `/keys?${API}&${q}`);
    assert.deepEqual([r.status, r.error.code], [400, 'BadParameter'], q);
  }
});

test('responses carry x-ms-request-id and JSON content type; purge answers 204 without a body', async () => {
  const r = await call('GET', `/keys/present/?${API}`);
  assert.match(String(r.headers['x-ms-request-id']), /^[0-9a-f-]{36}$/);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  await f.addClient('app-officer', 'officer-secret-0123456789', 'officer');
  await f.keyClient().createEcKey('tmp', { curve: 'P-256' });
  await call('DELETE', `/keys/tmp?${API}`);
  const officer = { authorization: `Bearer ${await token(f, 'app-officer', 'officer-secret-0123456789')}` };
  const purge = await raw(f, 'DELETE', `/deletedkeys/tmp?${API}`, { headers: officer });
  assert.deepEqual([purge.status, purge.body], [204, '']);
  await assertUnchanged();
});
