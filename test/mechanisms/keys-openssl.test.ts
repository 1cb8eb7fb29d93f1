// Key movement checked by the openssl CLI: RSA-OAEP wrap/unwrap (PKCS#11 2.40 §2.1.8, C_WrapKey
// §5.13), HKDF derive (PKCS#11 3.0 §2.43; RFC 5869), digests (§2.16-2.20), and the export policy
// (CKA_SENSITIVE / CKA_EXTRACTABLE, §4.9-4.10) with PKCS#8 that openssl parses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CKA, CKG, CKK, CKM, CKO } from '../../src/pkcs11/constants';
import { hex, openssl, opensslKeyPair, pem, rejectsWith, tpl, withModule } from './openssl-fixtures';

const seq = (n: number, start = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));
const OAEP_SHA256 = { hashAlg: CKM.SHA256, mgf: CKG.MGF1_SHA256 };
const OAEP_SHA256_OPTS = ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256'];

test('RSA-OAEP wrap by an imported RSA key unwraps in openssl to the exported AES key; unwrap makes a usable key', async () => {
  await withModule(async (m, s) => {
    const kp = opensslKeyPair(s, 'wrapper', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const wrapping = await m.hsm.keys.importKey(m.caller, kp.pubPem, 'key', tpl([CKA.WRAP, true]));
    const target = await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN,
      tpl([CKA.VALUE_LEN, 32], [CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false], [CKA.ENCRYPT, true]));
    const exported = await m.hsm.lookup.exportKey(m.caller, target);
    assert.equal(exported.format, 'raw');
    assert.equal(exported.data.length, 32);

    for (const [params, opts] of [[OAEP_SHA256, OAEP_SHA256_OPTS], [{}, ['-pkeyopt', 'rsa_padding_mode:oaep']]] as const) {
      const wrapped = await m.hsm.crypto.wrap(m.caller, wrapping, CKM.RSA_PKCS_OAEP, params, target);
      assert.equal(wrapped.length, 256);
      const clear = openssl(['pkeyutl', '-decrypt', '-inkey', kp.priv, ...opts, '-in', s.put('wrapped.bin', wrapped)]);
      assert.deepEqual(clear, exported.data);
    }

    // A key the module generated non-extractable (the default) refuses to be wrapped.
    const locked = await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, tpl([CKA.VALUE_LEN, 16]));
    assert.equal(locked.attrs.get(CKA.EXTRACTABLE), false);
    await rejectsWith(m.hsm.crypto.wrap(m.caller, wrapping, CKM.RSA_PKCS_OAEP, OAEP_SHA256, locked), 'KEY_UNEXTRACTABLE');

    // Unwrap: openssl OAEP-encrypts AES bytes to a module RSA key; the unwrapped key encrypts like openssl.
    const pair = await m.hsm.keys.generateKeyPair(m.caller, CKM.RSA_PKCS_KEY_PAIR_GEN, tpl([CKA.MODULUS_BITS, 2048]), tpl([CKA.UNWRAP, true]));
    const modulePub = s.put('module.pub.pem', pem(await m.hsm.lookup.exportPublic(m.caller, pair.publicKey)));
    const aesBytes = seq(32, 0x21);
    const wrapped = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', modulePub, ...OAEP_SHA256_OPTS, '-in', s.put('aes.bin', aesBytes)]);
    const unwrapped = await m.hsm.crypto.unwrap(m.caller, pair.privateKey, CKM.RSA_PKCS_OAEP, OAEP_SHA256, wrapped,
      tpl([CKA.CLASS, CKO.SECRET_KEY], [CKA.KEY_TYPE, CKK.AES], [CKA.ENCRYPT, true], [CKA.DECRYPT, true]));
    assert.equal(unwrapped.attrs.get(CKA.VALUE_LEN), 32);
    const iv = seq(16, 0xe0);
    const pt = Buffer.from('unwrapped keys must work at once');
    assert.deepEqual(await m.hsm.crypto.encrypt(m.caller, unwrapped, CKM.AES_CBC_PAD, { iv }, pt),
      openssl(['enc', '-aes-256-cbc', '-K', hex(aesBytes), '-iv', hex(iv), '-in', s.put('pt.bin', pt)]));
    // Unwrapping with the wrong OAEP hash fails cleanly.
    await rejectsWith(m.hsm.crypto.unwrap(m.caller, pair.privateKey, CKM.RSA_PKCS_OAEP, {}, wrapped,
      tpl([CKA.CLASS, CKO.SECRET_KEY], [CKA.KEY_TYPE, CKK.AES])), 'WRAPPED_KEY_INVALID');
  });
});

test('HKDF derive: RFC 5869 vectors and openssl kdf agree; digests equal openssl dgst', async (t) => {
  await withModule(async (m, s) => {
    const secretTemplate = (len: number) => tpl([CKA.KEY_TYPE, CKK.GENERIC_SECRET], [CKA.VALUE_LEN, len], [CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]);
    // RFC 5869 A.1 (SHA-256) and A.4 (SHA-1).
    const vectors = [
      { name: 'RFC 5869 test case 1', hash: 'SHA256', hashAlg: CKM.SHA256, ikm: Buffer.alloc(22, 0x0b), salt: seq(13), info: seq(10, 0xf0), len: 42,
        okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865' },
      { name: 'RFC 5869 test case 4', hash: 'SHA1', hashAlg: CKM.SHA_1, ikm: Buffer.alloc(11, 0x0b), salt: seq(13), info: seq(10, 0xf0), len: 42,
        okm: '085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896' },
    ];
    for (const v of vectors) {
      await t.test(v.name, async () => {
        const base = await m.hsm.keys.importKey(m.caller, v.ikm, 'secret', tpl([CKA.DERIVE, true]));
        const derived = await m.hsm.crypto.derive(m.caller, base, CKM.HKDF_DERIVE, { hashAlg: v.hashAlg, salt: v.salt, info: v.info }, secretTemplate(v.len));
        const okm = (await m.hsm.lookup.exportKey(m.caller, derived)).data;
        assert.equal(hex(okm), v.okm);
        const fromOpenssl = openssl(['kdf', '-keylen', String(v.len), '-kdfopt', `digest:${v.hash}`, '-kdfopt', `hexkey:${hex(v.ikm)}`,
          '-kdfopt', `hexsalt:${hex(v.salt)}`, '-kdfopt', `hexinfo:${hex(v.info)}`, '-binary', 'HKDF']);
        assert.deepEqual(okm, fromOpenssl);
      });
    }

    await t.test('HKDF-SHA384/512 into an AES key, checked by openssl kdf', async () => {
      const ikm = seq(40, 0x30);
      const base = await m.hsm.keys.importKey(m.caller, ikm, 'secret', tpl([CKA.DERIVE, true]));
      for (const [hash, hashAlg] of [['SHA384', CKM.SHA384], ['SHA512', CKM.SHA512]] as const) {
        const derived = await m.hsm.crypto.derive(m.caller, base, CKM.HKDF_DERIVE, { hashAlg, salt: Buffer.from('salt'), info: Buffer.from('inkan aes') },
          tpl([CKA.KEY_TYPE, CKK.AES], [CKA.VALUE_LEN, 32], [CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]));
        const expected = openssl(['kdf', '-keylen', '32', '-kdfopt', `digest:${hash}`, '-kdfopt', `hexkey:${hex(ikm)}`,
          '-kdfopt', `hexsalt:${hex(Buffer.from('salt'))}`, '-kdfopt', `hexinfo:${hex(Buffer.from('inkan aes'))}`, '-binary', 'HKDF']);
        assert.deepEqual((await m.hsm.lookup.exportKey(m.caller, derived)).data, expected, hash);
      }
    });

    await t.test('digests SHA-1..SHA-512', async () => {
      const data = Buffer.concat([Buffer.from('digest me '), seq(300)]);
      const dataPath = s.put('digest.bin', data);
      const cases = [['sha1', CKM.SHA_1], ['sha224', CKM.SHA224], ['sha256', CKM.SHA256], ['sha384', CKM.SHA384], ['sha512', CKM.SHA512]] as const;
      for (const [h, ckm] of cases) {
        assert.deepEqual(await m.hsm.crypto.digest(m.caller, ckm, data), openssl(['dgst', `-${h}`, '-binary', dataPath]), h);
      }
      assert.deepEqual(await m.hsm.crypto.digest(m.caller, CKM.SHA256, Buffer.alloc(0)), openssl(['dgst', '-sha256', '-binary'], Buffer.alloc(0)));
    });
  });
});

test('export policy: sensitive or non-extractable keys refuse exportKey; an exportable private key is PKCS#8 openssl reads', async (t) => {
  await withModule(async (m, s) => {
    await t.test('secret keys', async () => {
      const bytes = seq(32, 0x44);
      const byDefault = await m.hsm.keys.importKey(m.caller, bytes, 'aes', tpl());
      await assert.rejects(m.hsm.lookup.exportKey(m.caller, byDefault), { code: 'KEY_UNEXTRACTABLE' });
      const sensitive = await m.hsm.keys.importKey(m.caller, bytes, 'aes', tpl([CKA.EXTRACTABLE, true], [CKA.SENSITIVE, true]));
      await assert.rejects(m.hsm.lookup.exportKey(m.caller, sensitive), { code: 'ATTRIBUTE_SENSITIVE' });
      const unextractable = await m.hsm.keys.importKey(m.caller, bytes, 'aes', tpl([CKA.EXTRACTABLE, false], [CKA.SENSITIVE, false]));
      await assert.rejects(m.hsm.lookup.exportKey(m.caller, unextractable), { code: 'KEY_UNEXTRACTABLE' });
      const open = await m.hsm.keys.importKey(m.caller, bytes, 'aes', tpl([CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]));
      assert.deepEqual(await m.hsm.lookup.exportKey(m.caller, open), { format: 'raw', data: bytes });
    });

    const pairs = [
      { name: 'RSA-2048', mech: CKM.RSA_PKCS_KEY_PAIR_GEN, pub: tpl([CKA.MODULUS_BITS, 2048]), type: 'RSA' },
      { name: 'EC P-384', mech: CKM.EC_KEY_PAIR_GEN, pub: tpl([CKA.EC_PARAMS, Buffer.from('06052b81040022', 'hex')]), type: 'EC' },
      { name: 'Ed25519', mech: CKM.EC_EDWARDS_KEY_PAIR_GEN, pub: tpl([CKA.EC_PARAMS, Buffer.from('06032b6570', 'hex')]), type: 'ED25519' },
    ];
    for (const p of pairs) {
      await t.test(`${p.name} private keys`, async () => {
        const locked = await m.hsm.keys.generateKeyPair(m.caller, p.mech, p.pub, tpl());
        await assert.rejects(m.hsm.lookup.exportKey(m.caller, locked.privateKey), { code: 'KEY_UNEXTRACTABLE' });
        const sensitive = await m.hsm.keys.generateKeyPair(m.caller, p.mech, p.pub, tpl([CKA.EXTRACTABLE, true]));
        await assert.rejects(m.hsm.lookup.exportKey(m.caller, sensitive.privateKey), { code: 'ATTRIBUTE_SENSITIVE' });
        // A public key is never "exported" as a secret either.
        await assert.rejects(m.hsm.lookup.exportKey(m.caller, sensitive.publicKey), { code: 'KEY_TYPE_INCONSISTENT' });

        const open = await m.hsm.keys.generateKeyPair(m.caller, p.mech, p.pub, tpl([CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]));
        const out = await m.hsm.lookup.exportKey(m.caller, open.privateKey);
        assert.equal(out.format, 'pkcs8');
        const derPath = s.put(`${p.name}.p8.der`, out.data);
        assert.match(openssl(['pkey', '-inform', 'DER', '-in', derPath, '-check', '-noout']).toString(), /valid/i);
        assert.match(openssl(['pkey', '-inform', 'DER', '-in', derPath, '-noout', '-text']).toString(),
          p.type === 'RSA' ? /Private-Key: \(2048 bit/ : p.type === 'EC' ? /secp384r1/ : /ED25519 Private-Key/);
        // The PKCS#8 is the private half of this very pair: openssl derives the module's public key from it.
        const spki = openssl(['pkey', '-inform', 'DER', '-in', derPath, '-pubout', '-outform', 'DER']);
        assert.deepEqual(spki, await m.hsm.lookup.exportPublic(m.caller, open.publicKey));
      });
    }
  });
});
