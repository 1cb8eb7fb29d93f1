// PKCS#11 behaviour that google/pkcs11test measured, re-tested here from the standard with pkcs11js
// through the real p11-kit-client.so: public sessions (§5, §6.7), the partition policy's public-object
// switches, single- vs multi-part operations (§5.2), PIN flags in CK_TOKEN_INFO (§3.2), approved-only
// mode on the token, C_CopyObject (§5.7), and refusals in the audit trail and the server log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { childServer, ChildServer, P11_KIT_CLIENT } from './p11-helpers';

const RW = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;
const RO = pkcs11js.CKF_SERIAL_SESSION;
const CKF_USER_PIN_COUNT_LOW = 0x10000;
const CKF_USER_PIN_FINAL_TRY = 0x20000;
const CKF_USER_PIN_LOCKED = 0x40000;
const CKM_DES3_KEY_GEN = 0x131;

function ckr(fn: () => unknown): string {
  try { fn(); } catch (err) { return /CKR_\w+/.exec((err as Error).message)?.[0] ?? (err as Error).message; }
  return 'CKR_OK';
}

describe('PKCS#11 conformance through p11-kit-client.so (pkcs11js)', { timeout: 180_000 }, () => {
  let srv: ChildServer;
  const instances: pkcs11js.PKCS11[] = [];

  /** A fresh p11-kit-client instance: its own connection and login state. */
  function connect(): { p: pkcs11js.PKCS11; slot: Buffer } {
    process.env.P11_KIT_SERVER_ADDRESS = srv.p11Address;
    const p = new pkcs11js.PKCS11();
    p.load(P11_KIT_CLIENT);
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    instances.push(p);
    return { p, slot: p.C_GetSlotList(true)[0] };
  }
  function user(): { p: pkcs11js.PKCS11; s: Buffer; slot: Buffer } {
    const { p, slot } = connect();
    const s = p.C_OpenSession(slot, RW);
    p.C_Login(s, pkcs11js.CKU_USER, srv.pin);
    return { p, s, slot };
  }
  const policy = async (patch: Record<string, boolean>) => {
    const r = await srv.admin('officer', 'POST', '/v1/policy', patch);
    assert.equal(r.status, 200, r.text);
  };
  const find = (p: pkcs11js.PKCS11, s: Buffer, t: pkcs11js.Template = []) => {
    p.C_FindObjectsInit(s, t);
    const out = p.C_FindObjects(s, 100);
    p.C_FindObjectsFinal(s);
    return out;
  };

  before(async () => { srv = await childServer(); });
  after(async () => {
    for (const i of instances) { try { i.C_Finalize(); } catch { /* already */ } }
    await srv.close();
  });

  test('public sessions: public objects and public session objects, digests and random without a PIN; private ones stay hidden', async () => {
    const a = user();
    const id = Buffer.from('c0ffee', 'hex');
    const pair = a.p.C_GenerateKeyPair(a.s, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') }, { type: pkcs11js.CKA_ID, value: id }],
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_ID, value: id }]);
    const digest = crypto.createHash('sha256').update('public').digest();
    a.p.C_SignInit(a.s, { mechanism: pkcs11js.CKM_ECDSA }, pair.privateKey);
    const sig = a.p.C_Sign(a.s, digest, Buffer.alloc(64));

    const b = connect();
    const bs = b.p.C_OpenSession(b.slot, RO);
    const seen = find(b.p, bs, [{ type: pkcs11js.CKA_ID, value: id }]);
    assert.equal(seen.length, 1, 'only the public half is visible before login');
    assert.equal((b.p.C_GetAttributeValue(bs, seen[0], [{ type: pkcs11js.CKA_CLASS }])[0].value as Buffer).readUInt32LE(0), pkcs11js.CKO_PUBLIC_KEY);
    b.p.C_VerifyInit(bs, { mechanism: pkcs11js.CKM_ECDSA }, seen[0]);
    b.p.C_Verify(bs, digest, sig);
    assert.match(ckr(() => b.p.C_SignInit(bs, { mechanism: pkcs11js.CKM_ECDSA }, seen[0])), /CKR_KEY_FUNCTION_NOT_PERMITTED|CKR_KEY_TYPE_INCONSISTENT/);
    b.p.C_DigestInit(bs, { mechanism: pkcs11js.CKM_SHA256 });
    assert.deepEqual(b.p.C_Digest(bs, Buffer.from('public'), Buffer.alloc(32)), digest);
    assert.equal(b.p.C_GenerateRandom(bs, Buffer.alloc(32)).length, 32);
    assert.equal(b.p.C_GenerateRandom(bs, Buffer.alloc(0)).length, 0, 'zero bytes asked, zero given (pkcs11-tool --test does this)');
    // A public session object, and the refusal of a private one (§6.7: no private objects without login).
    const data = (extra: pkcs11js.Template) => [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA }, { type: pkcs11js.CKA_LABEL, value: 'pub-data' },
      { type: pkcs11js.CKA_VALUE, value: Buffer.from('hello') }, ...extra];
    const sessionObj = b.p.C_CreateObject(bs, data([{ type: pkcs11js.CKA_PRIVATE, value: false }]));
    assert.deepEqual(b.p.C_GetAttributeValue(bs, sessionObj, [{ type: pkcs11js.CKA_VALUE }])[0].value, Buffer.from('hello'));
    assert.equal(ckr(() => b.p.C_CreateObject(bs, data([{ type: pkcs11js.CKA_PRIVATE, value: true }]))), 'CKR_USER_NOT_LOGGED_IN');
    assert.equal(ckr(() => b.p.C_CreateObject(bs, data([{ type: pkcs11js.CKA_PRIVATE, value: false }, { type: pkcs11js.CKA_TOKEN, value: true }]))), 'CKR_SESSION_READ_ONLY');
    // A token object made in a R/W public session is public and owned by no user: a logged-in user sees it.
    const bw = b.p.C_OpenSession(b.slot, RW);
    const tokenObj = b.p.C_CreateObject(bw, data([{ type: pkcs11js.CKA_PRIVATE, value: false }, { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: 'nobodys' }]));
    assert.equal(find(a.p, a.s, [{ type: pkcs11js.CKA_LABEL, value: 'nobodys' }]).length, 1);
    b.p.C_DestroyObject(bw, tokenObj);

    // The partition's policy: no public token objects, then no public objects before login.
    await policy({ publicTokenObjects: false });
    assert.equal(ckr(() => b.p.C_CreateObject(bw, data([{ type: pkcs11js.CKA_PRIVATE, value: false }, { type: pkcs11js.CKA_TOKEN, value: true }]))), 'CKR_USER_NOT_LOGGED_IN');
    b.p.C_DestroyObject(bw, b.p.C_CreateObject(bw, data([{ type: pkcs11js.CKA_PRIVATE, value: false }])));
    await policy({ publicObjectsVisible: false });
    assert.equal(find(b.p, bs, [{ type: pkcs11js.CKA_ID, value: id }]).length, 0);
    await policy({ publicObjectsVisible: true, publicTokenObjects: true });
    assert.equal(find(b.p, bs, [{ type: pkcs11js.CKA_ID, value: id }]).length, 1);
  });

  test('single-part and multi-part do not mix (§5.2): CKR_OPERATION_ACTIVE, which ends the operation; ECB returns blocks as they come', () => {
    const { p, s } = user();
    p.C_DigestInit(s, { mechanism: pkcs11js.CKM_SHA256 });
    p.C_DigestUpdate(s, Buffer.from('a'));
    assert.equal(ckr(() => p.C_Digest(s, Buffer.from('b'), Buffer.alloc(32))), 'CKR_OPERATION_ACTIVE');
    assert.equal(ckr(() => p.C_DigestFinal(s, Buffer.alloc(32))), 'CKR_OPERATION_NOT_INITIALIZED');
    p.C_DigestInit(s, { mechanism: pkcs11js.CKM_SHA256 });
    assert.equal(ckr(() => p.C_Digest(s, Buffer.from('b'), Buffer.alloc(1))), 'CKR_BUFFER_TOO_SMALL');
    assert.equal(ckr(() => p.C_DigestFinal(s, Buffer.alloc(32))), 'CKR_OPERATION_ACTIVE');
    assert.equal(ckr(() => p.C_Digest(s, Buffer.from('b'), Buffer.alloc(32))), 'CKR_OPERATION_NOT_INITIALIZED');

    const keyBytes = crypto.randomBytes(32);
    const key = p.C_CreateObject(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_VALUE, value: keyBytes }, { type: pkcs11js.CKA_ENCRYPT, value: true }, { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_VERIFY, value: true }]);
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_HMAC }, key);
    p.C_SignUpdate(s, Buffer.from('part'));
    assert.equal(ckr(() => p.C_Sign(s, Buffer.from('x'), Buffer.alloc(32))), 'CKR_OPERATION_ACTIVE');
    p.C_VerifyInit(s, { mechanism: pkcs11js.CKM_SHA256_HMAC }, key);
    p.C_VerifyUpdate(s, Buffer.from('part'));
    assert.equal(ckr(() => p.C_Verify(s, Buffer.from('x'), Buffer.alloc(32))), 'CKR_OPERATION_ACTIVE');
    p.C_EncryptInit(s, { mechanism: pkcs11js.CKM_AES_ECB }, key);
    assert.equal(ckr(() => p.C_Encrypt(s, Buffer.alloc(32), Buffer.alloc(16))), 'CKR_BUFFER_TOO_SMALL');
    assert.equal(ckr(() => p.C_EncryptUpdate(s, Buffer.alloc(32), Buffer.alloc(64))), 'CKR_OPERATION_ACTIVE');

    // AES-ECB multi-part: 24 bytes give one block now, 8 more give the second, Final gives nothing.
    const plain = crypto.randomBytes(32);
    const expected = crypto.createCipheriv('aes-256-ecb', keyBytes, null).setAutoPadding(false).update(plain);
    p.C_EncryptInit(s, { mechanism: pkcs11js.CKM_AES_ECB }, key);
    const first = p.C_EncryptUpdate(s, plain.subarray(0, 24), Buffer.alloc(64));
    const second = p.C_EncryptUpdate(s, plain.subarray(24), Buffer.alloc(64));
    const last = p.C_EncryptFinal(s, Buffer.alloc(64));
    assert.deepEqual([first.length, second.length, last.length], [16, 16, 0]);
    assert.deepEqual(Buffer.concat([first, second]), expected);
  });

  test('CK_TOKEN_INFO: PIN count low after a wrong PIN, final try before the lockout, locked after it; the model says the mode', async () => {
    const so = connect();
    const ss = so.p.C_OpenSession(so.slot, RW);
    so.p.C_Login(ss, pkcs11js.CKU_SO, srv.officerPin);
    so.p.C_InitPIN(ss, 'flags:flags-password-1');
    const { p, slot } = connect();
    const s = p.C_OpenSession(slot, RO);
    const flags = () => p.C_GetTokenInfo(slot).flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
    assert.equal(flags(), 0);
    assert.equal(ckr(() => p.C_Login(s, pkcs11js.CKU_USER, 'simply-wrong')), 'CKR_PIN_INCORRECT');
    assert.equal(flags(), CKF_USER_PIN_COUNT_LOW, 'a PIN that is not "user:password" still counts for this application');
    p.C_Login(s, pkcs11js.CKU_USER, 'flags:flags-password-1');
    p.C_Logout(s);
    assert.equal(flags(), 0, 'a good login clears it');
    for (let i = 0; i < 3; i++) assert.equal(ckr(() => p.C_Login(s, pkcs11js.CKU_USER, 'flags:wrong')), 'CKR_PIN_INCORRECT');
    assert.equal(flags(), CKF_USER_PIN_COUNT_LOW);
    assert.equal(ckr(() => p.C_Login(s, pkcs11js.CKU_USER, 'flags:wrong')), 'CKR_PIN_INCORRECT');
    assert.equal(flags(), CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY);
    assert.equal(ckr(() => p.C_Login(s, pkcs11js.CKU_USER, 'flags:wrong')), 'CKR_PIN_LOCKED');
    assert.equal(flags(), CKF_USER_PIN_LOCKED);

    // Dev mode starts with approved-only off; an officer turns it on: model, mechanism list and key sizes follow.
    const info = (m: number) => p.C_GetMechanismInfo(slot, m);
    assert.equal(p.C_GetTokenInfo(slot).model.trim(), 'Inkan legacy ok');
    assert.ok(p.C_GetMechanismList(slot).includes(CKM_DES3_KEY_GEN));
    assert.equal(info(pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN).minKeySize, 1024);
    await policy({ approvedOnly: true });
    try {
      assert.equal(p.C_GetTokenInfo(slot).model.trim(), 'Inkan approved');
      assert.ok(!p.C_GetMechanismList(slot).includes(CKM_DES3_KEY_GEN));
      assert.equal(info(pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN).minKeySize, 2048);
      assert.equal(info(pkcs11js.CKM_SHA1_RSA_PKCS).flags & (pkcs11js.CKF_SIGN | pkcs11js.CKF_VERIFY), pkcs11js.CKF_VERIFY);
      const u = user();
      assert.equal(ckr(() => u.p.C_GenerateKey(u.s, { mechanism: CKM_DES3_KEY_GEN }, [])), 'CKR_MECHANISM_INVALID');
    } finally { await policy({ approvedOnly: false }); }
  });

  test('C_CopyObject (§5.7): CKA_COPYABLE, only attributes that may change, a sensitive key stays sensitive', () => {
    const { p, s } = user();
    const keyBytes = crypto.randomBytes(32);
    const key = p.C_CreateObject(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
      { type: pkcs11js.CKA_VALUE, value: keyBytes }, { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_LABEL, value: 'orig' }]);
    const copy = p.C_CopyObject(s, key, [{ type: pkcs11js.CKA_LABEL, value: 'copy' }, { type: pkcs11js.CKA_TOKEN, value: true }]);
    const [label, sensitive, local, keyGen] = p.C_GetAttributeValue(s, copy, [{ type: pkcs11js.CKA_LABEL }, { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_LOCAL }, { type: pkcs11js.CKA_KEY_GEN_MECHANISM }]);
    assert.equal((label.value as Buffer).toString(), 'copy');
    assert.deepEqual([(sensitive.value as Buffer)[0], (local.value as Buffer)[0]], [1, 0]);
    // §4.8: a key that was not generated here has CKA_KEY_GEN_MECHANISM = CK_UNAVAILABLE_INFORMATION.
    assert.equal((keyGen.value as Buffer).readBigUInt64LE(0), 0xffffffffffffffffn);
    assert.equal(ckr(() => p.C_GetAttributeValue(s, copy, [{ type: pkcs11js.CKA_VALUE }])), 'CKR_ATTRIBUTE_SENSITIVE');
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_HMAC }, copy);
    assert.deepEqual(p.C_Sign(s, Buffer.from('same key'), Buffer.alloc(32)), crypto.createHmac('sha256', keyBytes).update('same key').digest());
    assert.equal(ckr(() => p.C_CopyObject(s, key, [{ type: pkcs11js.CKA_SENSITIVE, value: false }])), 'CKR_ATTRIBUTE_READ_ONLY');
    assert.equal(ckr(() => p.C_CopyObject(s, key, [{ type: pkcs11js.CKA_VALUE, value: Buffer.alloc(32) }])), 'CKR_ATTRIBUTE_READ_ONLY');
    const fixed = p.C_CopyObject(s, key, [{ type: pkcs11js.CKA_COPYABLE, value: false }]);
    // CKR_ACTION_PROHIBITED (0x1b, PKCS#11 2.40) has no name in pkcs11js, which calls it vendor-defined.
    assert.match(ckr(() => p.C_CopyObject(s, fixed, [])), /CKR_ACTION_PROHIBITED|CKR_VENDOR_DEFINED/);
    // A data object's value may change in the copy; the original keeps its own.
    const data = p.C_CreateObject(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA }, { type: pkcs11js.CKA_VALUE, value: Buffer.from('deadbeef', 'hex') }]);
    const data2 = p.C_CopyObject(s, data, [{ type: pkcs11js.CKA_VALUE, value: Buffer.from('facefeed', 'hex') }]);
    assert.deepEqual(p.C_GetAttributeValue(s, data2, [{ type: pkcs11js.CKA_VALUE }])[0].value, Buffer.from('facefeed', 'hex'));
    assert.deepEqual(p.C_GetAttributeValue(s, data, [{ type: pkcs11js.CKA_VALUE }])[0].value, Buffer.from('deadbeef', 'hex'));
    // A read-only session copies into the session only.
    const ro = p.C_OpenSession(p.C_GetSlotList(true)[0], RO);
    assert.equal(ckr(() => p.C_CopyObject(ro, key, [{ type: pkcs11js.CKA_TOKEN, value: true }])), 'CKR_SESSION_READ_ONLY');
    assert.equal(ckr(() => p.C_FindObjectsInit(ro, [])), 'CKR_OK');
    assert.equal(ckr(() => p.C_FindObjects(ro, 0)), 'CKR_ARGUMENTS_BAD');
  });

  test('refused calls that reach the core are in the audit export and the server log with their codes', async () => {
    const { p, s } = user();
    const pair = p.C_GenerateKeyPair(s, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') }], [{ type: pkcs11js.CKA_SIGN, value: false }, { type: pkcs11js.CKA_LABEL, value: 'nosign' }]);
    assert.equal(ckr(() => p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, pair.privateKey)), 'CKR_KEY_FUNCTION_NOT_PERMITTED');
    const signer = p.C_GenerateKeyPair(s, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') }], []);
    assert.equal(ckr(() => p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, signer.privateKey)), 'CKR_KEY_TYPE_INCONSISTENT');
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, signer.privateKey);
    assert.equal(ckr(() => p.C_Sign(s, Buffer.alloc(65), Buffer.alloc(64))), 'CKR_DATA_LEN_RANGE');

    const exp = await srv.admin('auditor', 'GET', '/v1/audit/export');
    assert.equal(exp.status, 200, exp.text);
    const records = exp.text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.face === 'p11' && r.outcome === 'failure');
    const has = (op: string, code: string) => records.some((r) => r.op === op && r.code === code && r.actor === srv.accounts.user.username);
    assert.ok(has('key.sign-init', 'KEY_FUNCTION_NOT_PERMITTED'), 'C_SignInit on a key without CKA_SIGN');
    assert.ok(has('key.sign-init', 'KEY_TYPE_INCONSISTENT'), 'C_SignInit with an RSA mechanism on an EC key');
    assert.ok(has('key.sign', 'DATA_LEN_RANGE'), 'C_Sign with input the mechanism refuses');
    const logged = srv.logLines().filter((l) => l.msg === 'audit' && l.face === 'p11' && l.outcome === 'failure').map((l) => `${l.op} ${l.code}`);
    for (const want of ['key.sign-init KEY_FUNCTION_NOT_PERMITTED', 'key.sign-init KEY_TYPE_INCONSISTENT', 'key.sign DATA_LEN_RANGE']) {
      assert.ok(logged.includes(want), `server log has ${want}`);
    }
  });
});
