// KMS algorithm names: which signing, encryption, MAC and key-agreement algorithms each key spec
// offers (AWS KMS developer guide, "Key spec reference"), and the PKCS#11 mechanism and parameters
// each one runs as in the core. Signing and MAC names live on the registry's mechanisms (kmsName);
// OAEP and import-wrapping names are parameter sets of one mechanism and stay here.
import { CKG, CKM } from '../../pkcs11/constants';
import { HASHES } from '../../mechanisms/hashes';
import { allMechanisms } from '../../mechanisms/registry';
import type { MechanismDef, MechParams } from '../../mechanisms/types';
import { SPECS, type KmsKeySpec, type KmsKeyUsage } from './key-specs';

type Hash = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
const hashOf = (h: Hash) => HASHES.find((x) => x.name === h)!;

export interface SigningAlgorithm {
  hash: Hash;
  /** Mechanism for MessageType RAW (hash-and-sign) and DIGEST (sign a given digest); none = not allowed. */
  raw: number;
  digest?: number;
  params: MechParams;
  /** Parameters for MessageType DIGEST when they differ from RAW's (Ed25519ph: the digest is given). */
  digestParams?: MechParams;
  /** PKCS#1 v1.5 over a digest needs the DigestInfo prefix in front of it. */
  digestInfo?: boolean;
  /** ECDSA: KMS speaks DER (the core converts from PKCS#11's raw r‖s). */
  der?: boolean;
}

/** A KMS signing algorithm from the registry mechanism that carries its name (MechanismDef.kms). */
function signingAlgorithm(m: MechanismDef): SigningAlgorithm {
  const h = hashOf(m.hash as Hash);
  const params: MechParams = m.overDigest?.pssParams ? { hashAlg: h.ckm, mgf: h.mgf, saltLength: h.len } : {};
  return {
    hash: m.hash as Hash, raw: m.type, digest: m.overDigest?.type, params,
    ...(m.overDigest?.digestInfo ? { digestInfo: true } : {}), ...(m.signature === 'ecdsa' ? { der: true } : {}),
  };
}
export const SIGNING_ALGORITHMS: Readonly<Record<string, SigningAlgorithm>> = Object.freeze({
  ...Object.fromEntries(allMechanisms().filter((m) => m.kms?.kind === 'signing').map((m) => [m.kms!.name, signingAlgorithm(m)])),
  // Ed25519ph (RFC 8032 §5.1) is CKM_EDDSA with phFlag, a parameter set of the mechanism that
  // already carries ED25519_SHA_512: RAW is hashed in the module, DIGEST is SHA-512(M) given.
  ED25519_PH_SHA_512: { hash: 'sha512', raw: CKM.EDDSA, digest: CKM.EDDSA, params: { phFlag: true }, digestParams: { phFlag: true, prehashed: true } },
});
/** Every name the model has, so an unsupported-but-valid name is a usage error, not a validation error. */
export const SIGNING_ALGORITHM_NAMES = [...Object.keys(SIGNING_ALGORITHMS), 'SM2DSA', 'ML_DSA_SHAKE_256'] as const;

export const digestLength = (a: SigningAlgorithm) => hashOf(a.hash).len;
export const digestInfo = (a: SigningAlgorithm) => hashOf(a.hash).digestInfo;

export const ENCRYPTION_ALGORITHM_NAMES = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
export const RSA_OAEP: Readonly<Record<string, MechParams>> = {
  RSAES_OAEP_SHA_1: { hashAlg: CKM.SHA_1, mgf: CKG.MGF1_SHA1 },
  RSAES_OAEP_SHA_256: { hashAlg: CKM.SHA256, mgf: CKG.MGF1_SHA256 },
};

/** KMS MAC algorithms from the registry's HMAC mechanisms; each needs the HMAC key spec of its hash length. */
export const MAC_ALGORITHMS: Readonly<Record<string, { mech: number; spec: KmsKeySpec }>> = Object.freeze(Object.fromEntries(
  allMechanisms().filter((m) => m.kms?.kind === 'mac').map((m) => [m.kms!.name, { mech: m.type, spec: `HMAC_${hashOf(m.hash as Hash).len * 8}` as KmsKeySpec }])));

/** The algorithms a key offers for one usage (KeyMetadata's *Algorithms lists). */
export function algorithmsFor(spec: KmsKeySpec, usage: KmsKeyUsage): {
  encryption?: string[]; signing?: string[]; mac?: string[]; keyAgreement?: string[];
} {
  const kind = SPECS[spec].core.kind;
  if (usage === 'ENCRYPT_DECRYPT') return { encryption: spec === 'SYMMETRIC_DEFAULT' ? ['SYMMETRIC_DEFAULT'] : Object.keys(RSA_OAEP) };
  if (usage === 'GENERATE_VERIFY_MAC') return { mac: Object.keys(MAC_ALGORITHMS).filter((m) => MAC_ALGORITHMS[m].spec === spec) };
  if (usage === 'KEY_AGREEMENT') return { keyAgreement: ['ECDH'] };
  if (kind === 'rsa') return { signing: Object.keys(SIGNING_ALGORITHMS).filter((a) => a.startsWith('RSASSA_')) };
  if (kind === 'ed25519') return { signing: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] };
  const ecdsa: Partial<Record<KmsKeySpec, string>> = {
    ECC_NIST_P256: 'ECDSA_SHA_256', ECC_SECG_P256K1: 'ECDSA_SHA_256', ECC_NIST_P384: 'ECDSA_SHA_384', ECC_NIST_P521: 'ECDSA_SHA_512',
  };
  return { signing: ecdsa[spec] ? [ecdsa[spec]!] : [] };
}

/** Import wrapping algorithms → the core's unwrap mechanism (RSA_AES_KEY_WRAP: OAEP of an AES key, then RFC 5649). */
export const WRAPPING_ALGORITHMS: Readonly<Record<string, { mech: number; params: MechParams }>> = {
  RSAES_OAEP_SHA_1: { mech: CKM.RSA_PKCS_OAEP, params: RSA_OAEP.RSAES_OAEP_SHA_1 },
  RSAES_OAEP_SHA_256: { mech: CKM.RSA_PKCS_OAEP, params: RSA_OAEP.RSAES_OAEP_SHA_256 },
  RSA_AES_KEY_WRAP_SHA_1: { mech: CKM.RSA_AES_KEY_WRAP, params: { ...RSA_OAEP.RSAES_OAEP_SHA_1, aesKeyBits: 256 } },
  RSA_AES_KEY_WRAP_SHA_256: { mech: CKM.RSA_AES_KEY_WRAP, params: { ...RSA_OAEP.RSAES_OAEP_SHA_256, aesKeyBits: 256 } },
};
export const WRAPPING_ALGORITHM_NAMES = ['RSAES_PKCS1_V1_5', ...Object.keys(WRAPPING_ALGORITHMS), 'SM2PKE'] as const;
export const WRAPPING_KEY_SPECS: Readonly<Record<string, number>> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };
