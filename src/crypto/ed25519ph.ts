// Ed25519ph (RFC 8032 §5.1: Ed25519 over SHA-512(M) with dom2(1, context)), which node:crypto 20
// does not offer, through @noble/curves (a library: no curve arithmetic is written here). The
// variant below takes the SHA-512 digest itself, so a caller that hashed already (KMS MessageType
// DIGEST) and one that did not give the same signature; RFC 8032 §7.3 is its self-test vector.
import { ed25519ph } from '@noble/curves/ed25519';
import { twistedEdwards } from '@noble/curves/abstract/edwards';
import * as nc from 'node:crypto';

/** The curve's own prehash is SHA-512; here the input already is that digest (dom2 keeps phflag 1). */
const overDigest = twistedEdwards({ ...ed25519ph.CURVE, prehash: (digest: Uint8Array | string) => (typeof digest === 'string' ? Buffer.from(digest, 'hex') : digest) });

const seedOf = (key: nc.KeyObject): Buffer => Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url');
const rawPublic = (key: nc.KeyObject): Buffer => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');

export function sha512(data: Buffer): Buffer { return nc.createHash('sha512').update(data).digest(); }

/** An Ed25519ph signature over a 64-byte SHA-512 digest with an Ed25519 private key. */
export function ed25519phSignDigest(privateKey: nc.KeyObject, digest: Buffer): Buffer {
  if (digest.length !== 64) throw new RangeError('Ed25519ph signs a 64-byte SHA-512 digest');
  const seed = seedOf(privateKey);
  try { return Buffer.from(overDigest.sign(digest, seed)); } finally { seed.fill(0); }
}

/** False for a signature that does not verify or is malformed. */
export function ed25519phVerifyDigest(publicKey: nc.KeyObject, digest: Buffer, signature: Buffer): boolean {
  if (digest.length !== 64 || signature.length !== 64) return false;
  try { return overDigest.verify(signature, digest, rawPublic(publicKey)); } catch { return false; }
}
