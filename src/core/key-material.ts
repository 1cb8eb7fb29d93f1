// Building key material and its stored form from what a caller brings: PEM/DER, raw bytes,
// or PKCS#11 component attributes (C_CreateObject, C_UnwrapKey).
import * as c from '../crypto/node-crypto';
import { CKA, CKK, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { curveByParams, describe, isEd25519Params, keyTypeOfNodeKey, publicKeyFromPoint, rsaPublicKeyFrom } from '../mechanisms/key-types';
import type { KeyMaterial } from '../mechanisms/types';
import type { AttrValue } from './policy/attributes';

const SECRET_COMPONENTS = [CKA.VALUE, CKA.PRIVATE_EXPONENT, CKA.PRIME_1, CKA.PRIME_2, CKA.EXPONENT_1, CKA.EXPONENT_2, CKA.COEFFICIENT];

/** Removes the secret component attributes from a template (they are sealed, never stored in clear). */
export function takeSecretComponents(attrs: Map<number, AttrValue>): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const t of SECRET_COMPONENTS) {
    const v = attrs.get(t);
    if (Buffer.isBuffer(v)) out.set(t, v);
    attrs.delete(t);
  }
  return out;
}

const b64u = (b: Buffer | undefined) => {
  if (!b || !b.length) throw new HsmError('TEMPLATE_INCOMPLETE', 'a key component is missing');
  return b.toString('base64url');
};

/** A private key from PKCS#11 components (§2.1.3 RSA, §2.3.4 EC, §2.3.6 Edwards). */
export function privateKeyFromComponents(keyType: number, attrs: Map<number, AttrValue>, secret: Map<number, Buffer>): c.KeyObject {
  try {
    if (keyType === CKK.RSA) {
      return c.privateKeyFromJwk({ kty: 'RSA', n: b64u(attrs.get(CKA.MODULUS) as Buffer), e: b64u(attrs.get(CKA.PUBLIC_EXPONENT) as Buffer),
        d: b64u(secret.get(CKA.PRIVATE_EXPONENT)), p: b64u(secret.get(CKA.PRIME_1)), q: b64u(secret.get(CKA.PRIME_2)),
        dp: b64u(secret.get(CKA.EXPONENT_1)), dq: b64u(secret.get(CKA.EXPONENT_2)), qi: b64u(secret.get(CKA.COEFFICIENT)) });
    }
    const params = attrs.get(CKA.EC_PARAMS) as Buffer | undefined;
    const d = secret.get(CKA.VALUE);
    if (!params || !d) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_EC_PARAMS and CKA_VALUE are required');
    if (keyType === CKK.EC_EDWARDS) {
      if (!isEd25519Params(params) || d.length !== 32) throw new HsmError('ATTRIBUTE_VALUE_INVALID', 'an Ed25519 seed is 32 bytes');
      return c.ed25519PrivateFromSeed(d);
    }
    const curve = curveByParams(params);
    const len = Math.ceil(curve.bits / 8);
    const point = c.ecPublicPoint(curve.node, d);
    return c.privateKeyFromJwk({ kty: 'EC', crv: curve.jwk, d: d.toString('base64url'),
      x: point.subarray(1, 1 + len).toString('base64url'), y: point.subarray(1 + len).toString('base64url') });
  } catch (err) {
    if (err instanceof HsmError) throw err;
    throw new HsmError('KEY_IMPORT_INVALID');
  }
}

/** A public key from PKCS#11 attributes. */
export function publicKeyFromAttributes(keyType: number, attrs: Map<number, AttrValue>): c.KeyObject {
  if (keyType === CKK.RSA) {
    const n = attrs.get(CKA.MODULUS) as Buffer | undefined;
    const e = attrs.get(CKA.PUBLIC_EXPONENT) as Buffer | undefined;
    if (!n || !e) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_MODULUS and CKA_PUBLIC_EXPONENT are required');
    return rsaPublicKeyFrom(n, e);
  }
  const params = attrs.get(CKA.EC_PARAMS) as Buffer | undefined;
  const point = attrs.get(CKA.EC_POINT) as Buffer | undefined;
  if (!params || !point) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_EC_PARAMS and CKA_EC_POINT are required');
  return publicKeyFromPoint(keyType === CKK.EC_EDWARDS ? 'ed25519' : curveByParams(params), point);
}

/** The pairwise-consistency test of an imported private key (as FIPS 140-3 asks of a module):
 *  a test signature by the private half verifies with the public half it carries. Comparing the
 *  public point is no check: node keeps the public key an encoding gives, whatever the private
 *  scalar is. Key types that cannot sign (X25519) are not tested. */
export function pairwiseConsistent(key: c.KeyObject): boolean {
  const t = key.asymmetricKeyType;
  if (t !== 'rsa' && t !== 'ec' && t !== 'ed25519') return true;
  const hash = t === 'ed25519' ? null : 'sha256';
  const probe = Buffer.from('inkan import pairwise check');
  try { return c.verifySync(hash, probe, c.publicOf(key), c.signSync(hash, probe, key)); } catch { return false; }
}

/** A key parsed from PEM or DER (PKCS#8, SPKI, or PKCS#1/SEC1 PEM), for `inkan key import` and KMS import. */
export function parseKey(data: Buffer): { cls: number; key: c.KeyObject; keyType: number } {
  const text = data.toString('utf8');
  const pem = text.includes('-----BEGIN');
  const attempts: [number, () => c.KeyObject][] = pem
    ? [[CKO.PRIVATE_KEY, () => c.privateKeyFromPem(text)], [CKO.PUBLIC_KEY, () => c.publicKeyFromPem(text)]]
    : [[CKO.PRIVATE_KEY, () => c.privateKeyFromDer(data)], [CKO.PUBLIC_KEY, () => c.publicKeyFromDer(data)]];
  for (const [cls, parse] of attempts) {
    let key: c.KeyObject;
    try { key = parse(); } catch { continue; }
    if (cls === CKO.PUBLIC_KEY && key.type === 'private') continue;
    if (cls === CKO.PRIVATE_KEY && !pairwiseConsistent(key)) throw new HsmError('KEY_IMPORT_INVALID', 'the private key does not match the public key it carries');
    return { cls, key, keyType: keyTypeOfNodeKey(key) };
  }
  throw new HsmError('KEY_IMPORT_INVALID', 'not a PEM or DER private or public key');
}

export function materialOf(keyType: number, key: c.KeyObject): KeyMaterial {
  return describe(keyType, key);
}

/** A private key given as a JSON Web Key's members (Key Vault import; RFC 7518 §6.2.2, §6.3.2). */
export type PrivateJwk =
  | { kty: 'RSA'; n: Buffer; e: Buffer; d: Buffer; p: Buffer; q: Buffer; dp: Buffer; dq: Buffer; qi: Buffer }
  | { kty: 'EC'; crv: 'P-256' | 'P-384' | 'P-521' | 'secp256k1'; x: Buffer; y: Buffer; d: Buffer };

/** The PKCS#8 and SPKI encodings of a JWK private key, after a pairwise-consistency check: the
 *  private half must belong to the public half given (a test signature verified with it).
 *  KEY_IMPORT_INVALID otherwise. The caller zeroes `pkcs8`. */
export function keyPairFromJwk(jwk: PrivateJwk): { pkcs8: Buffer; spki: Buffer } {
  const b64u = (b: Buffer) => b.toString('base64url');
  const invalid = () => new HsmError('KEY_IMPORT_INVALID', `the JSON Web Key is not a valid ${jwk.kty} key`);
  let key: c.KeyObject;
  try {
    key = jwk.kty === 'RSA'
      ? c.privateKeyFromJwk({ kty: 'RSA', n: b64u(jwk.n), e: b64u(jwk.e), d: b64u(jwk.d), p: b64u(jwk.p), q: b64u(jwk.q), dp: b64u(jwk.dp), dq: b64u(jwk.dq), qi: b64u(jwk.qi) })
      : c.privateKeyFromJwk({ kty: 'EC', crv: jwk.crv, x: b64u(jwk.x), y: b64u(jwk.y), d: b64u(jwk.d) });
  } catch { throw invalid(); }
  if (!pairwiseConsistent(key)) throw invalid();
  return { pkcs8: c.exportPkcs8(key), spki: c.exportSpki(c.publicOf(key)) };
}
