// Key Vault cryptography through the real CryptographyClient: every signature algorithm
// (signatures checked with node:crypto and @noble/curves), RSA-OAEP and OAEP-256 (the SDK
// encrypts locally with the returned n/e; the vault decrypts), AES-GCM/CBC/CBCPAD/KW with an
// imported AES key (results checked with node:crypto), and the refusals: RSA1_5, wrong
// algorithm for the key, tampered ciphertext, disabled key, missing key_ops, Auditor role.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1';
import type { KeyClient } from '@azure/keyvault-keys';
import { API, raw, token } from '../../protocol/akv/harness';
import { startAkvCore, type AkvCoreFixture } from './fixture';

let f: AkvCoreFixture;
let kc: KeyClient;
const AES_KEY = nc.randomBytes(32);
let rsaId: string;
before(async () => {
  f = await startAkvCore();
  kc = f.keyClient();
  rsaId = (await kc.createRsaKey('rsa', { keySize: 2048 })).id!;
  await kc.importKey('aes', { kty: 'oct-HSM', k: AES_KEY });
  for (const bits of [128, 192] as const) await kc.importKey(`aes${bits}`, { kty: 'oct-HSM', k: AES_KEY.subarray(0, bits / 8) });
});
after(async () => { await f.close(); });

const data = Buffer.from('the quick brown fox jumps over the lazy dog');
const pem = (jwkKey: { n?: Uint8Array; e?: Uint8Array }) => nc.createPublicKey({
  key: { kty: 'RSA', n: Buffer.from(jwkKey.n!).toString('base64url'), e: Buffer.from(jwkKey.e!).toString('base64url') }, format: 'jwk',
});

test('RSA PS256/384/512 and RS256/384/512: node:crypto verifies; the vault verifies and refuses a tampered signature', async () => {
  const cc = f.cryptoClient(rsaId);
  const pub = pem((await kc.getKey('rsa')).key!);
  for (const [alg, hash] of [['RS256', 'sha256'], ['RS384', 'sha384'], ['RS512', 'sha512'], ['PS256', 'sha256'], ['PS384', 'sha384'], ['PS512', 'sha512']] as const) {
    const { result } = await cc.signData(alg, data);
    const padding = alg.startsWith('PS') ? nc.constants.RSA_PKCS1_PSS_PADDING : nc.constants.RSA_PKCS1_PADDING;
    assert.ok(nc.verify(hash, data, { key: pub, padding, saltLength: nc.constants.RSA_PSS_SALTLEN_DIGEST }, Buffer.from(result)), alg);
    const digest = nc.createHash(hash).update(data).digest();
    assert.equal((await cc.verify(alg, digest, result)).result, true, alg);
    const bad = Buffer.from(result);
    bad[10] ^= 1;
    assert.equal((await cc.verify(alg, digest, bad)).result, false, alg);
  }
});

test('ES256/384/512 and ES256K: raw r‖s signatures that node:crypto and @noble/curves verify', async () => {
  for (const [alg, crv, hash] of [['ES256', 'P-256', 'sha256'], ['ES384', 'P-384', 'sha384'], ['ES512', 'P-521', 'sha512'], ['ES256K', 'P-256K', 'sha256']] as const) {
    const key = await kc.createEcKey(`sig-${alg}`, { curve: crv });
    const { result } = await f.cryptoClient(key.id!).signData(alg, data);
    const jwk = { kty: 'EC', crv: crv === 'P-256K' ? 'secp256k1' : crv, x: Buffer.from(key.key!.x!).toString('base64url'), y: Buffer.from(key.key!.y!).toString('base64url') };
    const pub = nc.createPublicKey({ key: jwk, format: 'jwk' });
    assert.ok(nc.verify(hash, data, { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(result)), alg);
    if (alg === 'ES256K') {
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(key.key!.x!), Buffer.from(key.key!.y!)]);
      assert.ok(secp256k1.verify(Buffer.from(result), nc.createHash('sha256').update(data).digest(), point, { prehash: false, lowS: false }));
    }
  }
});

test('RSA-OAEP: the SDK encrypts locally with the returned n/e and the vault decrypts; OAEP-256 both ways', async () => {
  const cc = f.cryptoClient(rsaId);
  const enc = await cc.encrypt({ algorithm: 'RSA-OAEP', plaintext: data });
  assert.deepEqual(Buffer.from((await cc.decrypt({ algorithm: 'RSA-OAEP', ciphertext: enc.result })).result), data);
  const pub = pem((await kc.getKey('rsa')).key!);
  const ct256 = nc.publicEncrypt({ key: pub, padding: nc.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, data);
  assert.deepEqual(Buffer.from((await cc.decrypt({ algorithm: 'RSA-OAEP-256', ciphertext: ct256 })).result), data);
  const wrapped = await cc.wrapKey('RSA-OAEP', AES_KEY);
  assert.deepEqual(Buffer.from((await cc.unwrapKey('RSA-OAEP', wrapped.result)).result), AES_KEY);
  const tampered = Buffer.from(enc.result);
  tampered[5] ^= 1;
  await assert.rejects(cc.decrypt({ algorithm: 'RSA-OAEP', ciphertext: tampered }), (e: { code?: string }) => e.code === 'BadParameter');
});

test('A128/192/256GCM: the vault encrypts with its own IV; node:crypto decrypts; tampering fails', async () => {
  const aad = Buffer.from('context');
  for (const bits of [128, 192, 256] as const) {
    const name = bits === 256 ? 'aes' : `aes${bits}`;
    const cc = f.cryptoClient((await kc.getKey(name)).id!);
    const alg = `A${bits}GCM` as const;
    const enc = await cc.encrypt({ algorithm: alg, plaintext: data, additionalAuthenticatedData: aad });
    assert.equal(enc.iv!.length, 12);
    const d = nc.createDecipheriv(`aes-${bits}-gcm`, AES_KEY.subarray(0, bits / 8), enc.iv!);
    d.setAAD(aad);
    d.setAuthTag(enc.authenticationTag!);
    assert.deepEqual(Buffer.concat([d.update(enc.result), d.final()]), data);
    const back = await cc.decrypt({ algorithm: alg, ciphertext: enc.result, iv: enc.iv!, authenticationTag: enc.authenticationTag!, additionalAuthenticatedData: aad });
    assert.deepEqual(Buffer.from(back.result), data);
    const bad = Buffer.from(enc.result);
    bad[0] ^= 1;
    await assert.rejects(cc.decrypt({ algorithm: alg, ciphertext: bad, iv: enc.iv!, authenticationTag: enc.authenticationTag!, additionalAuthenticatedData: aad }),
      (e: { code?: string }) => e.code === 'BadParameter');
    await assert.rejects(cc.decrypt({ algorithm: alg, ciphertext: enc.result, iv: enc.iv!, authenticationTag: enc.authenticationTag! }),
      (e: { code?: string }) => e.code === 'BadParameter', 'missing AAD');
  }
});

test('A256CBC and A256CBCPAD with a caller IV, and A256KW: node:crypto agrees', async () => {
  const cc = f.cryptoClient((await kc.getKey('aes')).id!);
  const iv = nc.randomBytes(16);
  const padded = await cc.encrypt({ algorithm: 'A256CBCPAD', plaintext: data, iv });
  const d = nc.createDecipheriv('aes-256-cbc', AES_KEY, iv);
  assert.deepEqual(Buffer.concat([d.update(padded.result), d.final()]), data);
  const blocks = Buffer.alloc(32, 7);
  const raw16 = await cc.encrypt({ algorithm: 'A256CBC', plaintext: blocks, iv });
  assert.equal(raw16.result.length, 32);
  assert.deepEqual(Buffer.from((await cc.decrypt({ algorithm: 'A256CBC', ciphertext: raw16.result, iv })).result), blocks);
  const wrapped = await cc.wrapKey('A256KW', AES_KEY);
  const unwrapper = nc.createDecipheriv('id-aes256-wrap', AES_KEY, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
  assert.deepEqual(Buffer.concat([unwrapper.update(wrapped.result), unwrapper.final()]), AES_KEY);
  assert.deepEqual(Buffer.from((await cc.unwrapKey('A256KW', wrapped.result)).result), AES_KEY);
});

async function post(path: string, body: object, jwt?: string) {
  return raw(f, 'POST', `${path}?${API}`, { headers: { authorization: `Bearer ${jwt ?? await token(f)}` }, body: JSON.stringify(body) });
}
const b64u = (b: Buffer) => b.toString('base64url');

test('refusals on the wire: RSA1_5, algorithm vs key, wrong digest length, unknown algorithm, GCM IV from the caller', async () => {
  const jwt = await token(f);
  const cases: [string, object, RegExp][] = [
    ['/keys/rsa//decrypt', { alg: 'RSA1_5', value: b64u(Buffer.alloc(256)) }, /Marvin/],
    ['/keys/aes//encrypt', { alg: 'A128GCM', value: b64u(data) }, /does not fit/],
    ['/keys/rsa//sign', { alg: 'ES256', value: b64u(Buffer.alloc(32)) }, /does not fit/],
    ['/keys/rsa//sign', { alg: 'RS256', value: b64u(Buffer.alloc(20)) }, /32-byte digest/],
    ['/keys/rsa//sign', { alg: 'RSNULL', value: b64u(Buffer.alloc(32)) }, /RSNULL/],
    ['/keys/aes//encrypt', { alg: 'A256GCM', value: b64u(data), iv: b64u(Buffer.alloc(12)) }, /generates AES-GCM IVs/],
    ['/keys/aes//encrypt', { alg: 'A256KW', value: b64u(data) }, /wrapKey and unwrapKey only/],
    ['/keys/aes//decrypt', { alg: 'A256GCM', value: b64u(data) }, /needs the 12-byte 'iv'/],
  ];
  for (const [path, body, message] of cases) {
    const r = await post(path, body, jwt);
    assert.equal(r.status, 400, path);
    assert.equal(r.json().error.code, 'BadParameter');
    assert.match(r.json().error.message, message);
  }
});

test('a disabled key, an expired key, missing key_ops and the Auditor role are Forbidden', async () => {
  const jwt = await token(f);
  const key = await kc.createEcKey('gated', { curve: 'P-256' });
  const sign = { alg: 'ES256', value: b64u(Buffer.alloc(32, 1)) };
  assert.equal((await post('/keys/gated//sign', sign, jwt)).status, 200);
  await kc.updateKeyProperties('gated', key.properties.version!, { enabled: false });
  let r = await post('/keys/gated//sign', sign, jwt);
  assert.equal(r.status, 403);
  assert.deepEqual(r.json().error.innererror, { code: 'KeyDisabled' });
  await kc.updateKeyProperties('gated', key.properties.version!, { enabled: true, expiresOn: new Date(Date.now() - 60_000) });
  r = await post('/keys/gated//sign', sign, jwt);
  assert.deepEqual([r.status, r.json().error.innererror.code], [403, 'KeyExpired']);
  await kc.updateKeyProperties('gated', key.properties.version!, { expiresOn: new Date(Date.now() + 86_400_000), keyOps: ['verify'] });
  r = await post(`/keys/gated/${key.properties.version}/sign`, sign, jwt);
  assert.deepEqual([r.status, r.json().error.innererror.code], [403, 'KeyOperationForbidden']);
  await f.addClient('app-auditor', 'auditor-secret-0123456789', 'auditor');
  const auditor = await token(f, 'app-auditor', 'auditor-secret-0123456789');
  r = await post('/keys/rsa//sign', { alg: 'RS256', value: b64u(Buffer.alloc(32)) }, auditor);
  assert.deepEqual([r.status, r.json().error.innererror.code], [403, 'AccessDenied']);
  assert.equal((await raw(f, 'GET', `/keys/rsa/?${API}`, { headers: { authorization: `Bearer ${auditor}` } })).status, 200);
});

test('no key byte, plaintext, token or client secret reaches the server log', async () => {
  const jwt = await token(f);
  const secret = (f.server.credentials!.akv as { clientSecret: string }).clientSecret;
  const text = f.server.logs.join('\n');
  for (const [name, form] of [['AES key', AES_KEY.toString('base64url')], ['AES key', AES_KEY.toString('base64')], ['AES key', AES_KEY.toString('hex')],
    ['plaintext', data.toString('base64url')], ['plaintext', data.toString()], ['token', jwt], ['token signature', jwt.split('.')[2]], ['client secret', secret]] as const) {
    assert.ok(!text.includes(form), `${name} in the log`);
  }
  assert.ok(text.includes('"face":"akv"'), 'the log has the Key Vault face\'s audit records');
});
