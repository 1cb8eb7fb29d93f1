// Elliptic-curve mechanisms checked by the openssl CLI: ECDSA hash-and-sign and raw-digest
// (PKCS#11 2.40 §2.3.6-2.3.7, raw r‖s converted to DER by the test), EdDSA (PKCS#11 3.0 §2.3.14),
// and ECDH1_DERIVE with CKD_NULL (§2.3.15).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CKA, CKK, CKM } from '../../src/pkcs11/constants';
import {
  ecdsaDerToRaw, ecdsaRawToDer, ED25519_OID_HEX, openssl, opensslKeyPair, opensslOk, pem, spkiPoint, TEST_CURVES, tpl, withModule,
} from './openssl-fixtures';

const MESSAGE = Buffer.from('Curves sign, openssl verifies.\n');
const HASHED = [
  { name: 'sha256', ckm: CKM.ECDSA_SHA256 },
  { name: 'sha384', ckm: CKM.ECDSA_SHA384 },
] as const;
const DIGESTS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;

test('ECDSA on P-256, P-384, P-521 and secp256k1: module signatures verify in openssl', async (t) => {
  await withModule(async (m, s) => {
    const msgPath = s.put('msg.bin', MESSAGE);
    for (const curve of TEST_CURVES) {
      await t.test(curve.name, async () => {
        const { publicKey, privateKey } = await m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN,
          tpl([CKA.EC_PARAMS, Buffer.from(curve.oid, 'hex')]), tpl([CKA.SIGN, true]));
        const pubPath = s.put(`${curve.name}.pub.pem`, pem(await m.hsm.lookup.exportPublic(m.caller, publicKey)));
        // openssl agrees the exported key is on the curve we asked for.
        assert.match(openssl(['pkey', '-pubin', '-in', pubPath, '-noout', '-text']).toString(), new RegExp(curve.openssl));

        for (const h of HASHED) {
          const rs = await m.hsm.crypto.sign(m.caller, privateKey, h.ckm, {}, MESSAGE);
          assert.equal(rs.length, 2 * curve.bytes, 'raw r‖s is twice the field size');
          const sigPath = s.put(`${curve.name}.${h.name}.sig`, ecdsaRawToDer(rs));
          assert.ok(opensslOk(['dgst', `-${h.name}`, '-verify', pubPath, '-signature', sigPath, msgPath]), `ECDSA_${h.name}`);
        }

        // CKM_ECDSA signs a digest that openssl computed; pkeyutl verifies it as a bare digest. Digests
        // shorter and longer than the group order are both used: longer ones are truncated (SEC 1 §4.1.3 step 5).
        for (const d of DIGESTS) {
          const digest = openssl(['dgst', `-${d}`, '-binary', msgPath]);
          const rs = await m.hsm.crypto.sign(m.caller, privateKey, CKM.ECDSA, {}, digest);
          const dgstPath = s.put(`${curve.name}.${d}.dgst`, digest);
          const verify = (sig: Buffer) => opensslOk(['pkeyutl', '-verify', '-pubin', '-inkey', pubPath, '-in', dgstPath,
            '-sigfile', s.put(`${curve.name}.raw.sig`, ecdsaRawToDer(sig))]);
          assert.ok(verify(rs), `CKM_ECDSA over an openssl ${d} digest`);
          const bad = Buffer.from(rs);
          bad[curve.bytes - 1] ^= 1;
          assert.equal(verify(bad), false, 'control: openssl rejects a changed r');
        }
      });
    }
  });
});

test('ECDSA: openssl signatures made with an imported key verify in the module', async (t) => {
  await withModule(async (m, s) => {
    const msgPath = s.put('msg.bin', MESSAGE);
    for (const curve of TEST_CURVES) {
      await t.test(curve.name, async () => {
        const kp = opensslKeyPair(s, curve.name, ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve.openssl}`]);
        const pub = await m.hsm.keys.importKey(m.caller, kp.pubPem, 'key', tpl([CKA.VERIFY, true]));
        const priv = await m.hsm.keys.importKey(m.caller, kp.privPem, 'key', tpl([CKA.SIGN, true]));
        assert.equal(pub.keyType, CKK.EC);
        assert.deepEqual(pub.attrs.get(CKA.EC_PARAMS), Buffer.from(curve.oid, 'hex'));

        for (const h of HASHED) {
          const der = openssl(['dgst', `-${h.name}`, '-sign', kp.priv, msgPath]);
          const rs = ecdsaDerToRaw(der, curve.bytes);
          assert.equal(await m.hsm.crypto.verify(m.caller, pub, h.ckm, {}, MESSAGE, rs), true, `ECDSA_${h.name} (public object)`);
          assert.equal(await m.hsm.crypto.verify(m.caller, priv, h.ckm, {}, MESSAGE, rs), true, `ECDSA_${h.name} (private object)`);
          const other = Buffer.concat([MESSAGE, Buffer.from('!')]);
          assert.equal(await m.hsm.crypto.verify(m.caller, pub, h.ckm, {}, other, rs), false, 'another message does not verify');
        }

        for (const d of DIGESTS) {
          const digest = openssl(['dgst', `-${d}`, '-binary', msgPath]);
          const der = openssl(['pkeyutl', '-sign', '-inkey', kp.priv, '-in', s.put(`${curve.name}.${d}.dgst`, digest)]);
          assert.equal(await m.hsm.crypto.verify(m.caller, pub, CKM.ECDSA, {}, digest, ecdsaDerToRaw(der, curve.bytes)), true, `CKM_ECDSA, ${d}`);
        }

        // And the imported private key signs for openssl.
        const rs = await m.hsm.crypto.sign(m.caller, priv, CKM.ECDSA_SHA256, {}, MESSAGE);
        assert.ok(opensslOk(['dgst', '-sha256', '-verify', kp.pub, '-signature', s.put(`${curve.name}.mine.sig`, ecdsaRawToDer(rs)), msgPath]));
      });
    }
  });
});

test('Ed25519: EdDSA signatures cross-verify between the module and openssl', async () => {
  await withModule(async (m, s) => {
    const msgPath = s.put('msg.bin', MESSAGE);
    const { publicKey, privateKey } = await m.hsm.keys.generateKeyPair(m.caller, CKM.EC_EDWARDS_KEY_PAIR_GEN,
      tpl([CKA.EC_PARAMS, Buffer.from(ED25519_OID_HEX, 'hex')]), tpl([CKA.SIGN, true]));
    const pubPath = s.put('ed.pub.pem', pem(await m.hsm.lookup.exportPublic(m.caller, publicKey)));
    const sig = await m.hsm.crypto.sign(m.caller, privateKey, CKM.EDDSA, {}, MESSAGE);
    assert.equal(sig.length, 64);
    const verify = (sigBytes: Buffer) => opensslOk(['pkeyutl', '-verify', '-pubin', '-inkey', pubPath, '-rawin', '-in', msgPath,
      '-sigfile', s.put('ed.sig', sigBytes)]);
    assert.ok(verify(sig), 'module EdDSA verifies in openssl');
    const bad = Buffer.from(sig);
    bad[10] ^= 0x40;
    assert.equal(verify(bad), false, 'control: openssl rejects a changed signature');

    // The other way: openssl signs with its own key, the module verifies with the imported public key.
    const kp = opensslKeyPair(s, 'ed-openssl', ['-algorithm', 'ED25519']);
    const pub = await m.hsm.keys.importKey(m.caller, kp.pubPem, 'key', tpl([CKA.VERIFY, true]));
    assert.equal(pub.keyType, CKK.EC_EDWARDS);
    const theirs = openssl(['pkeyutl', '-sign', '-inkey', kp.priv, '-rawin', '-in', msgPath]);
    assert.equal(await m.hsm.crypto.verify(m.caller, pub, CKM.EDDSA, {}, MESSAGE, theirs), true);
    assert.equal(await m.hsm.crypto.verify(m.caller, pub, CKM.EDDSA, {}, Buffer.from('other'), theirs), false);
  });
});

function derOctetString(p: Buffer): Buffer {
  return Buffer.concat([p.length < 0x80 ? Buffer.from([0x04, p.length]) : Buffer.from([0x04, 0x81, p.length]), p]);
}

test('ECDH1_DERIVE: the derived secret equals openssl pkeyutl -derive', async (t) => {
  await withModule(async (m, s) => {
    for (const [i, curve] of TEST_CURVES.entries()) {
      await t.test(curve.name, async () => {
        const { publicKey, privateKey } = await m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN,
          tpl([CKA.EC_PARAMS, Buffer.from(curve.oid, 'hex')]), tpl([CKA.DERIVE, true]));
        const ourPub = s.put(`${curve.name}.ours.pem`, pem(await m.hsm.lookup.exportPublic(m.caller, publicKey)));
        const peer = opensslKeyPair(s, `${curve.name}.peer`, ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve.openssl}`]);
        const peerPoint = spkiPoint(openssl(['pkey', '-pubin', '-in', peer.pub, '-outform', 'DER']), curve.bytes);
        // PKCS#11 lets the peer point come raw or as a DER OCTET STRING; exercise both.
        const publicData = i % 2 === 1 ? peerPoint : derOctetString(peerPoint);
        const derived = await m.hsm.crypto.derive(m.caller, privateKey, CKM.ECDH1_DERIVE, { publicData }, tpl(
          [CKA.KEY_TYPE, CKK.GENERIC_SECRET], [CKA.VALUE_LEN, curve.bytes], [CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]));
        const exported = await m.hsm.lookup.exportKey(m.caller, derived);
        assert.equal(exported.format, 'raw');
        const expected = openssl(['pkeyutl', '-derive', '-inkey', peer.priv, '-peerkey', ourPub]);
        assert.equal(expected.length, curve.bytes);
        assert.deepEqual(exported.data, expected);
      });
    }
  });
});
