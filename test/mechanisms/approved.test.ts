// Approved-only mode (mechanisms/approved.ts) as the core applies it: legacy algorithms and key sizes
// are refused when a key is made AND at every use, and allowed once an officer switches the mode
// off. DES, DES3 and 4-byte HMAC keys are checked against openssl (RFC 4231, FIPS 81 vectors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CKA, CKK, CKM, CKO } from '../../src/pkcs11/constants';
import type { TestModule } from '../helpers/harness';
import { hex, openssl, opensslKeyPair, rejectsWith, tpl, withModule } from './openssl-fixtures';

const JEFE = Buffer.from('Jefe');
const JEFE_DATA = Buffer.from('what do ya want for nothing?');
/** RFC 4231 test case 2, HMAC-SHA-256. */
const JEFE_SHA256 = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';

const secret = (keyType: number, value: Buffer, extra: [number, boolean][] = []) =>
  tpl([CKA.CLASS, CKO.SECRET_KEY], [CKA.KEY_TYPE, keyType], [CKA.VALUE, value], [CKA.TOKEN, true], ...extra);
const setApproved = (m: TestModule, approvedOnly: boolean) => m.hsm.partitions.setPolicy(m.officer, { approvedOnly });

test('approved-only (the production default) refuses legacy keys at creation: DES, DES3, RSA-1024, a 4-byte HMAC key', async () => {
  await withModule(async (m, s) => {
    assert.equal((await m.hsm.partitions.readPolicy(m.officer)).approvedOnly, true);
    await rejectsWith(m.hsm.keys.generateKey(m.caller, CKM.DES3_KEY_GEN, tpl()), 'MECHANISM_INVALID');
    await rejectsWith(m.hsm.keys.generateKey(m.caller, CKM.DES_KEY_GEN, tpl()), 'MECHANISM_INVALID');
    await rejectsWith(m.hsm.keys.createObject(m.caller, secret(CKK.DES3, Buffer.alloc(24, 1))), 'TEMPLATE_INCONSISTENT');
    await rejectsWith(m.hsm.keys.generateKeyPair(m.caller, CKM.RSA_PKCS_KEY_PAIR_GEN, tpl([CKA.MODULUS_BITS, 1024]), tpl()), 'KEY_SIZE_RANGE');
    const rsa1024 = opensslKeyPair(s, 'r1024', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']);
    await rejectsWith(m.hsm.keys.importKey(m.caller, rsa1024.privPem, 'key', tpl()), 'KEY_SIZE_RANGE');
    await rejectsWith(m.hsm.keys.importKey(m.caller, rsa1024.pubPem, 'key', tpl()), 'KEY_SIZE_RANGE');
    // "Jefe" (RFC 4231 case 2) is refused when it is made, not first accepted and then refused at C_Sign.
    await rejectsWith(m.hsm.keys.createObject(m.caller, secret(CKK.GENERIC_SECRET, JEFE)), 'KEY_SIZE_RANGE');
    await rejectsWith(m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, tpl([CKA.VALUE_LEN, 10])), 'KEY_SIZE_RANGE');
    assert.equal((await m.hsm.lookup.find(m.caller)).length, 0, 'nothing was created by the refusals');
  }, { approvedOnly: true });
});

test('approved-only at use: SHA-1 signing refused but SHA-1 verification allowed; HMAC keys shorter than the hash refused', async () => {
  await withModule(async (m) => {
    const pair = await m.hsm.keys.generateKeyPair(m.caller, CKM.RSA_PKCS_KEY_PAIR_GEN, tpl([CKA.MODULUS_BITS, 2048]), tpl());
    const msg = Buffer.from('signed with SHA-1 before the mode changed');
    await rejectsWith(m.hsm.crypto.sign(m.caller, pair.privateKey, CKM.SHA1_RSA_PKCS, {}, msg), 'MECHANISM_INVALID');
    await rejectsWith(m.hsm.crypto.sign(m.caller, pair.privateKey, CKM.RSA_PKCS_PSS, { hashAlg: CKM.SHA_1, mgf: 1, saltLength: 20 }, Buffer.alloc(20)),
      'MECHANISM_PARAM_INVALID');
    await setApproved(m, false);
    const sig = await m.hsm.crypto.sign(m.caller, pair.privateKey, CKM.SHA1_RSA_PKCS, {}, msg);
    await setApproved(m, true);
    assert.equal(await m.hsm.crypto.verify(m.caller, pair.publicKey, CKM.SHA1_RSA_PKCS, {}, msg, sig), true, 'legacy use: verification');
    // A 20-byte key is approved for HMAC-SHA-1 and too short for HMAC-SHA-256 (checked at C_SignInit too).
    const k20 = await m.hsm.keys.createObject(m.caller, secret(CKK.GENERIC_SECRET, Buffer.alloc(20, 0x0b), [[CKA.SIGN, true]]));
    assert.equal(hex(await m.hsm.crypto.sign(m.caller, k20, CKM.SHA_1_HMAC, {}, Buffer.from('Hi There'))), 'b617318655057264e28bc0b6fb378c8ef146be00');
    await rejectsWith(m.hsm.crypto.checkUse(m.caller, k20, 'sign', CKM.SHA256_HMAC), 'KEY_SIZE_RANGE');
    await rejectsWith(m.hsm.crypto.sign(m.caller, k20, CKM.SHA256_HMAC, {}, Buffer.from('Hi There')), 'KEY_SIZE_RANGE');
  }, { approvedOnly: true });
});

test('with approved-only off, DES, DES3, RSA-1024 and "Jefe" work and match openssl; switched back on, each is refused at use and copy', async () => {
  await withModule(async (m, s) => {
    await setApproved(m, false);
    // FIPS 81 / pkcs11test vectors, and openssl for a random block.
    const des = await m.hsm.keys.createObject(m.caller, secret(CKK.DES, Buffer.from('8000000000000000', 'hex'), [[CKA.ENCRYPT, true], [CKA.DECRYPT, true]]));
    assert.equal(hex(await m.hsm.crypto.encrypt(m.caller, des, CKM.DES_ECB, {}, Buffer.alloc(8))), '95a8d72813daa94d');
    const des3 = await m.hsm.keys.generateKey(m.caller, CKM.DES3_KEY_GEN, tpl([CKA.SENSITIVE, false], [CKA.EXTRACTABLE, true]));
    const des3Value = (await m.hsm.lookup.readAttributes(m.caller, des3, [CKA.VALUE])).get(CKA.VALUE) as { value: Buffer };
    assert.equal(des3Value.value.length, 24);
    for (const b of des3Value.value) assert.equal(b.toString(2).split('1').length % 2, 0, 'odd parity in every byte');
    const iv = Buffer.from('0102030405060708', 'hex');
    const plain = Buffer.from('DES3 plaintext, not block-aligned');
    const ct = await m.hsm.crypto.encrypt(m.caller, des3, CKM.DES3_CBC_PAD, { iv }, plain);
    assert.deepEqual(openssl(['enc', '-d', '-des-ede3-cbc', '-K', hex(des3Value.value), '-iv', hex(iv)], ct), plain);
    assert.deepEqual(await m.hsm.crypto.decrypt(m.caller, des3, CKM.DES3_CBC_PAD, { iv }, ct), plain);
    const ecb = await m.hsm.crypto.encrypt(m.caller, des3, CKM.DES3_ECB, {}, Buffer.alloc(16, 7));
    assert.deepEqual(ecb, openssl(['enc', '-des-ede3', '-nopad', '-K', hex(des3Value.value)], Buffer.alloc(16, 7)));
    const jefe = await m.hsm.keys.createObject(m.caller, secret(CKK.GENERIC_SECRET, JEFE, [[CKA.SIGN, true]]));
    assert.equal(hex(await m.hsm.crypto.sign(m.caller, jefe, CKM.SHA256_HMAC, {}, JEFE_DATA)), JEFE_SHA256);
    const rsa = await m.hsm.keys.generateKeyPair(m.caller, CKM.RSA_PKCS_KEY_PAIR_GEN, tpl([CKA.MODULUS_BITS, 1024]), tpl([CKA.TOKEN, true]));
    const sig = await m.hsm.crypto.sign(m.caller, rsa.privateKey, CKM.SHA256_RSA_PKCS, {}, JEFE_DATA);
    assert.equal(sig.length, 128);

    // The same keys, the partition back in approved-only mode: every use and every copy is refused.
    await setApproved(m, true);
    await rejectsWith(m.hsm.crypto.encrypt(m.caller, des3, CKM.DES3_ECB, {}, Buffer.alloc(8)), 'MECHANISM_INVALID');
    await rejectsWith(m.hsm.crypto.checkUse(m.caller, des, 'encrypt', CKM.DES_ECB), 'MECHANISM_INVALID');
    await rejectsWith(m.hsm.crypto.sign(m.caller, jefe, CKM.SHA256_HMAC, {}, JEFE_DATA), 'KEY_SIZE_RANGE');
    await rejectsWith(m.hsm.crypto.sign(m.caller, rsa.privateKey, CKM.SHA256_RSA_PKCS, {}, JEFE_DATA), 'KEY_SIZE_RANGE');
    await rejectsWith(m.hsm.crypto.verify(m.caller, rsa.publicKey, CKM.SHA256_RSA_PKCS, {}, JEFE_DATA, sig), 'KEY_SIZE_RANGE');
    await rejectsWith(m.hsm.keys.copyObject(m.caller, jefe, tpl()), 'KEY_SIZE_RANGE');
    await rejectsWith(m.hsm.keys.copyObject(m.caller, des3, tpl()), 'TEMPLATE_INCONSISTENT');
    void s;
  }, { approvedOnly: true });
});

test('only an officer sets the policy; bad fields change nothing; every change is an audited operation', async () => {
  await withModule(async (m) => {
    await rejectsWith(m.hsm.partitions.setPolicy(m.caller, { approvedOnly: false }), 'FORBIDDEN');
    await rejectsWith(m.hsm.partitions.readPolicy(m.caller), 'FORBIDDEN');
    for (const bad of [{}, { approvedOnly: 'no' }, { fipsMode: true }, { maxObjects: 0 }, { approvedOnly: false, colour: 'red' }]) {
      await rejectsWith(m.hsm.partitions.setPolicy(m.officer, bad), 'BAD_REQUEST');
    }
    assert.equal((await m.hsm.partitions.readPolicy(m.officer)).approvedOnly, true, 'nothing changed');
    const after = await m.hsm.partitions.setPolicy(m.officer, { approvedOnly: false, publicTokenObjects: false });
    assert.deepEqual([after.approvedOnly, after.publicTokenObjects, after.publicObjectsVisible], [false, false, true]);
    await m.hsm.users.create(m.officer, 'aud', 'auditor', 'auditor-password-1');
    const auditor = m.as(await m.hsm.login('aud', 'auditor-password-1'));
    const lines: string[] = [];
    for await (const l of await m.hsm.auditExport(auditor, {})) lines.push(l);
    const records = lines.map((l) => JSON.parse(l)).filter((r) => r.op === 'partition.set-policy');
    assert.deepEqual(records.map((r) => [r.outcome, r.code ?? null]), [
      ['failure', 'FORBIDDEN'], ...Array(5).fill(['failure', 'BAD_REQUEST']), ['success', null]]);
    assert.equal(records.at(-1).detail, 'approvedOnly=false,publicTokenObjects=false');
  }, { approvedOnly: true });
});
