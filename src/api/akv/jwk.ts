// JSON Web Keys (RFC 7517, RFC 7518 §6) as Key Vault writes and reads them: the public half of
// a key in every KeyBundle (the SDK verifies and encrypts locally with n/e, so they must be
// exact: unsigned big-endian, no leading zero byte), and the private JWK of an import.
import type { ImportedMaterial, KeyUse, KeyVersion, PublicKey } from '../key-port';
import { badParameter, b64u, optionalBoolean, optionalStringList, type AkvInput } from '../../protocol/akv';
import { decodeBase64Url } from '../../protocol/akv';
import { CRV_BY_CURVE, CURVE_BY_CRV, CURVE_BYTES, keyOpsOf, ktyOf, usesOf } from './algorithms';

/** RFC 7518 §6.3.1: n and e are unsigned big-endian integers in as few octets as possible. */
function unsigned(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}

function publicMembers(pub: PublicKey): Record<string, string> {
  if (pub.type === 'rsa') return { n: b64u(unsigned(pub.n)), e: b64u(unsigned(pub.e)) };
  return { crv: CRV_BY_CURVE[pub.curve], x: b64u(pub.x), y: b64u(pub.y) };
}

/** The `key` member of a KeyBundle: kid, kty, key_ops and the public half (none for AES). */
export function jwkOf(kid: string, v: KeyVersion): Record<string, unknown> {
  const jwk: Record<string, unknown> = { kid, kty: ktyOf(v.kind), key_ops: keyOpsOf(v.uses) };
  if (v.publicKey) Object.assign(jwk, publicMembers(v.publicKey));
  return jwk;
}

/** Largest JWK member accepted (an RSA-4096 modulus is 512 bytes; CRT members are half). */
const MAX_MEMBER_BYTES = 1024;

function part(jwk: AkvInput, name: string, exactBytes?: number): Buffer {
  const v = Object.prototype.hasOwnProperty.call(jwk, name) ? jwk[name] : undefined;
  if (v === undefined || v === null) throw badParameter(`The JSON Web Key is missing '${name}'.`);
  const bytes = decodeBase64Url(`key.${name}`, v, MAX_MEMBER_BYTES);
  if (exactBytes !== undefined && bytes.length !== exactBytes) {
    bytes.fill(0);
    throw badParameter(`The JSON Web Key member '${name}' must be ${exactBytes} bytes for this curve.`);
  }
  return bytes;
}

function materialOf(jwk: AkvInput, kty: string): ImportedMaterial {
  if (kty === 'RSA' || kty === 'RSA-HSM') {
    const m = { type: 'rsa' as const, n: part(jwk, 'n'), e: part(jwk, 'e'), d: part(jwk, 'd'), p: part(jwk, 'p'),
      q: part(jwk, 'q'), dp: part(jwk, 'dp'), dq: part(jwk, 'dq'), qi: part(jwk, 'qi') };
    return m;
  }
  if (kty === 'EC' || kty === 'EC-HSM') {
    const crv = typeof jwk.crv === 'string' ? CURVE_BY_CRV[jwk.crv] : undefined;
    if (crv === undefined) throw badParameter("The JSON Web Key needs 'crv': P-256, P-384, P-521 or P-256K.");
    const size = CURVE_BYTES[crv];
    return { type: 'ec', curve: crv, d: part(jwk, 'd', size), x: part(jwk, 'x', size), y: part(jwk, 'y', size) };
  }
  if (kty === 'oct' || kty === 'oct-HSM') {
    const key = part(jwk, 'k');
    if (![16, 24, 32].includes(key.length)) { key.fill(0); throw badParameter('AES keys must be 128, 192 or 256 bits.'); }
    return { type: 'aes', key };
  }
  throw badParameter("The JSON Web Key 'kty' must be RSA, RSA-HSM, EC, EC-HSM, oct or oct-HSM.");
}

export function zeroMaterial(m: ImportedMaterial): void {
  for (const v of Object.values(m)) if (Buffer.isBuffer(v)) v.fill(0);
}

/** The import body's `key`: private material and optional key_ops. `key_hsm` (BYOK) is not offered. */
export function readImportJwk(jwk: AkvInput): { material: ImportedMaterial; uses?: KeyUse[] } {
  if ('key_hsm' in jwk && jwk.key_hsm !== null) throw badParameter('Importing a BYOK blob (key_hsm) is not supported; import the plain JWK over TLS.');
  const kty = typeof jwk.kty === 'string' ? jwk.kty : '';
  const ops = optionalStringList(jwk, 'key_ops', 8);
  optionalBoolean(jwk, 'ext');
  const material = materialOf(jwk, kty);
  if (ops === undefined) return { material };
  const uses = usesOf(ops, material.type);
  if (!Array.isArray(uses)) {
    zeroMaterial(material);
    throw badParameter(`The key operation '${uses.refused.slice(0, 20)}' is not valid for this key type.`);
  }
  return { material, uses };
}
