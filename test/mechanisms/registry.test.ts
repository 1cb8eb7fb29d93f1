// The registry states each capability once (STYLE.md convention 1): for every mechanism, the CKF
// flags C_GetMechanismInfo reports are exactly the functions it has (plus its non-function flags),
// defaults and IV lengths point at functions that exist, and approved-only mode only narrows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CKF, CKK, CKM } from '../../src/pkcs11/constants';
import { allMechanisms, defaultMechanism, FUNCTION_FLAGS, mechanismFlags, mechanismInfo, offeredMechanisms } from '../../src/mechanisms/registry';

/** Written out here from PKCS#11 2.40 §3.5 rather than taken from src. */
const FLAG_OF: Record<string, number> = {
  encrypt: 0x100, decrypt: 0x200, digest: 0x400, sign: 0x800, verify: 0x2000, wrap: 0x20000, unwrap: 0x40000, derive: 0x80000,
};
const FUNCTION_BITS = Object.values(FLAG_OF).reduce((a, b) => a | b, 0) | 0x8000 | 0x10000;

test('every mechanism: a CKF flag is set exactly when its function exists', () => {
  assert.equal(FUNCTION_FLAGS.length, Object.keys(FLAG_OF).length);
  for (const m of allMechanisms()) {
    const flags = mechanismFlags(m);
    for (const [fn, bit] of Object.entries(FLAG_OF)) {
      const has = typeof (m as unknown as Record<string, unknown>)[fn] === 'function';
      assert.equal((flags & bit) !== 0, has, `${m.name}: flag for ${fn}`);
    }
    const generates = typeof m.generate === 'function';
    assert.equal(generates, m.generates !== undefined, `${m.name}: generate() and \`generates\` go together`);
    assert.equal((flags & 0x8000) !== 0, generates && m.generates === 'secret', `${m.name}: CKF_GENERATE`);
    assert.equal((flags & 0x10000) !== 0, generates && m.generates === 'pair', `${m.name}: CKF_GENERATE_KEY_PAIR`);
    assert.equal((m.extraFlags ?? 0) & FUNCTION_BITS, 0, `${m.name}: extraFlags holds only non-function flags`);
  }
});

test('no mechanism advertises wrapping it cannot do (AES ECB/CBC wrap; RSA PKCS#1 v1.5 neither decrypts nor unwraps)', () => {
  for (const type of [CKM.AES_ECB, CKM.AES_CBC, CKM.AES_CBC_PAD]) {
    const m = allMechanisms().find((x) => x.type === type)!;
    assert.ok(m.wrap && m.unwrap, m.name);
  }
  const rsa = allMechanisms().find((x) => x.type === CKM.RSA_PKCS)!;
  assert.equal(mechanismFlags(rsa) & (CKF.DECRYPT | CKF.UNWRAP), 0);
});

test('key sizes, IV lengths and defaults are consistent with the functions', () => {
  const seen = new Set<number>();
  for (const m of allMechanisms()) {
    assert.ok(!seen.has(m.type), `${m.name} registered once`);
    seen.add(m.type);
    assert.ok(m.minKeySize <= m.maxKeySize, m.name);
    for (const size of m.keySizes ?? []) assert.ok(size >= m.minKeySize && size <= m.maxKeySize, `${m.name} size ${size}`);
    if (m.ivLength !== undefined) assert.ok(m.encrypt && m.decrypt, `${m.name} has an IV, so it encrypts`);
    if (m.blockwise !== undefined) assert.ok(m.encrypt && m.ivLength === undefined, `${m.name}: blocks stand alone only without an IV`);
    for (const d of m.defaultFor ?? []) {
      assert.equal(typeof (m as unknown as Record<string, unknown>)[d.use], 'function', `${m.name} default for ${d.use}`);
      for (const k of d.keyTypes) assert.ok(m.keyTypes.includes(k), `${m.name} default takes key type ${k}`);
    }
    if (m.overDigest) assert.ok(allMechanisms().some((x) => x.type === m.overDigest!.type && x.sign), `${m.name}: over-digest form signs`);
  }
  const kmsNames = allMechanisms().filter((m) => m.kms).map((m) => m.kms!.name);
  assert.equal(new Set(kmsNames).size, kmsNames.length, 'KMS names are unique');
  // One default per (use, key type), as the admin face relies on.
  assert.equal(defaultMechanism('sign', CKK.RSA)?.type, CKM.SHA256_RSA_PKCS);
  assert.equal(defaultMechanism('encrypt', CKK.AES)?.type, CKM.AES_GCM);
  assert.equal(defaultMechanism('wrap', CKK.AES)?.type, CKM.AES_KEY_WRAP_PAD);
  assert.equal(defaultMechanism('encrypt', CKK.EC), undefined);
});

test('approved-only mode narrows the registry and never widens it', () => {
  const all = allMechanisms();
  const approved = offeredMechanisms(true);
  assert.equal(offeredMechanisms(false).length, all.length);
  for (const type of [CKM.DES_KEY_GEN, CKM.DES_ECB, CKM.DES3_KEY_GEN, CKM.DES3_ECB, CKM.DES3_CBC, CKM.DES3_CBC_PAD]) {
    assert.ok(!approved.some((m) => m.type === type), `0x${type.toString(16)} is not offered`);
    assert.throws(() => mechanismInfo(all.find((m) => m.type === type)!, true), { code: 'MECHANISM_INVALID' });
  }
  for (const m of approved) {
    const legacy = mechanismInfo(m, false);
    const strict = mechanismInfo(m, true);
    assert.ok(strict.minKeySize >= legacy.minKeySize && strict.maxKeySize === legacy.maxKeySize, m.name);
    assert.equal(strict.flags & ~legacy.flags, 0, `${m.name}: no flag appears in approved-only mode`);
  }
  const info = (type: number, strict: boolean) => mechanismInfo(all.find((m) => m.type === type)!, strict);
  assert.deepEqual([info(CKM.RSA_PKCS_KEY_PAIR_GEN, false).minKeySize, info(CKM.RSA_PKCS_KEY_PAIR_GEN, true).minKeySize], [1024, 2048]);
  assert.deepEqual([info(CKM.SHA256_HMAC, false).minKeySize, info(CKM.SHA256_HMAC, true).minKeySize], [1, 32]);
  // SHA-1 signatures: verification stays, signing goes (SP 800-131A Rev. 2 §9).
  assert.equal(info(CKM.SHA1_RSA_PKCS, true).flags & (CKF.SIGN | CKF.VERIFY), CKF.VERIFY);
  assert.equal(info(CKM.ECDSA_SHA1, false).flags & (CKF.SIGN | CKF.VERIFY), CKF.SIGN | CKF.VERIFY);
});
