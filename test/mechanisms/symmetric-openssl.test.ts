// Symmetric mechanisms checked by a second implementation: HMAC (PKCS#11 2.40 §2.17-2.20) and AES
// ECB/CBC/CBC-PAD/CTR (§2.8) against the openssl CLI; AES-GCM (§2.8.11) against node:crypto,
// because `openssl enc` has no AEAD modes; AES key wrap (RFC 3394 / RFC 5649, §2.14) against
// `openssl enc -id-aesN-wrap[-pad]`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { CKA, CKK, CKM, CKO } from '../../src/pkcs11/constants';
import type { TestModule } from '../helpers/harness';
import type { HsmObject } from '../../src/core/hsm-object';
import { ecdsaRawToDer, hex, openssl, opensslOk, rejectsWith, tpl, withModule } from './openssl-fixtures';

const seq = (n: number, start = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));

test('HMAC SHA-1/224/256/384/512 with an imported secret equals openssl dgst -mac HMAC', async () => {
  await withModule(async (m, s) => {
    const keyBytes = seq(32, 0x40);
    const key = await m.hsm.keys.importKey(m.caller, keyBytes, 'secret', tpl([CKA.SIGN, true], [CKA.VERIFY, true]));
    const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over and again.');
    const dataPath = s.put('data.bin', data);
    const cases = [
      ['sha1', CKM.SHA_1_HMAC], ['sha224', CKM.SHA224_HMAC], ['sha256', CKM.SHA256_HMAC],
      ['sha384', CKM.SHA384_HMAC], ['sha512', CKM.SHA512_HMAC],
    ] as const;
    for (const [h, ckm] of cases) {
      const mac = await m.hsm.crypto.sign(m.caller, key, ckm, {}, data);
      const expected = openssl(['dgst', `-${h}`, '-mac', 'HMAC', '-macopt', `hexkey:${hex(keyBytes)}`, '-binary', dataPath]);
      assert.deepEqual(mac, expected, h);
      assert.equal(await m.hsm.crypto.verify(m.caller, key, ckm, {}, data, expected), true);
    }
    // RFC 4231 test case 1 as a fixed anchor (key 0x0b × 20, "Hi There").
    const rfcKey = await m.hsm.keys.importKey(m.caller, Buffer.alloc(20, 0x0b), 'secret', tpl([CKA.SIGN, true]));
    assert.equal(hex(await m.hsm.crypto.sign(m.caller, rfcKey, CKM.SHA256_HMAC, {}, Buffer.from('Hi There'))),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
  });
});

/** Imports AES key bytes usable for encrypt/decrypt/wrap/unwrap. */
function importAes(m: TestModule, bytes: Buffer, extra: [number, boolean][] = []): Promise<HsmObject> {
  return m.hsm.keys.importKey(m.caller, bytes, 'aes', tpl([CKA.ENCRYPT, true], [CKA.DECRYPT, true], ...extra));
}

test('AES-128/256 ECB, CBC, CBC-PAD and CTR equal openssl enc in both directions', async (t) => {
  await withModule(async (m, s) => {
    const iv = seq(16, 0xa0);
    // CTR counter block near a 64-bit boundary, so the carry into the upper half is exercised.
    const ctrIv = Buffer.from('f0f1f2f3f4f5f6f7fffffffffffffffe', 'hex');
    const aligned = seq(64, 7);
    const ragged = seq(45, 99);
    for (const bytes of [16, 32]) {
      await t.test(`AES-${bytes * 8}`, async () => {
        const keyBytes = seq(bytes, bytes);
        const key = await importAes(m, keyBytes);
        const cases = [
          { mode: 'ecb', ckm: CKM.AES_ECB, iv: undefined, pad: false, data: aligned },
          { mode: 'cbc', ckm: CKM.AES_CBC, iv, pad: false, data: aligned },
          { mode: 'cbc', ckm: CKM.AES_CBC_PAD, iv, pad: true, data: ragged },
          { mode: 'cbc', ckm: CKM.AES_CBC_PAD, iv, pad: true, data: aligned },
          { mode: 'ctr', ckm: CKM.AES_CTR, iv: ctrIv, pad: false, data: ragged },
        ];
        for (const c of cases) {
          const label = `${c.mode}${c.pad ? '-pad' : ''} ${c.data.length} bytes`;
          const args = ['enc', `-aes-${bytes * 8}-${c.mode}`, '-K', hex(keyBytes), ...(c.iv ? ['-iv', hex(c.iv)] : []), ...(c.pad ? [] : ['-nopad'])];
          const params = c.iv ? { iv: c.iv } : {};
          const ours = await m.hsm.crypto.encrypt(m.caller, key, c.ckm, params, c.data);
          const theirs = openssl([...args, '-in', s.put('pt.bin', c.data)]);
          assert.deepEqual(ours, theirs, `${label}: module ciphertext equals openssl's`);
          assert.deepEqual(openssl([...args, '-d', '-in', s.put('ct.bin', ours)]), c.data, `${label}: openssl decrypts the module's`);
          assert.deepEqual(await m.hsm.crypto.decrypt(m.caller, key, c.ckm, params, theirs), c.data, `${label}: module decrypts openssl's`);
        }
        // CBC-PAD: a ciphertext with broken padding is ENCRYPTED_DATA_INVALID, not garbage.
        const ct = openssl(['enc', `-aes-${bytes * 8}-cbc`, '-K', hex(keyBytes), '-iv', hex(iv), '-nopad', '-in', s.put('pt.bin', seq(32, 1))]);
        const last = openssl(['enc', `-aes-${bytes * 8}-cbc`, '-K', hex(keyBytes), '-iv', hex(iv), '-nopad', '-d', '-in', s.put('ct.bin', ct)]);
        assert.deepEqual(last, seq(32, 1));
        await rejectsWith(m.hsm.crypto.decrypt(m.caller, key, CKM.AES_CBC_PAD, { iv }, ct), 'ENCRYPTED_DATA_INVALID');
      });
    }
  });
});

test('AES-GCM agrees with node:crypto (openssl enc has no AEAD); a tampered tag is ENCRYPTED_DATA_INVALID', async () => {
  await withModule(async (m) => {
    for (const bytes of [16, 32]) {
      const keyBytes = seq(bytes, 0x11);
      const key = await importAes(m, keyBytes);
      const iv = seq(12, 0x33);
      const aad = Buffer.from('header that is authenticated, not encrypted');
      const pt = seq(77, 5);
      for (const tagBits of [128, 96]) {
        const params = { iv, aad, tagBits };
        const out = await m.hsm.crypto.encrypt(m.caller, key, CKM.AES_GCM, params, pt);
        // node:crypto here is only the reference implementation; it never touches the module's key object.
        const ref = nodeCrypto.createCipheriv(`aes-${bytes * 8}-gcm` as nodeCrypto.CipherGCMTypes, keyBytes, iv, { authTagLength: tagBits / 8 });
        ref.setAAD(aad);
        const expected = Buffer.concat([ref.update(pt), ref.final(), ref.getAuthTag()]);
        assert.deepEqual(out, expected, `AES-${bytes * 8}-GCM tag ${tagBits}: ciphertext ‖ tag`);
        assert.deepEqual(await m.hsm.crypto.decrypt(m.caller, key, CKM.AES_GCM, params, expected), pt);

        const tampered = Buffer.from(expected);
        tampered[tampered.length - 1] ^= 1;
        await rejectsWith(m.hsm.crypto.decrypt(m.caller, key, CKM.AES_GCM, params, tampered), 'ENCRYPTED_DATA_INVALID');
        await rejectsWith(m.hsm.crypto.decrypt(m.caller, key, CKM.AES_GCM, { ...params, aad: Buffer.from('other') }, expected),
          'ENCRYPTED_DATA_INVALID');
      }
    }
  });
});

test('AES key wrap (RFC 3394) and key wrap with padding (RFC 5649) unwrap in openssl; unwrap round trips', async () => {
  await withModule(async (m, s) => {
    const kekBytes = seq(32);
    const kek = await m.hsm.keys.importKey(m.caller, kekBytes, 'aes', tpl([CKA.WRAP, true], [CKA.UNWRAP, true], [CKA.ENCRYPT, true]));
    const unwrapArgs = (pad: boolean) => ['enc', '-d', pad ? '-id-aes256-wrap-pad' : '-id-aes256-wrap',
      '-iv', pad ? 'A65959A6' : 'A6A6A6A6A6A6A6A6', '-K', hex(kekBytes)];

    // RFC 3394 §4.6 (256-bit KEK, 256-bit key data) as a fixed anchor, through C_Encrypt.
    const rfcData = Buffer.from('00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f', 'hex');
    assert.equal(hex(await m.hsm.crypto.encrypt(m.caller, kek, CKM.AES_KEY_WRAP, {}, rfcData)),
      '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21');

    // An extractable AES-256 key wrapped with AES_KEY_WRAP; a 20-byte generic secret with AES_KEY_WRAP_PAD.
    const aesBytes = seq(32, 0xc0);
    const aesTarget = await importAes(m, aesBytes, [[CKA.EXTRACTABLE, true]]);
    const wrapped = await m.hsm.crypto.wrap(m.caller, kek, CKM.AES_KEY_WRAP, {}, aesTarget);
    assert.equal(wrapped.length, 40);
    assert.deepEqual(openssl([...unwrapArgs(false), '-in', s.put('w.bin', wrapped)]), aesBytes);

    const secretBytes = seq(20, 0x70);
    const secretTarget = await m.hsm.keys.importKey(m.caller, secretBytes, 'secret', tpl([CKA.EXTRACTABLE, true], [CKA.SIGN, true]));
    const wrappedPad = await m.hsm.crypto.wrap(m.caller, kek, CKM.AES_KEY_WRAP_PAD, {}, secretTarget);
    assert.equal(wrappedPad.length, 32);
    assert.deepEqual(openssl([...unwrapArgs(true), '-in', s.put('wp.bin', wrappedPad)]), secretBytes);

    // A private key wraps as PKCS#8, which openssl parses after unwrapping.
    const pair = await m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN, tpl([CKA.EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex')]),
      tpl([CKA.EXTRACTABLE, true]));
    const wrappedPriv = await m.hsm.crypto.wrap(m.caller, kek, CKM.AES_KEY_WRAP_PAD, {}, pair.privateKey);
    const pkcs8 = openssl([...unwrapArgs(true), '-in', s.put('wpriv.bin', wrappedPriv)]);
    const pubFromOpenssl = openssl(['pkey', '-inform', 'DER', '-in', s.put('priv.der', pkcs8), '-pubout', '-outform', 'DER']);
    assert.deepEqual(pubFromOpenssl, await m.hsm.lookup.exportPublic(m.caller, pair.publicKey));

    // Non-extractable keys refuse to be wrapped (PKCS#11 2.40 §4.9, CKR_KEY_UNEXTRACTABLE).
    const locked = await importAes(m, seq(16, 0x99));
    await rejectsWith(m.hsm.crypto.wrap(m.caller, kek, CKM.AES_KEY_WRAP, {}, locked), 'KEY_UNEXTRACTABLE');
    const lockedPair = await m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN, tpl([CKA.EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex')]), tpl());
    await rejectsWith(m.hsm.crypto.wrap(m.caller, kek, CKM.AES_KEY_WRAP_PAD, {}, lockedPair.privateKey), 'KEY_UNEXTRACTABLE');

    // Unwrap: openssl wraps known AES-128 bytes; the module's new key encrypts like openssl with those bytes.
    const newBytes = seq(16, 0x5a);
    const fromOpenssl = openssl(['enc', '-id-aes256-wrap', '-iv', 'A6A6A6A6A6A6A6A6', '-K', hex(kekBytes), '-in', s.put('k.bin', newBytes)]);
    const unwrapped = await m.hsm.crypto.unwrap(m.caller, kek, CKM.AES_KEY_WRAP, {}, fromOpenssl,
      tpl([CKA.CLASS, CKO.SECRET_KEY], [CKA.KEY_TYPE, CKK.AES], [CKA.ENCRYPT, true], [CKA.DECRYPT, true]));
    const block = seq(32, 3);
    assert.deepEqual(await m.hsm.crypto.encrypt(m.caller, unwrapped, CKM.AES_ECB, {}, block),
      openssl(['enc', '-aes-128-ecb', '-K', hex(newBytes), '-nopad', '-in', s.put('b.bin', block)]));

    // Module wrap → module unwrap, padded, of the generic secret: the copy MACs like the original.
    const copy = await m.hsm.crypto.unwrap(m.caller, kek, CKM.AES_KEY_WRAP_PAD, {}, wrappedPad,
      tpl([CKA.CLASS, CKO.SECRET_KEY], [CKA.KEY_TYPE, CKK.GENERIC_SECRET], [CKA.SIGN, true]));
    const msg = Buffer.from('same key, same mac');
    assert.deepEqual(await m.hsm.crypto.sign(m.caller, copy, CKM.SHA256_HMAC, {}, msg),
      openssl(['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${hex(secretBytes)}`, '-binary', s.put('msg.bin', msg)]));

    // A private key: openssl wraps its own PKCS#8; the unwrapped module key signs for openssl.
    const ecKey = s.path('ec.key.pem');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', ecKey]);
    const ecPkcs8 = openssl(['pkcs8', '-topk8', '-nocrypt', '-in', ecKey, '-outform', 'DER']);
    const wrapPad = (bytes: Buffer) => openssl(['enc', '-id-aes256-wrap-pad', '-iv', 'A65959A6', '-K', hex(kekBytes), '-in', s.put('in.bin', bytes)]);
    const priv = await m.hsm.crypto.unwrap(m.caller, kek, CKM.AES_KEY_WRAP_PAD, {}, wrapPad(ecPkcs8),
      tpl([CKA.CLASS, CKO.PRIVATE_KEY], [CKA.KEY_TYPE, CKK.EC], [CKA.SIGN, true]));
    assert.equal(priv.cls, CKO.PRIVATE_KEY);
    assert.equal(priv.attrs.get(CKA.LOCAL), false);
    const msgPath = s.put('ec-msg.bin', msg);
    const rs = await m.hsm.crypto.sign(m.caller, priv, CKM.ECDSA_SHA256, {}, msg);
    const ecPub = s.put('ec.pub.pem', openssl(['pkey', '-in', ecKey, '-pubout']));
    assert.ok(opensslOk(['dgst', '-sha256', '-verify', ecPub, '-signature', s.put('ec.sig', ecdsaRawToDer(rs)), msgPath]));

    // Unwrapping what is not the private key the template asks for fails and leaves no object behind.
    const count = async () => (await m.hsm.lookup.find(m.caller)).length;
    const before = await count();
    const spki = openssl(['pkey', '-in', ecKey, '-pubout', '-outform', 'DER']);
    await rejectsWith(m.hsm.crypto.unwrap(m.caller, kek, CKM.AES_KEY_WRAP_PAD, {}, wrapPad(spki), tpl([CKA.CLASS, CKO.PRIVATE_KEY])),
      'WRAPPED_KEY_INVALID');
    await rejectsWith(m.hsm.crypto.unwrap(m.caller, kek, CKM.AES_KEY_WRAP_PAD, {}, wrapPad(ecPkcs8),
      tpl([CKA.CLASS, CKO.PRIVATE_KEY], [CKA.KEY_TYPE, CKK.RSA])), 'TEMPLATE_INCONSISTENT');
    await rejectsWith(m.hsm.crypto.unwrap(m.caller, kek, CKM.AES_KEY_WRAP_PAD, {}, wrapPad(Buffer.from('no key in here')),
      tpl([CKA.CLASS, CKO.PRIVATE_KEY])), 'WRAPPED_KEY_INVALID');
    assert.equal(await count(), before, 'a failed unwrap must not create objects');

    // A damaged wrapped key fails its integrity check.
    const broken = Buffer.from(fromOpenssl);
    broken[3] ^= 1;
    await rejectsWith(m.hsm.crypto.unwrap(m.caller, kek, CKM.AES_KEY_WRAP, {}, broken,
      tpl([CKA.CLASS, CKO.SECRET_KEY], [CKA.KEY_TYPE, CKK.AES], [CKA.ENCRYPT, true])), 'WRAPPED_KEY_INVALID');
  });
});

test('AES ECB and CBC wrap by zero-padding to whole blocks (§2.8.3) and unwrap to CKA_VALUE_LEN; openssl decrypts the same bytes', async () => {
  await withModule(async (m, s) => {
    const kekBytes = seq(16, 0x11);
    const kek = await importAes(m, kekBytes, [[CKA.WRAP, true], [CKA.UNWRAP, true]]);
    const iv = seq(16, 0x55);
    const targetBytes = seq(20, 0x70);
    const target = await m.hsm.keys.importKey(m.caller, targetBytes, 'secret', tpl([CKA.EXTRACTABLE, true], [CKA.SIGN, true]));
    for (const [mech, mode, params] of [[CKM.AES_ECB, 'aes-128-ecb', {}], [CKM.AES_CBC, 'aes-128-cbc', { iv }]] as const) {
      const wrapped = await m.hsm.crypto.wrap(m.caller, kek, mech, params, target);
      assert.equal(wrapped.length, 32, `${mode}: 20 bytes padded to two blocks`);
      const args = ['enc', '-d', `-${mode}`, '-nopad', '-K', hex(kekBytes), ...(mode.endsWith('cbc') ? ['-iv', hex(iv)] : [])];
      assert.deepEqual(openssl([...args, '-in', s.put('w.bin', wrapped)]), Buffer.concat([targetBytes, Buffer.alloc(12)]), mode);
      const back = await m.hsm.crypto.unwrap(m.caller, kek, mech, params, wrapped, tpl([CKA.CLASS, CKO.SECRET_KEY],
        [CKA.KEY_TYPE, CKK.GENERIC_SECRET], [CKA.VALUE_LEN, 20], [CKA.SIGN, true], [CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]));
      const value = (await m.hsm.lookup.readAttributes(m.caller, back, [CKA.VALUE])).get(CKA.VALUE) as { value: Buffer };
      assert.deepEqual(value.value, targetBytes, `${mode}: unwrapped to CKA_VALUE_LEN`);
      await rejectsWith(m.hsm.crypto.unwrap(m.caller, kek, mech, params, wrapped.subarray(0, 31), tpl([CKA.CLASS, CKO.SECRET_KEY],
        [CKA.KEY_TYPE, CKK.GENERIC_SECRET])), 'WRAPPED_KEY_INVALID');
    }
  });
});
