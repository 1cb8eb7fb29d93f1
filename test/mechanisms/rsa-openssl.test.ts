// RSA mechanisms checked by a second implementation, the openssl CLI: PKCS#1 v1.5 and PSS
// signatures (PKCS#11 2.40 §2.1.6-2.1.10), OAEP and PKCS#1 v1.5 encryption (§2.1.6, §2.1.8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CKA, CKG, CKM } from '../../src/pkcs11/constants';
import type { TestModule } from '../helpers/harness';
import type { HsmObject } from '../../src/core/hsm-object';
import { allMechanisms } from '../../src/mechanisms/registry';
import { hex, openssl, opensslKeyPair, opensslOk, pem, rejectsWith, Scratch, tpl, withModule } from './openssl-fixtures';

const MESSAGE = Buffer.from('Inkan signs this message; openssl checks it.\n');

/** DigestInfo prefixes from RFC 8017 §9.2 note 1, written out here rather than taken from src. */
const HASHES = [
  { name: 'sha1', ckm: CKM.SHA1_RSA_PKCS, prefix: '3021300906052b0e03021a05000414' },
  { name: 'sha224', ckm: CKM.SHA224_RSA_PKCS, prefix: '302d300d06096086480165030402040500041c' },
  { name: 'sha256', ckm: CKM.SHA256_RSA_PKCS, prefix: '3031300d060960864801650304020105000420' },
  { name: 'sha384', ckm: CKM.SHA384_RSA_PKCS, prefix: '3041300d060960864801650304020205000430' },
  { name: 'sha512', ckm: CKM.SHA512_RSA_PKCS, prefix: '3051300d060960864801650304020305000440' },
] as const;

interface RsaPair { publicKey: HsmObject; privateKey: HsmObject; pubPath: string }

async function modulePair(m: TestModule, s: Scratch, bits: number, priv = tpl()): Promise<RsaPair> {
  const { publicKey, privateKey } = await m.hsm.keys.generateKeyPair(m.caller, CKM.RSA_PKCS_KEY_PAIR_GEN,
    tpl([CKA.MODULUS_BITS, bits]), priv);
  const pubPath = s.put(`rsa${bits}.pub.pem`, pem(await m.hsm.lookup.exportPublic(m.caller, publicKey)));
  return { publicKey, privateKey, pubPath };
}

async function signaturesVerifyInOpenssl(bits: number): Promise<void> {
  await withModule(async (m, s) => {
    const { privateKey, pubPath } = await modulePair(m, s, bits);
    const msgPath = s.put('msg.bin', MESSAGE);
    const sigLen = bits / 8;

    for (const h of HASHES) {
      const sig = await m.hsm.crypto.sign(m.caller, privateKey, h.ckm, {}, MESSAGE);
      assert.equal(sig.length, sigLen);
      const sigPath = s.put(`${h.name}.sig`, sig);
      assert.ok(opensslOk(['dgst', `-${h.name}`, '-verify', pubPath, '-signature', sigPath, msgPath]), `${h.name}_RSA_PKCS`);
    }

    // CKM_RSA_PKCS over a caller-built DigestInfo; openssl builds its own from the bare digest.
    for (const h of HASHES) {
      const digest = openssl(['dgst', `-${h.name}`, '-binary', msgPath]);
      const sig = await m.hsm.crypto.sign(m.caller, privateKey, CKM.RSA_PKCS, {}, Buffer.concat([Buffer.from(h.prefix, 'hex'), digest]));
      const args = ['pkeyutl', '-verify', '-pubin', '-inkey', pubPath, '-pkeyopt', `digest:${h.name}`,
        '-in', s.put(`${h.name}.dgst`, digest), '-sigfile', s.put(`${h.name}.raw.sig`, sig)];
      assert.ok(opensslOk(args), `CKM_RSA_PKCS over a ${h.name} DigestInfo`);
    }

    for (const saltLength of [32, 0]) {
      const sig = await m.hsm.crypto.sign(m.caller, privateKey, CKM.SHA256_RSA_PKCS_PSS,
        { hashAlg: CKM.SHA256, mgf: CKG.MGF1_SHA256, saltLength }, MESSAGE);
      const sigPath = s.put(`pss${saltLength}.sig`, sig);
      const verify = (salt: number) => opensslOk(['dgst', '-sha256', '-sigopt', 'rsa_padding_mode:pss',
        '-sigopt', `rsa_pss_saltlen:${salt}`, '-verify', pubPath, '-signature', sigPath, msgPath]);
      assert.ok(verify(saltLength), `PSS with salt ${saltLength}`);
      // Control: openssl holds us to the salt length we claimed.
      assert.equal(verify(saltLength === 0 ? 32 : 0), false, 'openssl must reject the wrong salt length');
    }

    // Control: a flipped bit does not verify, so the checks above are not vacuous.
    const bad = await m.hsm.crypto.sign(m.caller, privateKey, CKM.SHA256_RSA_PKCS, {}, MESSAGE);
    bad[bad.length - 1] ^= 1;
    assert.equal(opensslOk(['dgst', '-sha256', '-verify', pubPath, '-signature', s.put('bad.sig', bad), msgPath]), false);
  });
}

test('RSA-2048 PKCS#1 v1.5, raw DigestInfo and PSS signatures verify in openssl', () => signaturesVerifyInOpenssl(2048));
test('RSA-3072 PKCS#1 v1.5, raw DigestInfo and PSS signatures verify in openssl', () => signaturesVerifyInOpenssl(3072));

const OAEP_CASES = [
  { hash: 'sha1', hashAlg: CKM.SHA_1, mgf: CKG.MGF1_SHA1, label: undefined },
  { hash: 'sha1', hashAlg: CKM.SHA_1, mgf: CKG.MGF1_SHA1, label: Buffer.from('inkan label') },
  { hash: 'sha256', hashAlg: CKM.SHA256, mgf: CKG.MGF1_SHA256, label: undefined },
  { hash: 'sha256', hashAlg: CKM.SHA256, mgf: CKG.MGF1_SHA256, label: Buffer.from('0011223344', 'hex') },
] as const;

function oaepOpts(c: (typeof OAEP_CASES)[number]): string[] {
  const opts = ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${c.hash}`, '-pkeyopt', `rsa_mgf1_md:${c.hash}`];
  if (c.label) opts.push('-pkeyopt', `rsa_oaep_label:${hex(c.label)}`);
  return opts;
}
const caseName = (c: (typeof OAEP_CASES)[number]) => `${c.hash}${c.label ? ' with a label' : ''}`;

test('RSA-OAEP: openssl encrypts to a module key and the module decrypts; PKCS#1 v1.5 decryption is refused', async () => {
  await withModule(async (m, s) => {
    const { privateKey, pubPath } = await modulePair(m, s, 2048);
    const plaintext = Buffer.from('a secret for the module only');
    const ptPath = s.put('pt.bin', plaintext);

    for (const c of OAEP_CASES) {
      const ct = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', pubPath, ...oaepOpts(c), '-in', ptPath]);
      const params = { hashAlg: c.hashAlg, mgf: c.mgf, label: c.label };
      assert.deepEqual(await m.hsm.crypto.decrypt(m.caller, privateKey, CKM.RSA_PKCS_OAEP, params, ct), plaintext, caseName(c));
      if (c.label) {
        // A different label must not decrypt (OAEP binds the label, RFC 8017 §7.1.2).
        await rejectsWith(m.hsm.crypto.decrypt(m.caller, privateKey, CKM.RSA_PKCS_OAEP, { ...params, label: Buffer.from('other') }, ct),
          'ENCRYPTED_DATA_INVALID');
      }
    }

    // Node 20 and the module refuse PKCS#1 v1.5 private decryption (Marvin attack) by design.
    const v15 = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', pubPath, '-in', ptPath]);
    await rejectsWith(m.hsm.crypto.decrypt(m.caller, privateKey, CKM.RSA_PKCS, {}, v15), 'MECHANISM_INVALID');
  });
});

test('RSA with an openssl-generated, imported key: module OAEP and PKCS#1 v1.5 ciphertexts decrypt in openssl', async () => {
  await withModule(async (m, s) => {
    const kp = opensslKeyPair(s, 'imported', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const publicKey = await m.hsm.keys.importKey(m.caller, kp.pubPem, 'key', tpl([CKA.ENCRYPT, true]));
    const plaintext = Buffer.from('encrypted by Inkan, decrypted by openssl');

    for (const c of OAEP_CASES) {
      const ct = await m.hsm.crypto.encrypt(m.caller, publicKey, CKM.RSA_PKCS_OAEP, { hashAlg: c.hashAlg, mgf: c.mgf, label: c.label }, plaintext);
      assert.equal(ct.length, 256);
      const out = openssl(['pkeyutl', '-decrypt', '-inkey', kp.priv, ...oaepOpts(c), '-in', s.put('oaep.ct', ct)]);
      assert.deepEqual(out, plaintext, caseName(c));
    }

    const ct = await m.hsm.crypto.encrypt(m.caller, publicKey, CKM.RSA_PKCS, {}, plaintext);
    const out = openssl(['pkeyutl', '-decrypt', '-inkey', kp.priv, '-pkeyopt', 'rsa_padding_mode:pkcs1', '-in', s.put('v15.ct', ct)]);
    assert.deepEqual(out, plaintext, 'PKCS#1 v1.5 encryption');

    // The private half imported too: it decrypts what openssl encrypts with OAEP-SHA256 and a label.
    const privateKey = await m.hsm.keys.importKey(m.caller, kp.privPem, 'key', tpl([CKA.DECRYPT, true]));
    const c = OAEP_CASES[3];
    const back = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', kp.pub, ...oaepOpts(c), '-in', s.put('pt.bin', plaintext)]);
    assert.deepEqual(await m.hsm.crypto.decrypt(m.caller, privateKey, CKM.RSA_PKCS_OAEP, { hashAlg: c.hashAlg, mgf: c.mgf, label: c.label }, back), plaintext);
  });
});

// CKM_RSA_PKCS_PSS signs a caller's digest with EMSA-PSS done outside node:crypto (src/crypto/emsa-pss.ts),
// so openssl is the check that matters most here; MGF1's hash may differ from the digest's (§2.1.10).
const rawPssRegistered = allMechanisms().some((d) => d.type === CKM.RSA_PKCS_PSS);
test('CKM_RSA_PKCS_PSS over a digest cross-verifies with openssl pkeyutl', { skip: !rawPssRegistered && 'CKM_RSA_PKCS_PSS is not registered' }, async () => {
  await withModule(async (m, s) => {
    const kp = opensslKeyPair(s, 'pss', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const priv = await m.hsm.keys.importKey(m.caller, kp.privPem, 'key', tpl([CKA.SIGN, true]));
    const pub = await m.hsm.keys.importKey(m.caller, kp.pubPem, 'key', tpl([CKA.VERIFY, true]));
    const cases = [
      { hash: 'sha256', hashAlg: CKM.SHA256, mgfHash: 'sha256', mgf: CKG.MGF1_SHA256, saltLength: 32 },
      { hash: 'sha256', hashAlg: CKM.SHA256, mgfHash: 'sha1', mgf: CKG.MGF1_SHA1, saltLength: 0 },
      { hash: 'sha384', hashAlg: CKM.SHA384, mgfHash: 'sha384', mgf: CKG.MGF1_SHA384, saltLength: 48 },
      { hash: 'sha512', hashAlg: CKM.SHA512, mgfHash: 'sha256', mgf: CKG.MGF1_SHA256, saltLength: 20 },
      // SHA-224 with MGF1-SHA224 (node-forge has no SHA-224 of its own; the encoding runs over node's hash).
      { hash: 'sha224', hashAlg: CKM.SHA224, mgfHash: 'sha224', mgf: CKG.MGF1_SHA224, saltLength: 28 },
      { hash: 'sha1', hashAlg: CKM.SHA_1, mgfHash: 'sha224', mgf: CKG.MGF1_SHA224, saltLength: 20 },
    ];
    for (const c of cases) {
      const label = `${c.hash} digest, MGF1-${c.mgfHash}, salt ${c.saltLength}`;
      const digest = openssl(['dgst', `-${c.hash}`, '-binary'], MESSAGE);
      const dgstPath = s.put('pss.dgst', digest);
      const opts = ['-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', `digest:${c.hash}`, '-pkeyopt', `rsa_mgf1_md:${c.mgfHash}`,
        '-pkeyopt', `rsa_pss_saltlen:${c.saltLength}`];
      const params = { hashAlg: c.hashAlg, mgf: c.mgf, saltLength: c.saltLength };
      const ours = await m.hsm.crypto.sign(m.caller, priv, CKM.RSA_PKCS_PSS, params, digest);
      assert.ok(opensslOk(['pkeyutl', '-verify', '-pubin', '-inkey', kp.pub, ...opts, '-in', dgstPath, '-sigfile', s.put('pss.sig', ours)]), `openssl verifies: ${label}`);
      const theirs = openssl(['pkeyutl', '-sign', '-inkey', kp.priv, ...opts, '-in', dgstPath]);
      assert.equal(await m.hsm.crypto.verify(m.caller, pub, CKM.RSA_PKCS_PSS, params, digest, theirs), true, `module verifies: ${label}`);
      const bad = Buffer.from(theirs);
      bad[7] ^= 1;
      assert.equal(await m.hsm.crypto.verify(m.caller, pub, CKM.RSA_PKCS_PSS, params, digest, bad), false, `tampered: ${label}`);
    }
  });
});
