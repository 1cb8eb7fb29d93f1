// KMS key specs and usages as data: which PKCS#11 generation mechanism and template each
// KeySpec × KeyUsage becomes (docs/kms-wire.md §3 enums), and how an existing core
// object is described as a KMS key when it was made through another face.
import { CKA, CKK, CKM, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { CURVES, ED25519_OID } from '../mechanisms/key-types';
import type { HsmObject } from './hsm-object';
import type { AttrValue } from './policy/attributes';
import type { Template } from './templates';

export const KEY_SPECS = ['SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384',
  'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'] as const;
export type KmsKeySpec = typeof KEY_SPECS[number];
export const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
export type KmsKeyUsage = typeof KEY_USAGES[number];

interface SpecDef {
  usages: readonly KmsKeyUsage[];
  keyType: number;
  /** RSA modulus bits, EC curve OID, or secret length in bytes. */
  bits?: number;
  ecParams?: Buffer;
  valueLen?: number;
}

const curve = (name: string) => CURVES.find((c) => c.name === name)!.oid;
export const SPECS: Readonly<Record<KmsKeySpec, SpecDef>> = {
  SYMMETRIC_DEFAULT: { usages: ['ENCRYPT_DECRYPT'], keyType: CKK.AES, valueLen: 32 },
  RSA_2048: { usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], keyType: CKK.RSA, bits: 2048 },
  RSA_3072: { usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], keyType: CKK.RSA, bits: 3072 },
  RSA_4096: { usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], keyType: CKK.RSA, bits: 4096 },
  ECC_NIST_P256: { usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], keyType: CKK.EC, ecParams: curve('P-256') },
  ECC_NIST_P384: { usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], keyType: CKK.EC, ecParams: curve('P-384') },
  ECC_NIST_P521: { usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], keyType: CKK.EC, ecParams: curve('P-521') },
  ECC_SECG_P256K1: { usages: ['SIGN_VERIFY'], keyType: CKK.EC, ecParams: curve('secp256k1') },
  ECC_NIST_EDWARDS25519: { usages: ['SIGN_VERIFY'], keyType: CKK.EC_EDWARDS, ecParams: ED25519_OID },
  HMAC_224: { usages: ['GENERATE_VERIFY_MAC'], keyType: CKK.GENERIC_SECRET, valueLen: 28 },
  HMAC_256: { usages: ['GENERATE_VERIFY_MAC'], keyType: CKK.GENERIC_SECRET, valueLen: 32 },
  HMAC_384: { usages: ['GENERATE_VERIFY_MAC'], keyType: CKK.GENERIC_SECRET, valueLen: 48 },
  HMAC_512: { usages: ['GENERATE_VERIFY_MAC'], keyType: CKK.GENERIC_SECRET, valueLen: 64 },
};

export const isSymmetric = (spec: KmsKeySpec) => spec === 'SYMMETRIC_DEFAULT';
export const isHmac = (spec: KmsKeySpec) => spec.startsWith('HMAC_');

export function checkSpecUsage(spec: KmsKeySpec, usage: KmsKeyUsage): void {
  if (!SPECS[spec].usages.includes(usage)) {
    throw new HsmError('BAD_REQUEST', `KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
  }
}

/** The usage flags of each half for one KMS usage: nothing beyond what the usage needs. */
function usageFlags(usage: KmsKeyUsage, cls: number): [number, boolean][] {
  const on = (attrs: number[]) => (a: number): [number, boolean] => [a, attrs.includes(a)];
  if (cls === CKO.PUBLIC_KEY) {
    return [CKA.ENCRYPT, CKA.VERIFY, CKA.WRAP].map(on(usage === 'ENCRYPT_DECRYPT' ? [CKA.ENCRYPT] : usage === 'SIGN_VERIFY' ? [CKA.VERIFY] : []));
  }
  const wanted = usage === 'ENCRYPT_DECRYPT' ? (cls === CKO.SECRET_KEY ? [CKA.ENCRYPT, CKA.DECRYPT] : [CKA.DECRYPT])
    : usage === 'SIGN_VERIFY' ? [CKA.SIGN] : usage === 'GENERATE_VERIFY_MAC' ? [CKA.SIGN, CKA.VERIFY] : [CKA.DERIVE];
  const all = cls === CKO.SECRET_KEY ? [CKA.ENCRYPT, CKA.DECRYPT, CKA.SIGN, CKA.VERIFY, CKA.WRAP, CKA.UNWRAP, CKA.DERIVE]
    : [CKA.DECRYPT, CKA.SIGN, CKA.UNWRAP, CKA.DERIVE];
  return all.map(on(wanted));
}

/** Template for one object of a KMS key: token, sensitive, never extractable, labelled, usage-limited. */
export function kmsTemplate(cls: number, usage: KmsKeyUsage, label: string, ckaId: Buffer): Template {
  const t = new Map<number, AttrValue>([[CKA.TOKEN, true], [CKA.LABEL, label], [CKA.ID, ckaId]]);
  if (cls !== CKO.PUBLIC_KEY) { t.set(CKA.SENSITIVE, true); t.set(CKA.EXTRACTABLE, false); }
  for (const [a, v] of usageFlags(usage, cls)) t.set(a, v);
  return t;
}

export interface GenerationPlan { pair: boolean; mechanism: number; template: Template; publicTemplate: Template }

export function generationPlan(spec: KmsKeySpec, usage: KmsKeyUsage, label: string, ckaId: Buffer): GenerationPlan {
  const def = SPECS[spec];
  if (def.keyType === CKK.AES || def.keyType === CKK.GENERIC_SECRET) {
    const template = kmsTemplate(CKO.SECRET_KEY, usage, label, ckaId);
    template.set(CKA.VALUE_LEN, def.valueLen!);
    return { pair: false, mechanism: def.keyType === CKK.AES ? CKM.AES_KEY_GEN : CKM.GENERIC_SECRET_KEY_GEN, template, publicTemplate: new Map() };
  }
  const publicTemplate = kmsTemplate(CKO.PUBLIC_KEY, usage, label, ckaId);
  const mechanism = def.keyType === CKK.RSA ? CKM.RSA_PKCS_KEY_PAIR_GEN : def.keyType === CKK.EC ? CKM.EC_KEY_PAIR_GEN : CKM.EC_EDWARDS_KEY_PAIR_GEN;
  if (def.bits) publicTemplate.set(CKA.MODULUS_BITS, def.bits);
  if (def.ecParams) publicTemplate.set(CKA.EC_PARAMS, def.ecParams);
  return { pair: true, mechanism, template: kmsTemplate(CKO.PRIVATE_KEY, usage, label, ckaId), publicTemplate };
}

/** True if a key object's type and size are what `spec` names (imported material is checked with this). */
export function objectFitsSpec(obj: HsmObject, spec: KmsKeySpec): boolean {
  const desc = describeObject(obj);
  return desc !== undefined && desc.spec === spec;
}

/** A core object made through another face, described as a KMS key (undefined if it cannot be one).
 *  `usages` lists every KMS usage its PKCS#11 usage flags allow; the first is the one shown. */
export function describeObject(obj: HsmObject): { spec: KmsKeySpec; usages: KmsKeyUsage[] } | undefined {
  const flags = (pairs: [number, KmsKeyUsage][]) => pairs.filter(([a]) => obj.bool(a)).map(([, u]) => u);
  if (obj.cls === CKO.SECRET_KEY) {
    const len = obj.attrs.get(CKA.VALUE_LEN) as number | undefined;
    if (obj.keyType === CKK.AES && len === 32) return { spec: 'SYMMETRIC_DEFAULT', usages: obj.bool(CKA.ENCRYPT) || obj.bool(CKA.DECRYPT) ? ['ENCRYPT_DECRYPT'] : [] };
    const hmac = (Object.keys(SPECS) as KmsKeySpec[]).find((s) => isHmac(s) && SPECS[s].valueLen === len);
    return obj.keyType === CKK.GENERIC_SECRET && hmac ? { spec: hmac, usages: flags([[CKA.SIGN, 'GENERATE_VERIFY_MAC']]) } : undefined;
  }
  if (obj.cls !== CKO.PRIVATE_KEY) return undefined;
  if (obj.keyType === CKK.RSA) {
    const bits = ((obj.attrs.get(CKA.MODULUS) as Buffer | undefined)?.length ?? 0) * 8;
    const spec = `RSA_${bits}` as KmsKeySpec;
    return SPECS[spec] ? { spec, usages: flags([[CKA.SIGN, 'SIGN_VERIFY'], [CKA.DECRYPT, 'ENCRYPT_DECRYPT']]) } : undefined;
  }
  if (obj.keyType === CKK.EC_EDWARDS) return { spec: 'ECC_NIST_EDWARDS25519', usages: flags([[CKA.SIGN, 'SIGN_VERIFY']]) };
  if (obj.keyType === CKK.EC) {
    const params = obj.attrs.get(CKA.EC_PARAMS) as Buffer | undefined;
    const spec = (Object.keys(SPECS) as KmsKeySpec[]).find((s) => SPECS[s].keyType === CKK.EC && params && SPECS[s].ecParams!.equals(params));
    return spec ? { spec, usages: flags([[CKA.SIGN, 'SIGN_VERIFY'], [CKA.DERIVE, 'KEY_AGREEMENT']]).filter((u) => SPECS[spec].usages.includes(u)) } : undefined;
  }
  return undefined;
}
