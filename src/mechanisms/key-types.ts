// Key types: how each CKK maps to node key objects and which public attributes describe it
// (PKCS#11 2.40 §2.1.2 RSA, §2.3.3 EC, §2.3.5 Edwards). Curves are named here only.
import * as c from '../crypto/node-crypto';
import { CKA, CKK } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import type { KeyMaterial } from './types';

export interface CurveDef { name: string; node: string; jwk: string; bits: number; oid: Buffer; aliases: string[] }

/** DER of each curve's OID as CKA_EC_PARAMS carries it (RFC 5480 namedCurve; RFC 8410 for Ed25519). */
export const CURVES: readonly CurveDef[] = [
  { name: 'P-256', node: 'prime256v1', jwk: 'P-256', bits: 256, oid: Buffer.from('06082a8648ce3d030107', 'hex'), aliases: ['p256', 'secp256r1', 'prime256v1'] },
  { name: 'P-384', node: 'secp384r1', jwk: 'P-384', bits: 384, oid: Buffer.from('06052b81040022', 'hex'), aliases: ['p384', 'secp384r1'] },
  { name: 'P-521', node: 'secp521r1', jwk: 'P-521', bits: 521, oid: Buffer.from('06052b81040023', 'hex'), aliases: ['p521', 'secp521r1'] },
  { name: 'secp256k1', node: 'secp256k1', jwk: 'secp256k1', bits: 256, oid: Buffer.from('06052b8104000a', 'hex'), aliases: ['k256'] },
];
export const ED25519_OID = Buffer.from('06032b6570', 'hex');
/** PKCS#11 3.0 also allows the printable string "edwards25519" as CKA_EC_PARAMS. */
const ED25519_NAME = Buffer.from('130c656477617264733235353139', 'hex');

export function curveByParams(params: Buffer): CurveDef {
  const curve = CURVES.find((k) => k.oid.equals(params));
  if (!curve) throw new HsmError('CURVE_NOT_SUPPORTED');
  return curve;
}
export function curveByName(name: string): CurveDef | undefined {
  const n = name.toLowerCase();
  return CURVES.find((k) => k.name.toLowerCase() === n || k.aliases.includes(n));
}
export function isEd25519Params(params: Buffer): boolean {
  return params.equals(ED25519_OID) || params.equals(ED25519_NAME);
}

/** DER OCTET STRING around a raw point, as CKA_EC_POINT holds it. */
export function derOctetString(raw: Buffer): Buffer {
  const len = raw.length;
  const head = len < 0x80 ? Buffer.from([0x04, len]) : len < 0x100 ? Buffer.from([0x04, 0x81, len]) : Buffer.from([0x04, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([head, raw]);
}
/** Accepts a raw point or a DER OCTET STRING around one (both occur in the wild for CKA_EC_POINT / ECDH public data). */
export function unwrapPoint(data: Buffer, pointLen: number): Buffer {
  if (data.length === pointLen) return data;
  if (data[0] === 0x04 && data.length > 2) {
    const lenByte = data[1];
    const off = lenByte < 0x80 ? 2 : 2 + (lenByte & 0x7f);
    const inner = data.subarray(off);
    if (inner.length === pointLen) return inner;
  }
  throw new HsmError('ATTRIBUTE_VALUE_INVALID', 'EC point has the wrong length or encoding');
}

const b64u = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');
const pad = (b: Buffer, len: number): Buffer => b.length >= len ? b : Buffer.concat([Buffer.alloc(len - b.length), b]);

export function ecPointOf(pub: c.KeyObject, bits: number): Buffer {
  const jwk = c.exportJwk(pub);
  const len = Math.ceil(bits / 8);
  return Buffer.concat([Buffer.from([4]), pad(b64u(jwk.x), len), pad(b64u(jwk.y), len)]);
}

/** Describes key material as node gives it: type, size, curve. */
export function describe(keyType: number, key: c.KeyObject): KeyMaterial {
  const pub = key.type === 'private' ? c.publicOf(key) : key;
  const details = key.asymmetricKeyDetails ?? {};
  const base = key.type === 'private' ? { privateKey: key, publicKey: pub } : { publicKey: key };
  if (keyType === CKK.RSA) {
    if (key.asymmetricKeyType !== 'rsa') throw new HsmError('KEY_TYPE_INCONSISTENT');
    return { keyType, ...base, size: details.modulusLength ?? 0 };
  }
  if (keyType === CKK.EC) {
    const curve = CURVES.find((k) => k.node === details.namedCurve);
    if (key.asymmetricKeyType !== 'ec' || !curve) throw new HsmError('CURVE_NOT_SUPPORTED');
    return { keyType, ...base, size: curve.bits, curve: curve.node };
  }
  if (keyType === CKK.EC_EDWARDS) {
    if (key.asymmetricKeyType !== 'ed25519') throw new HsmError('KEY_TYPE_INCONSISTENT');
    return { keyType, ...base, size: 255, curve: 'ed25519' };
  }
  throw new HsmError('KEY_TYPE_INCONSISTENT');
}

export function keyTypeOfNodeKey(key: c.KeyObject): number {
  switch (key.asymmetricKeyType) {
    case 'rsa': return CKK.RSA;
    case 'ec': return CKK.EC;
    case 'ed25519': return CKK.EC_EDWARDS;
    default: throw new HsmError('KEY_IMPORT_INVALID', `unsupported key algorithm ${key.asymmetricKeyType}`);
  }
}

/** Public attributes shared by both halves of a key pair (and CKA_EC_POINT for the public half). */
export function publicAttributes(m: KeyMaterial): Map<number, Buffer | number> {
  const pub = m.publicKey!;
  const attrs = new Map<number, Buffer | number>([[CKA.PUBLIC_KEY_INFO, c.exportSpki(pub)]]);
  if (m.keyType === CKK.RSA) {
    const jwk = c.exportJwk(pub);
    attrs.set(CKA.MODULUS, b64u(jwk.n));
    attrs.set(CKA.PUBLIC_EXPONENT, b64u(jwk.e));
    attrs.set(CKA.MODULUS_BITS, m.size);
  } else if (m.keyType === CKK.EC) {
    const curve = CURVES.find((k) => k.node === m.curve)!;
    attrs.set(CKA.EC_PARAMS, curve.oid);
    attrs.set(CKA.EC_POINT, derOctetString(ecPointOf(pub, curve.bits)));
  } else if (m.keyType === CKK.EC_EDWARDS) {
    attrs.set(CKA.EC_PARAMS, ED25519_OID);
    attrs.set(CKA.EC_POINT, derOctetString(b64u(c.exportJwk(pub).x)));
  }
  return attrs;
}

/** Rebuilds a public key from CKA_EC_POINT / RSA attributes (C_CreateObject of a public key, ECDH peers). */
export function publicKeyFromPoint(curve: CurveDef | 'ed25519', point: Buffer): c.KeyObject {
  if (curve === 'ed25519') {
    const raw = unwrapPoint(point, 32);
    return c.publicKeyFromJwk({ kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') });
  }
  const len = Math.ceil(curve.bits / 8);
  const raw = unwrapPoint(point, 1 + 2 * len);
  if (raw[0] !== 4) throw new HsmError('ATTRIBUTE_VALUE_INVALID', 'only uncompressed EC points are supported');
  try {
    return c.publicKeyFromJwk({ kty: 'EC', crv: curve.jwk, x: raw.subarray(1, 1 + len).toString('base64url'),
      y: raw.subarray(1 + len).toString('base64url') });
  } catch {
    throw new HsmError('ATTRIBUTE_VALUE_INVALID', 'EC point is not on the curve');
  }
}
export function rsaPublicKeyFrom(modulus: Buffer, exponent: Buffer): c.KeyObject {
  try {
    return c.publicKeyFromJwk({ kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') });
  } catch {
    throw new HsmError('ATTRIBUTE_VALUE_INVALID', 'RSA modulus or exponent is invalid');
  }
}
