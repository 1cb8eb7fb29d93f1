// EMSA-PSS encoding (RFC 8017 §9.1) over a caller-supplied digest, for CKM_RSA_PKCS_PSS
// (PKCS#11 2.40 §2.1.10: the application hashes, the token pads and signs). node:crypto can
// only hash-and-sign, so the padding comes from node-forge's pss (a well-kept library, not
// hand-rolled) over node's own hashes, and the RSA private/public operation from node:crypto with no padding.
import * as nc from 'node:crypto';
import forge from 'node-forge';
import type { HashName } from './node-crypto';

/** node's hash behind forge's MessageDigest interface (start/update/digest over binary strings), so
 *  the PSS encoding uses the same hashes as everything else, SHA-224 included (forge has none:
 *  its sha512.sha224 is SHA-512/224, a different hash). */
function forgeMd(hash: HashName): forge.md.MessageDigest {
  let h = nc.createHash(hash);
  const md = {
    algorithm: hash, digestLength: nc.createHash(hash).digest().length,
    start() { h = nc.createHash(hash); return md; },
    update(bytes: string) { h.update(Buffer.from(bytes, 'binary')); return md; },
    digest() { return forge.util.createBuffer(h.digest().toString('binary')); },
  };
  return md as unknown as forge.md.MessageDigest;
}
function scheme(hash: HashName, mgfHash: HashName, saltLength: number) {
  const salt = nc.randomBytes(saltLength).toString('binary');
  return forge.pss.create({
    md: forgeMd(hash), mgf: forge.mgf.mgf1.create(forgeMd(mgfHash)), saltLength,
    prng: { getBytesSync: () => salt },
  } as unknown as Parameters<typeof forge.pss.create>[0]);
}

/** A forge "message digest" that already holds the application's digest. */
const given = (digest: Buffer) => ({ digest: () => forge.util.createBuffer(digest.toString('binary')) }) as unknown as forge.md.MessageDigest;

const keyBits = (key: nc.KeyObject): number => key.asymmetricKeyDetails?.modulusLength ?? 0;

/** Signature = RSASP1(EMSA-PSS-ENCODE(mHash)); the encoded message is left-padded to the modulus length. */
export function pssSignDigest(key: nc.KeyObject, hash: HashName, mgfHash: HashName, saltLength: number, digest: Buffer): Buffer {
  const bits = keyBits(key);
  const em = Buffer.from(scheme(hash, mgfHash, saltLength).encode(given(digest), bits), 'binary');
  const k = Math.ceil(bits / 8);
  const block = em.length === k ? em : Buffer.concat([Buffer.alloc(k - em.length), em]);
  return nc.privateEncrypt({ key, padding: nc.constants.RSA_NO_PADDING }, block);
}

/** RSAVP1 then EMSA-PSS-VERIFY; false for any malformed signature. */
export function pssVerifyDigest(key: nc.KeyObject, hash: HashName, mgfHash: HashName, saltLength: number, digest: Buffer, signature: Buffer): boolean {
  const bits = keyBits(key);
  if (signature.length !== Math.ceil(bits / 8)) return false;
  try {
    const em = nc.publicDecrypt({ key, padding: nc.constants.RSA_NO_PADDING }, signature);
    // node-forge's verify takes the salt as db.substr(-sLen), the whole DB when sLen is 0, so salt-less
    // signatures never verify there. Without a salt EMSA-PSS is deterministic: compare the encodings.
    if (saltLength === 0) {
      const expected = Buffer.from(scheme(hash, mgfHash, 0).encode(given(digest), bits), 'binary');
      return nc.timingSafeEqual(Buffer.concat([Buffer.alloc(em.length - expected.length), expected]), em);
    }
    return scheme(hash, mgfHash, saltLength).verify(digest.toString('binary'), em.toString('binary'), bits);
  } catch {
    return false;
  }
}
