// KMS key specs and usages as data (docs/kms-wire.md §3 enums): how each KeySpec × KeyUsage maps
// onto the core's face-neutral key spec and purpose, and back. AWS vocabulary stays in this face.
import { HsmError } from '../../errors/hsm-error';
import type { KeyPurpose, KeySpec } from '../../core/key-specs';

export const KEY_SPECS = ['SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384',
  'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'] as const;
export type KmsKeySpec = typeof KEY_SPECS[number];
export const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
export type KmsKeyUsage = typeof KEY_USAGES[number];

interface SpecDef { usages: readonly KmsKeyUsage[]; core: KeySpec }

export const SPECS: Readonly<Record<KmsKeySpec, SpecDef>> = {
  SYMMETRIC_DEFAULT: { usages: ['ENCRYPT_DECRYPT'], core: { kind: 'aes', size: 256 } },
  RSA_2048: { usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], core: { kind: 'rsa', size: 2048 } },
  RSA_3072: { usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], core: { kind: 'rsa', size: 3072 } },
  RSA_4096: { usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], core: { kind: 'rsa', size: 4096 } },
  ECC_NIST_P256: { usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], core: { kind: 'ec', curve: 'P-256' } },
  ECC_NIST_P384: { usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], core: { kind: 'ec', curve: 'P-384' } },
  ECC_NIST_P521: { usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], core: { kind: 'ec', curve: 'P-521' } },
  ECC_SECG_P256K1: { usages: ['SIGN_VERIFY'], core: { kind: 'ec', curve: 'secp256k1' } },
  ECC_NIST_EDWARDS25519: { usages: ['SIGN_VERIFY'], core: { kind: 'ed25519' } },
  HMAC_224: { usages: ['GENERATE_VERIFY_MAC'], core: { kind: 'hmac', size: 224 } },
  HMAC_256: { usages: ['GENERATE_VERIFY_MAC'], core: { kind: 'hmac', size: 256 } },
  HMAC_384: { usages: ['GENERATE_VERIFY_MAC'], core: { kind: 'hmac', size: 384 } },
  HMAC_512: { usages: ['GENERATE_VERIFY_MAC'], core: { kind: 'hmac', size: 512 } },
};

const PURPOSE: Record<KmsKeyUsage, KeyPurpose> = { ENCRYPT_DECRYPT: 'encrypt', SIGN_VERIFY: 'sign', GENERATE_VERIFY_MAC: 'mac', KEY_AGREEMENT: 'agree' };
const USAGE: Record<KeyPurpose, KmsKeyUsage> = { encrypt: 'ENCRYPT_DECRYPT', sign: 'SIGN_VERIFY', mac: 'GENERATE_VERIFY_MAC', agree: 'KEY_AGREEMENT' };

export const isSymmetric = (spec: KmsKeySpec) => spec === 'SYMMETRIC_DEFAULT';
export const isHmac = (spec: KmsKeySpec) => spec.startsWith('HMAC_');
export const purposeOf = (u: KmsKeyUsage): KeyPurpose => PURPOSE[u];
export const usageOf = (p: KeyPurpose): KmsKeyUsage => USAGE[p];

export function checkSpecUsage(spec: KmsKeySpec, usage: KmsKeyUsage): void {
  if (!SPECS[spec].usages.includes(usage)) throw new HsmError('BAD_REQUEST', `KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
}

/** The KMS name of a core spec (an AES key other than 256 bits, or an HMAC of another length, has none). */
export function kmsSpecOf(spec: KeySpec): KmsKeySpec | undefined {
  return (Object.keys(SPECS) as KmsKeySpec[]).find((k) => {
    const c = SPECS[k].core;
    return c.kind === spec.kind && c.size === spec.size && c.curve === spec.curve;
  });
}
