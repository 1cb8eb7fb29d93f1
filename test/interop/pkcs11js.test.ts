// pkcs11js (a Node PKCS#11 binding) through p11-kit-client.so against an Inkan server in a
// child process: attribute edge cases, size queries, multi-part operations, concurrent
// sessions from worker threads, wrong PIN and lockout, non-extractable keys, user isolation.
// Results are checked with node:crypto, a different implementation from the module's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';
import { childServer, ChildServer, P11_KIT_CLIENT } from './p11-helpers';
import type { WorkerJob } from './pkcs11js-worker';

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');
const RW = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;

function ckr(fn: () => unknown): string {
  try { fn(); } catch (err) { return (err as Error).message; }
  return 'CKR_OK';
}

/** A fresh p11-kit-client instance: its own connection, its own login state. */
function connect(srv: ChildServer): { p: pkcs11js.PKCS11; slot: Buffer } {
  process.env.P11_KIT_SERVER_ADDRESS = srv.p11Address;
  const p = new pkcs11js.PKCS11();
  p.load(P11_KIT_CLIENT);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  return { p, slot: p.C_GetSlotList(true)[0] };
}

describe('pkcs11js through p11-kit-client.so', { timeout: 180_000 }, () => {
  let srv: ChildServer;
  let p: pkcs11js.PKCS11;
  let s: Buffer;
  const instances: pkcs11js.PKCS11[] = [];

  before(async () => {
    srv = await childServer();
    const c = connect(srv);
    p = c.p;
    instances.push(p);
    s = p.C_OpenSession(c.slot, RW);
    p.C_Login(s, pkcs11js.CKU_USER, srv.pin);
  });
  after(async () => {
    for (const i of instances) { try { i.C_Finalize(); } catch { /* already */ } }
    await srv.close();
  });

  function rsaPair(label: string, extra: pkcs11js.Template = []) {
    return p.C_GenerateKeyPair(s, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 }, { type: pkcs11js.CKA_LABEL, value: label }],
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: label }, ...extra]);
  }
  function rsaPublic(pub: Buffer): crypto.KeyObject {
    const [n, e] = p.C_GetAttributeValue(s, pub, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
    return crypto.createPublicKey({ key: { kty: 'RSA', n: (n.value as Buffer).toString('base64url'), e: (e.value as Buffer).toString('base64url') }, format: 'jwk' });
  }

  test('attribute edge cases: UTF-8 labels, empty values, dates, mechanism lists, sensitive and unknown types', () => {
    const label = 'ключ-鍵-🔑';
    const start = Buffer.from('20250101');
    const { publicKey, privateKey } = rsaPair(label, [
      { type: pkcs11js.CKA_ALLOWED_MECHANISMS, value: Buffer.concat([0x40, 0x1].map((m) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(m)); return b; })) },
      { type: pkcs11js.CKA_START_DATE, value: start },
    ]);
    const [lbl, id, cls, sign, sensitive, date, mechs] = p.C_GetAttributeValue(s, privateKey, [
      { type: pkcs11js.CKA_LABEL }, { type: pkcs11js.CKA_ID }, { type: pkcs11js.CKA_CLASS }, { type: pkcs11js.CKA_SIGN },
      { type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_START_DATE }, { type: pkcs11js.CKA_ALLOWED_MECHANISMS },
    ]);
    assert.equal((lbl.value as Buffer).toString('utf8'), label);
    // No CKA_ID in either template: both halves get SHA-1 of the public key (what Java and NSS pair certificates by).
    const [pubId, spki] = p.C_GetAttributeValue(s, publicKey, [{ type: pkcs11js.CKA_ID }, { type: 0x129 /* CKA_PUBLIC_KEY_INFO */ }]);
    assert.deepEqual(id.value, crypto.createHash('sha1').update(spki.value as Buffer).digest());
    assert.deepEqual(pubId.value, id.value);
    assert.equal((cls.value as Buffer).readUInt32LE(0), pkcs11js.CKO_PRIVATE_KEY);
    assert.deepEqual([(sign.value as Buffer)[0], (sensitive.value as Buffer)[0]], [1, 1]);
    assert.deepEqual(date.value, start);
    assert.equal((mechs.value as Buffer).length, 16);
    assert.equal((mechs.value as Buffer).readUInt32LE(0), 0x40);
    const [bits] = p.C_GetAttributeValue(s, publicKey, [{ type: pkcs11js.CKA_MODULUS_BITS }]);
    assert.equal((bits.value as Buffer).readUInt32LE(0), 2048);
    assert.match(ckr(() => p.C_GetAttributeValue(s, privateKey, [{ type: pkcs11js.CKA_PRIVATE_EXPONENT }])), /CKR_ATTRIBUTE_SENSITIVE/);
    assert.match(ckr(() => p.C_GetAttributeValue(s, privateKey, [{ type: 0x81234567 }])), /CKR_ATTRIBUTE_TYPE_INVALID/);
    p.C_SetAttributeValue(s, privateKey, [{ type: pkcs11js.CKA_LABEL, value: 'renamed' }]);
    assert.equal((p.C_GetAttributeValue(s, privateKey, [{ type: pkcs11js.CKA_LABEL }])[0].value as Buffer).toString(), 'renamed');
    assert.match(ckr(() => p.C_SetAttributeValue(s, privateKey, [{ type: pkcs11js.CKA_SENSITIVE, value: false }])), /CKR_ATTRIBUTE_READ_ONLY/);
    // ALLOWED_MECHANISMS excludes SHA1_RSA_PKCS (0x6).
    assert.match(ckr(() => p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA1_RSA_PKCS }, privateKey)), /CKR_MECHANISM_INVALID/);
  });

  test('size queries: a too-small buffer gives CKR_BUFFER_TOO_SMALL, then the same operation completes', () => {
    const { publicKey, privateKey } = rsaPair('size-query');
    const data = Buffer.from('size query data');
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, privateKey);
    assert.match(ckr(() => p.C_Sign(s, data, Buffer.alloc(16))), /CKR_BUFFER_TOO_SMALL/);
    const sig = p.C_Sign(s, data, Buffer.alloc(512));
    assert.equal(sig.length, 256);
    assert.ok(crypto.verify('sha256', data, rsaPublic(publicKey), sig));
    p.C_DigestInit(s, { mechanism: pkcs11js.CKM_SHA256 });
    assert.match(ckr(() => p.C_Digest(s, data, Buffer.alloc(8))), /CKR_BUFFER_TOO_SMALL/);
    assert.deepEqual(p.C_Digest(s, data, Buffer.alloc(32)), crypto.createHash('sha256').update(data).digest());
  });

  test('multi-part sign, verify, digest and AES-ECB encrypt/decrypt', () => {
    const { publicKey, privateKey } = rsaPair('multi-part');
    const parts = [Buffer.from('first part, '), Buffer.from('second part, '), Buffer.alloc(100_000, 7)];
    const all = Buffer.concat(parts);
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, privateKey);
    for (const part of parts) p.C_SignUpdate(s, part);
    const sig = p.C_SignFinal(s, Buffer.alloc(256));
    assert.ok(crypto.verify('sha256', all, rsaPublic(publicKey), sig));
    p.C_VerifyInit(s, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, publicKey);
    for (const part of parts) p.C_VerifyUpdate(s, part);
    assert.equal(p.C_VerifyFinal(s, sig), true);
    p.C_DigestInit(s, { mechanism: pkcs11js.CKM_SHA512 });
    for (const part of parts) p.C_DigestUpdate(s, part);
    assert.deepEqual(p.C_DigestFinal(s, Buffer.alloc(64)), crypto.createHash('sha512').update(all).digest());

    const aes = p.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 }, { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_EXTRACTABLE, value: true }, { type: pkcs11js.CKA_SENSITIVE, value: false },
    ]);
    const plain = crypto.randomBytes(64);
    p.C_EncryptInit(s, { mechanism: pkcs11js.CKM_AES_ECB }, aes);
    const ct = Buffer.concat([p.C_EncryptUpdate(s, plain.subarray(0, 32), Buffer.alloc(64)), p.C_EncryptUpdate(s, plain.subarray(32), Buffer.alloc(64)), p.C_EncryptFinal(s, Buffer.alloc(64))]);
    const keyBytes = p.C_GetAttributeValue(s, aes, [{ type: pkcs11js.CKA_VALUE }])[0].value as Buffer;
    const expected = crypto.createCipheriv('aes-256-ecb', keyBytes, null).setAutoPadding(false);
    assert.deepEqual(ct, Buffer.concat([expected.update(plain), expected.final()]));
    p.C_DecryptInit(s, { mechanism: pkcs11js.CKM_AES_ECB }, aes);
    const back = Buffer.concat([p.C_DecryptUpdate(s, ct, Buffer.alloc(64)), p.C_DecryptFinal(s, Buffer.alloc(64))]);
    assert.deepEqual(back, plain);
  });

  test('concurrent sessions from worker threads, each on its own connection', async () => {
    const id = crypto.randomBytes(4);
    const { publicKey } = p.C_GenerateKeyPair(s, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: P256 }, { type: pkcs11js.CKA_ID, value: id }],
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_ID, value: id }]);
    const point = p.C_GetAttributeValue(s, publicKey, [{ type: pkcs11js.CKA_EC_POINT }])[0].value as Buffer;
    const raw = point.subarray(point.length - 65);
    const pub = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
    const digest = crypto.createHash('sha256').update('from many threads').digest();
    const job: WorkerJob = { module: P11_KIT_CLIENT, address: srv.p11Address, pin: srv.pin, keyId: id.toString('hex'), digest: digest.toString('hex'), count: 25 };
    const results = await Promise.all(Array.from({ length: 4 }, () => new Promise<{ sigs?: string[]; error?: string }>((resolve, reject) => {
      const w = new Worker(path.join(__dirname, 'pkcs11js-worker.js'), { workerData: { inkanP11Worker: true, job } });
      w.once('message', resolve);
      w.once('error', reject);
    })));
    for (const r of results) {
      assert.equal(r.error, undefined);
      assert.equal(r.sigs!.length, 25);
      for (const sig of r.sigs!) assert.ok(crypto.verify('sha256', Buffer.from('from many threads'), { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'hex')));
    }
  });

  test('wrong PIN, then lockout after five failures; the SO creates the user with C_InitPIN', () => {
    const so = connect(srv);
    instances.push(so.p);
    const soSession = so.p.C_OpenSession(so.slot, RW);
    so.p.C_Login(soSession, pkcs11js.CKU_SO, srv.officerPin);
    so.p.C_InitPIN(soSession, 'locky:locky-password-1');
    so.p.C_Logout(soSession);
    const u = connect(srv);
    instances.push(u.p);
    const us = u.p.C_OpenSession(u.slot, RW);
    const codes = Array.from({ length: 5 }, () => ckr(() => u.p.C_Login(us, pkcs11js.CKU_USER, 'locky:wrong-password')));
    assert.deepEqual(codes.map((c) => /CKR_PIN_\w+/.exec(c)![0]), ['CKR_PIN_INCORRECT', 'CKR_PIN_INCORRECT', 'CKR_PIN_INCORRECT', 'CKR_PIN_INCORRECT', 'CKR_PIN_LOCKED']);
    assert.match(ckr(() => u.p.C_Login(us, pkcs11js.CKU_USER, 'locky:locky-password-1')), /CKR_PIN_LOCKED/);
    assert.match(ckr(() => u.p.C_Login(us, pkcs11js.CKU_USER, 'no-colon-here')), /CKR_PIN_INCORRECT/);
    assert.match(ckr(() => u.p.C_Login(us, pkcs11js.CKU_SO, srv.pin)), /CKR_PIN_INCORRECT/);
  });

  test('non-extractable keys refuse export: no CKA_VALUE, no wrapping; extractable ones wrap and unwrap', () => {
    const aes = (extractable: boolean) => p.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_VALUE_LEN, value: 16 }, { type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_EXTRACTABLE, value: extractable },
    ]);
    const locked = aes(false);
    const open = aes(true);
    assert.match(ckr(() => p.C_GetAttributeValue(s, locked, [{ type: pkcs11js.CKA_VALUE }])), /CKR_ATTRIBUTE_SENSITIVE/);
    const { publicKey, privateKey } = rsaPair('wrapper');
    const oaep = { mechanism: pkcs11js.CKM_RSA_PKCS_OAEP, parameter: { type: pkcs11js.CK_PARAMS_RSA_OAEP, hashAlg: pkcs11js.CKM_SHA256, mgf: pkcs11js.CKG_MGF1_SHA256, source: 1 } } as pkcs11js.Mechanism;
    assert.match(ckr(() => p.C_WrapKey(s, oaep, publicKey, locked, Buffer.alloc(512))), /CKR_KEY_UNEXTRACTABLE/);
    const wrapped = p.C_WrapKey(s, oaep, publicKey, open, Buffer.alloc(512));
    assert.equal(wrapped.length, 256);
    const unwrapped = p.C_UnwrapKey(s, oaep, privateKey, wrapped, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES }, { type: pkcs11js.CKA_TOKEN, value: false },
    ]);
    const [len] = p.C_GetAttributeValue(s, unwrapped, [{ type: pkcs11js.CKA_VALUE_LEN }]);
    assert.equal((len.value as Buffer).readUInt32LE(0), 16);
  });

  test('session objects: every session of the application sees them; closing the creating session destroys them', () => {
    const slot = p.C_GetSessionInfo(s).slotID;
    const a = p.C_OpenSession(slot, RW);
    const b = p.C_OpenSession(slot, RW);
    const key = p.C_GenerateKey(a, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_VALUE_LEN, value: 16 }, { type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_LABEL, value: 'ephemeral' }]);
    const findIn = (session: Buffer) => {
      p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: 'ephemeral' }]);
      const found = p.C_FindObjects(session, 10);
      p.C_FindObjectsFinal(session);
      return found.length;
    };
    assert.equal(findIn(b), 1);
    p.C_EncryptInit(b, { mechanism: pkcs11js.CKM_AES_ECB }, key);
    assert.equal(p.C_Encrypt(b, Buffer.alloc(16), Buffer.alloc(16)).length, 16);
    p.C_CloseSession(a);
    assert.equal(findIn(b), 0);
    p.C_CloseSession(b);
  });

  test("a crypto user does not see another user's unshared private and secret keys", () => {
    rsaPair('owned-by-user');
    const so = connect(srv);
    instances.push(so.p);
    const soSession = so.p.C_OpenSession(so.slot, RW);
    so.p.C_Login(soSession, pkcs11js.CKU_SO, srv.officerPin);
    so.p.C_InitPIN(soSession, 'other:other-password-1');
    const o = connect(srv);
    instances.push(o.p);
    const os = o.p.C_OpenSession(o.slot, RW);
    o.p.C_Login(os, pkcs11js.CKU_USER, 'other:other-password-1');
    const find = (cls: number) => {
      o.p.C_FindObjectsInit(os, [{ type: pkcs11js.CKA_CLASS, value: cls }]);
      const found = o.p.C_FindObjects(os, 100);
      o.p.C_FindObjectsFinal(os);
      return found;
    };
    assert.equal(find(pkcs11js.CKO_PRIVATE_KEY).length, 0);
    assert.equal(find(pkcs11js.CKO_SECRET_KEY).length, 0);
    // Even CKA_PRIVATE false objects: a crypto user sees only what it owns or was shared (issue #2).
    assert.equal(find(pkcs11js.CKO_PUBLIC_KEY).length, 0);
    // A handle from another connection means nothing here.
    assert.match(ckr(() => o.p.C_GetAttributeValue(os, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), [{ type: pkcs11js.CKA_LABEL }])), /CKR_OBJECT_HANDLE_INVALID/);
  });
});
