// Per-key authorisation and use limits through the real PKCS#11 stack: pkcs11js on Debian's
// p11-kit-client.so against an Inkan server in a child process. Eight worker threads (eight
// connections, eight sessions) race for a key that allows ten uses: exactly ten signatures come
// back, each verified with node:crypto; the rest are CKR_KEY_FUNCTION_NOT_PERMITTED. A key with
// its own PIN (CKA_INKAN_KEY_PIN, so CKA_ALWAYS_AUTHENTICATE) signs only right after
// C_Login(CKU_CONTEXT_SPECIFIC, key PIN), once per login; a wrong PIN is CKR_PIN_INCORRECT.
// Usage periods set relative to now refuse at C_SignInit; the limits read back as vendor attributes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';
import { CKA } from '../../src/pkcs11/constants';
import { childServer, ChildServer, P11_KIT_CLIENT } from '../interop/p11-helpers';
import type { LimitJob } from './p11-limits-worker';

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');
const RW = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;
const CONTEXT_SPECIFIC = 2;
const sha256 = (m: Buffer) => crypto.createHash('sha256').update(m).digest();

function ckr(fn: () => unknown): string {
  try { fn(); } catch (err) { return (err as Error).message.split(':')[0]; }
  return 'CKR_OK';
}
const ulong = (v: unknown) => Number((v as Buffer).readBigUInt64LE(0));

describe('per-key limits through pkcs11js and p11-kit-client.so', { timeout: 180_000 }, () => {
  let srv: ChildServer;
  let p: pkcs11js.PKCS11;
  let s: Buffer;

  before(async () => {
    srv = await childServer();
    process.env.P11_KIT_SERVER_ADDRESS = srv.p11Address;
    p = new pkcs11js.PKCS11();
    p.load(P11_KIT_CLIENT);
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    s = p.C_OpenSession(p.C_GetSlotList(true)[0], RW);
    p.C_Login(s, pkcs11js.CKU_USER, srv.pin);
  });
  after(async () => {
    try { p.C_Finalize(); } catch { /* already */ }
    await srv.close();
  });

  function ecPair(label: string, priv: pkcs11js.Template) {
    const id = crypto.randomBytes(8);
    const pair = p.C_GenerateKeyPair(s, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: P256 }, { type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_ID, value: id }],
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_ID, value: id }, { type: pkcs11js.CKA_SIGN, value: true }, ...priv]);
    const [spki] = p.C_GetAttributeValue(s, pair.publicKey, [{ type: 0x129 /* CKA_PUBLIC_KEY_INFO */ }]);
    return { ...pair, id, pub: crypto.createPublicKey({ key: spki.value as Buffer, format: 'der', type: 'spki' }) };
  }
  const verifies = (pub: crypto.KeyObject, msg: Buffer, rawSig: Buffer) => crypto.verify('sha256', msg, { key: pub, dsaEncoding: 'ieee-p1363' }, rawSig);

  test('8 sessions race for a key with 10 uses: exactly 10 signatures, all valid; CKA_INKAN_USES reads 10', async () => {
    const key = ecPair('limited-p11', [{ type: CKA.INKAN_MAX_USES, value: 10 }]);
    const job = (): LimitJob => ({ module: P11_KIT_CLIENT, address: srv.p11Address, pin: srv.pin, keyId: key.id.toString('hex'), count: 5 });
    // The workers log in one after the other: eight *simultaneous* logins of one user trip the
    // login counter (each is counted as a failure until its password is checked, users.ts), which
    // is not what this test is about. The signatures then race.
    type Result = { sigs: string[]; refusals: string[]; error?: string };
    const workers: { w: Worker; done: Promise<Result> }[] = [];
    for (let i = 0; i < 8; i++) {
      const w = new Worker(path.join(__dirname, 'p11-limits-worker.js'), { workerData: { inkanLimitWorker: true, job: job() } });
      const ready = new Promise<{ ready?: boolean; error?: string }>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
      const first = await ready;
      assert.equal(first.error, undefined);
      workers.push({ w, done: new Promise<Result>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }) });
    }
    for (const { w } of workers) w.postMessage('go');
    const results = await Promise.all(workers.map((x) => x.done));
    for (const r of results) assert.equal(r.error, undefined);
    const sigs = results.flatMap((r) => r.sigs);
    const refusals = results.flatMap((r) => r.refusals);
    assert.equal(sigs.length, 10);
    assert.equal(refusals.length, 30);
    assert.ok(refusals.every((c) => c === 'CKR_KEY_FUNCTION_NOT_PERMITTED'), refusals.join());
    // Each signature is over "message i" for the i-th attempt of its worker: check every one.
    for (const r of results) {
      let ok = 0;
      for (let i = 0; i < 5 && ok < r.sigs.length; i++) {
        // CKM_ECDSA signed SHA-256(message): node:crypto verifies it over the message.
        if (verifies(key.pub, Buffer.from(`message ${i}`), Buffer.from(r.sigs[ok], 'hex'))) ok++;
      }
      assert.equal(ok, r.sigs.length);
    }
    const [uses, max] = p.C_GetAttributeValue(s, key.privateKey, [{ type: CKA.INKAN_USES }, { type: CKA.INKAN_MAX_USES }]);
    assert.deepEqual([ulong(uses.value), ulong(max.value)], [10, 10]);
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key.privateKey);
    assert.equal(ckr(() => p.C_Sign(s, Buffer.alloc(32, 1), Buffer.alloc(64))), 'CKR_KEY_FUNCTION_NOT_PERMITTED');
  });

  test('CKA_ALWAYS_AUTHENTICATE with a key PIN: C_Login(CKU_CONTEXT_SPECIFIC) after each C_SignInit, one operation each', () => {
    const key = ecPair('pin-p11', [{ type: CKA.INKAN_KEY_PIN, value: 'key-pin-8' }]);
    const [aa] = p.C_GetAttributeValue(s, key.privateKey, [{ type: pkcs11js.CKA_ALWAYS_AUTHENTICATE }]);
    assert.equal((aa.value as Buffer)[0], 1);
    assert.equal(ckr(() => p.C_GetAttributeValue(s, key.privateKey, [{ type: CKA.INKAN_KEY_PIN }])), 'CKR_ATTRIBUTE_SENSITIVE');
    const msg = Buffer.from('signed with a key PIN');
    // No context-specific login: CKR_USER_NOT_LOGGED_IN (PKCS#11 2.40 §5.6).
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key.privateKey);
    assert.equal(ckr(() => p.C_Sign(s, sha256(msg), Buffer.alloc(64))), 'CKR_USER_NOT_LOGGED_IN');
    // A wrong key PIN, then the user's own PIN (not this key's PIN): both CKR_PIN_INCORRECT.
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key.privateKey);
    assert.equal(ckr(() => p.C_Login(s, CONTEXT_SPECIFIC, 'wrong-pin')), 'CKR_PIN_INCORRECT');
    assert.equal(ckr(() => p.C_Login(s, CONTEXT_SPECIFIC, srv.pin)), 'CKR_PIN_INCORRECT');
    p.C_Login(s, CONTEXT_SPECIFIC, 'key-pin-8');
    const sig = p.C_Sign(s, sha256(msg), Buffer.alloc(64));
    assert.equal(verifies(key.pub, msg, sig), true);
    // The login was for that one operation.
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key.privateKey);
    assert.equal(ckr(() => p.C_Sign(s, sha256(msg), Buffer.alloc(64))), 'CKR_USER_NOT_LOGGED_IN');
    // A context-specific login with no operation to authorise.
    assert.equal(ckr(() => p.C_Login(s, CONTEXT_SPECIFIC, 'key-pin-8')), 'CKR_OPERATION_NOT_INITIALIZED');
  });

  test('CKA_ALWAYS_AUTHENTICATE without a key PIN: the context-specific login is the user\'s PIN again', () => {
    const key = ecPair('reauth-p11', [{ type: pkcs11js.CKA_ALWAYS_AUTHENTICATE, value: true }]);
    const msg = Buffer.from('re-authenticated');
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key.privateKey);
    assert.equal(ckr(() => p.C_Sign(s, sha256(msg), Buffer.alloc(64))), 'CKR_USER_NOT_LOGGED_IN');
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key.privateKey);
    p.C_Login(s, CONTEXT_SPECIFIC, srv.pin);
    assert.equal(verifies(key.pub, msg, p.C_Sign(s, sha256(msg), Buffer.alloc(64))), true);
  });

  test('usage periods relative to now: before not-before and after not-after, C_SignInit is refused; verify follows its own period', () => {
    const now = Math.floor(Date.now() / 1000);
    const early = ecPair('not-yet-p11', [{ type: CKA.INKAN_USE_NOT_BEFORE, value: now + 3600 }]);
    assert.equal(ckr(() => p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, early.privateKey)), 'CKR_KEY_FUNCTION_NOT_PERMITTED');
    const late = ecPair('ended-p11', [{ type: CKA.INKAN_USE_NOT_AFTER, value: now - 5 }]);
    assert.equal(ckr(() => p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, late.privateKey)), 'CKR_KEY_FUNCTION_NOT_PERMITTED');
    const [nb] = p.C_GetAttributeValue(s, early.privateKey, [{ type: CKA.INKAN_USE_NOT_BEFORE }]);
    assert.equal(ulong(nb.value), now + 3600);
    // An open period: it signs (and a limit may not be changed afterwards).
    const open = ecPair('open-p11', [{ type: CKA.INKAN_USE_NOT_BEFORE, value: now - 60 }, { type: CKA.INKAN_USE_NOT_AFTER, value: now + 3600 }]);
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, open.privateKey);
    const msg = Buffer.from('in period');
    assert.equal(verifies(open.pub, msg, p.C_Sign(s, sha256(msg), Buffer.alloc(64))), true);
    assert.equal(ckr(() => p.C_SetAttributeValue(s, open.privateKey, [{ type: CKA.INKAN_USE_NOT_AFTER, value: now + 7200 }])), 'CKR_ATTRIBUTE_READ_ONLY');
  });
});
