// ECDSA over a caller-supplied digest (CKM_ECDSA, KMS MessageType DIGEST). node:crypto can
// only hash-and-sign, so this one path uses @noble/curves (audited, constant-time, RFC 6979
// nonces). Signatures are PKCS#11's raw r‖s.
import { p256, p384, p521 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import type { KeyObject } from 'node:crypto';

const CURVES: Record<string, typeof p256> = {
  prime256v1: p256, secp384r1: p384, secp521r1: p521, secp256k1: secp256k1 as unknown as typeof p256,
};

function curveOf(name: string) {
  const curve = CURVES[name];
  if (!curve) throw new Error(`no raw ECDSA for curve ${name}`);
  return curve;
}

const orderBytes = (curve: typeof p256): number => Math.ceil(curve.CURVE.n.toString(2).length / 8);

const scalar = (key: KeyObject, len: number): Buffer => {
  const d = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
  return d.length >= len ? d : Buffer.concat([Buffer.alloc(len - d.length), d]);
};
const point = (key: KeyObject, len: number): Buffer => {
  const jwk = key.export({ format: 'jwk' });
  const pad = (s?: string) => { const b = Buffer.from(s ?? '', 'base64url'); return b.length >= len ? b : Buffer.concat([Buffer.alloc(len - b.length), b]); };
  return Buffer.concat([Buffer.from([4]), pad(jwk.x), pad(jwk.y)]);
};

export function signDigest(curveName: string, privateKey: KeyObject, digest: Buffer): Buffer {
  const curve = curveOf(curveName);
  const len = orderBytes(curve);
  const d = scalar(privateKey, len);
  try {
    return Buffer.from(curve.sign(digest, d, { prehash: false, lowS: false }).toCompactRawBytes());
  } finally {
    d.fill(0);
  }
}

export function verifyDigest(curveName: string, publicKey: KeyObject, digest: Buffer, rs: Buffer): boolean {
  const curve = curveOf(curveName);
  const len = orderBytes(curve);
  if (rs.length !== 2 * len) return false;
  try {
    return curve.verify(rs, digest, point(publicKey, Math.ceil(curve.CURVE.Fp.BITS / 8)), { prehash: false, lowS: false });
  } catch {
    return false;
  }
}

/** r‖s ⇄ DER ECDSA-Sig-Value (RFC 3279), for faces that speak DER (openssl, AWS KMS). */
export function rawToDer(curveName: string, rs: Buffer): Buffer {
  return Buffer.from(curveOf(curveName).Signature.fromCompact(rs).toDERRawBytes());
}
export function derToRaw(curveName: string, der: Buffer): Buffer {
  return Buffer.from(curveOf(curveName).Signature.fromDER(der).toCompactRawBytes());
}
