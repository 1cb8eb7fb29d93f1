// Key Vault's vocabulary as tables over the port's neutral types: kty/crv/key_size → KeyKind,
// key_ops ↔ KeyUse, JOSE algorithm names (RFC 7518 §3, §4; Key Vault's additions) → schemes.
import type { CipherAlgorithm, EcCurve, KeyKind, KeyUse, SignAlgorithm } from '../key-port';

export const KTYS = ['RSA', 'RSA-HSM', 'EC', 'EC-HSM', 'oct', 'oct-HSM'] as const;
export type Kty = (typeof KTYS)[number];

/** JWK `crv` (Key Vault spells secp256k1 `P-256K`). */
export const CURVE_BY_CRV: Readonly<Record<string, EcCurve>> = Object.freeze({
  'P-256': 'P-256', 'P-384': 'P-384', 'P-521': 'P-521', 'P-256K': 'secp256k1',
});
export const CRV_BY_CURVE: Readonly<Record<EcCurve, string>> = Object.freeze({
  'P-256': 'P-256', 'P-384': 'P-384', 'P-521': 'P-521', secp256k1: 'P-256K',
});
/** Bytes of a coordinate or scalar on each curve (SEC 1 §2.3.7). */
export const CURVE_BYTES: Readonly<Record<EcCurve, number>> = Object.freeze({ 'P-256': 32, 'P-384': 48, 'P-521': 66, secp256k1: 32 });

export const RSA_SIZES = [2048, 3072, 4096] as const;
export const AES_SIZES = [128, 192, 256] as const;

/** Every key lives in the module, so keys are always reported in their -HSM form (as Managed HSM). */
export function ktyOf(kind: KeyKind): Kty {
  return kind.type === 'rsa' ? 'RSA-HSM' : kind.type === 'ec' ? 'EC-HSM' : 'oct-HSM';
}

export const KEY_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'import', 'export'] as const;
export type KeyOp = (typeof KEY_OPS)[number];

const USE_BY_OP: Readonly<Record<string, KeyUse>> = Object.freeze({
  encrypt: 'encrypt', decrypt: 'decrypt', sign: 'sign', verify: 'verify', wrapKey: 'wrap', unwrapKey: 'unwrap',
});
const OP_BY_USE: Readonly<Record<KeyUse, KeyOp>> = Object.freeze({
  encrypt: 'encrypt', decrypt: 'decrypt', sign: 'sign', verify: 'verify', wrap: 'wrapKey', unwrap: 'unwrapKey',
});

/** What each kind may do: Key Vault's defaults when key_ops is absent, and the ceiling otherwise. */
export const USES_BY_TYPE: Readonly<Record<KeyKind['type'], readonly KeyUse[]>> = Object.freeze({
  rsa: ['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap'],
  ec: ['sign', 'verify'],
  aes: ['encrypt', 'decrypt', 'wrap', 'unwrap'],
});

/** key_ops → uses; undefined when an op is unknown, unsupported (import, export) or unfit for the kind. */
export function usesOf(ops: readonly string[], type: KeyKind['type']): KeyUse[] | { refused: string } {
  const out: KeyUse[] = [];
  for (const op of ops) {
    const use = USE_BY_OP[op];
    if (use === undefined) return { refused: op };
    if (!USES_BY_TYPE[type].includes(use)) return { refused: op };
    if (!out.includes(use)) out.push(use);
  }
  return out;
}

export function keyOpsOf(uses: readonly KeyUse[]): KeyOp[] {
  return uses.map((u) => OP_BY_USE[u]);
}

export const SIGN_ALGORITHMS: Readonly<Record<string, SignAlgorithm>> = Object.freeze({
  RS256: { scheme: 'rsa-pkcs1-v1_5', hash: 'sha256' },
  RS384: { scheme: 'rsa-pkcs1-v1_5', hash: 'sha384' },
  RS512: { scheme: 'rsa-pkcs1-v1_5', hash: 'sha512' },
  PS256: { scheme: 'rsa-pss', hash: 'sha256' },
  PS384: { scheme: 'rsa-pss', hash: 'sha384' },
  PS512: { scheme: 'rsa-pss', hash: 'sha512' },
  ES256: { scheme: 'ecdsa', hash: 'sha256', curve: 'P-256' },
  ES384: { scheme: 'ecdsa', hash: 'sha384', curve: 'P-384' },
  ES512: { scheme: 'ecdsa', hash: 'sha512', curve: 'P-521' },
  ES256K: { scheme: 'ecdsa', hash: 'sha256', curve: 'secp256k1' },
});
/** Key Vault's other signature names, refused with a reason rather than as unknown. */
export const REFUSED_SIGN: Readonly<Record<string, string>> = Object.freeze({
  RSNULL: 'RSNULL (raw RSA without a digest) is not offered.',
  HS256: 'HMAC keys are not offered by the Key Vault face.', HS384: 'HMAC keys are not offered by the Key Vault face.',
  HS512: 'HMAC keys are not offered by the Key Vault face.',
});

export const DIGEST_BYTES: Readonly<Record<SignAlgorithm['hash'], number>> = Object.freeze({ sha256: 32, sha384: 48, sha512: 64 });

/** Which endpoints an algorithm belongs to: encrypt/decrypt, wrapKey/unwrapKey, or both. */
export interface CipherEntry { alg: CipherAlgorithm; for: readonly ('encrypt' | 'wrap')[] }
const gcm = (keyBits: 128 | 192 | 256): CipherEntry => ({ alg: { scheme: 'aes-gcm', keyBits }, for: ['encrypt'] });
const cbc = (keyBits: 128 | 192 | 256, padding: boolean): CipherEntry => ({ alg: { scheme: 'aes-cbc', keyBits, padding }, for: ['encrypt'] });
const kw = (keyBits: 128 | 192 | 256): CipherEntry => ({ alg: { scheme: 'aes-kw', keyBits, padding: false }, for: ['wrap'] });

export const CIPHER_ALGORITHMS: Readonly<Record<string, CipherEntry>> = Object.freeze({
  'RSA-OAEP': { alg: { scheme: 'rsa-oaep', hash: 'sha1' }, for: ['encrypt', 'wrap'] },
  'RSA-OAEP-256': { alg: { scheme: 'rsa-oaep', hash: 'sha256' }, for: ['encrypt', 'wrap'] },
  A128GCM: gcm(128), A192GCM: gcm(192), A256GCM: gcm(256),
  A128CBC: cbc(128, false), A192CBC: cbc(192, false), A256CBC: cbc(256, false),
  A128CBCPAD: cbc(128, true), A192CBCPAD: cbc(192, true), A256CBCPAD: cbc(256, true),
  A128KW: kw(128), A192KW: kw(192), A256KW: kw(256),
});
export const REFUSED_CIPHER: Readonly<Record<string, string>> = Object.freeze({
  RSA1_5: 'RSA1_5 (PKCS#1 v1.5 encryption) is refused: its decryption is open to padding-oracle attacks (Marvin).',
  CKM_AES_KEY_WRAP: 'CKM_AES_KEY_WRAP is not offered; use A128KW, A192KW or A256KW.',
  CKM_AES_KEY_WRAP_PAD: 'CKM_AES_KEY_WRAP_PAD is not offered; use A128KW, A192KW or A256KW.',
});
