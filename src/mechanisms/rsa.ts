// RSA mechanisms (PKCS#11 2.40 §2.1): key generation, PKCS#1 v1.5 and PSS signatures,
// OAEP and PKCS#1 v1.5 encryption. Primitives from node:crypto via src/crypto.
import * as c from '../crypto/node-crypto';
import { pssVerifyDigest } from '../crypto/emsa-pss';
import { CKK, CKM } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { describe } from './key-types';
import { hashByCkm, HashName, HASHES } from './hashes';
import type { KeyMaterial, MechanismDef, MechParams } from './types';

/** 1024 bits is the smallest modulus the module handles at all; below 2048 is legacy (SP 800-131A §2, approved.ts). */
const RSA_MIN_BITS = 1024;
const RSA_MAX_BITS = 4096;
const RSA_APPROVED_MIN_BITS = 2048;
const { RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING, RSA_PKCS1_OAEP_PADDING } = c.constants;

const base = { keyTypes: [CKK.RSA], minKeySize: RSA_MIN_BITS, maxKeySize: RSA_MAX_BITS, legacy: { minKeySize: RSA_APPROVED_MIN_BITS } };
/** SHA-1 signatures are legacy (SP 800-131A Rev. 2 §9): verifying them stays allowed. */
const sha1Legacy = { minKeySize: RSA_APPROVED_MIN_BITS, signing: true };
const legacyFor = (hash: HashName) => (hash === 'sha1' ? sha1Legacy : base.legacy);
const priv = (k: KeyMaterial) => k.privateKey ?? (() => { throw new HsmError('KEY_TYPE_INCONSISTENT', 'a private key is needed'); })();
const pub = (k: KeyMaterial) => k.publicKey!;
const modLen = (k: KeyMaterial) => Math.ceil(k.size / 8);

const keyPairGen: MechanismDef = {
  ...base, type: CKM.RSA_PKCS_KEY_PAIR_GEN, name: 'CKM_RSA_PKCS_KEY_PAIR_GEN', generates: 'pair',
  async generate(spec) {
    const bits = spec.modulusBits;
    if (bits === undefined) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_MODULUS_BITS is required');
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || bits % 8 !== 0) {
      throw new HsmError('KEY_SIZE_RANGE', `RSA modulus must be ${RSA_MIN_BITS}-${RSA_MAX_BITS} bits, a multiple of 8`);
    }
    const e = spec.publicExponent && spec.publicExponent.length ? Number(BigInt('0x' + spec.publicExponent.toString('hex'))) : 65537;
    if (e < 65537 || e % 2 === 0 || !Number.isSafeInteger(e)) throw new HsmError('ATTRIBUTE_VALUE_INVALID', 'public exponent must be odd and at least 65537');
    const { privateKey } = await c.generateRsa(bits, e);
    return { kind: 'pair', material: describe(CKK.RSA, privateKey) };
  },
};

/** CKM_RSA_PKCS: raw PKCS#1 v1.5 over caller-formatted data (a DigestInfo for signing), §2.1.6.
 *  No decrypt or unwrap: private-key PKCS#1 v1.5 decryption is refused (Marvin attack,
 *  CVE-2023-46809; Node 20 refuses it too), so C_DecryptInit answers CKR_MECHANISM_INVALID. */
const rsaPkcs: MechanismDef = {
  ...base, type: CKM.RSA_PKCS, name: 'CKM_RSA_PKCS',
  async sign(k, data) {
    if (data.length > modLen(k) - 11) throw new HsmError('DATA_LEN_RANGE');
    return c.rsaPrivateEncryptAsync(priv(k), data, RSA_PKCS1_PADDING);
  },
  async verify(k, data, sig) {
    if (sig.length !== modLen(k)) throw new HsmError('SIGNATURE_LEN_RANGE');
    try {
      return c.timingSafeEqual(c.rsaPublicDecrypt(pub(k), sig, RSA_PKCS1_PADDING), data);
    } catch { return false; }
  },
  async encrypt(k, data) {
    if (data.length > modLen(k) - 11) throw new HsmError('DATA_LEN_RANGE');
    return c.rsaPublicEncrypt(pub(k), data, RSA_PKCS1_PADDING);
  },
  async wrap(k, keyBytes) { return rsaPkcs.encrypt!(k, keyBytes, {}); },
};

function hashedPkcs1(type: number, name: string, hash: HashName): MechanismDef {
  return {
    ...base, type, name, hash, legacy: legacyFor(hash),
    sign: (k, data) => c.sign(hash, data, priv(k), { padding: RSA_PKCS1_PADDING }),
    async verify(k, data, sig) {
      if (sig.length !== modLen(k)) throw new HsmError('SIGNATURE_LEN_RANGE');
      return c.verify(hash, data, pub(k), sig, { padding: RSA_PKCS1_PADDING });
    },
  };
}

/** CK_RSA_PKCS_PSS_PARAMS must name this mechanism's hash and the matching MGF1 (§2.1.9). */
function pssSaltLength(k: KeyMaterial, hash: HashName, p: MechParams): number {
  const h = HASHES.find((x) => x.name === hash)!;
  if (p.hashAlg !== undefined && p.hashAlg !== h.ckm) throw new HsmError('MECHANISM_PARAM_INVALID', 'PSS hashAlg does not match the mechanism');
  if (p.mgf !== undefined && p.mgf !== h.mgf) throw new HsmError('MECHANISM_PARAM_INVALID', 'PSS MGF must be MGF1 with the same hash');
  const salt = p.saltLength ?? h.len;
  if (!Number.isSafeInteger(salt) || salt < 0 || salt > modLen(k) - h.len - 2) throw new HsmError('MECHANISM_PARAM_INVALID', 'PSS salt length out of range');
  return salt;
}

function hashedPss(type: number, name: string, hash: HashName): MechanismDef {
  return {
    ...base, type, name, hash, legacy: legacyFor(hash),
    sign: (k, data, p) => c.sign(hash, data, priv(k), { padding: RSA_PKCS1_PSS_PADDING, saltLength: pssSaltLength(k, hash, p) }),
    async verify(k, data, sig, p) {
      const saltLength = pssSaltLength(k, hash, p);
      if (sig.length !== modLen(k)) throw new HsmError('SIGNATURE_LEN_RANGE');
      return c.verify(hash, data, pub(k), sig, { padding: RSA_PKCS1_PSS_PADDING, saltLength });
    },
  };
}

/** CKM_RSA_PKCS_PSS over a caller-supplied digest (§2.1.10): CK_RSA_PKCS_PSS_PARAMS are required
 *  and the data must be exactly one digest of hashAlg. The MGF1 hash may differ from hashAlg. */
function rawPssParams(k: KeyMaterial, p: MechParams, data: Buffer): { hash: HashName; mgfHash: HashName; salt: number } {
  const h = hashByCkm(p.hashAlg);
  const m = HASHES.find((x) => x.mgf === p.mgf);
  if (!h || !m) throw new HsmError('MECHANISM_PARAM_INVALID', 'CKM_RSA_PKCS_PSS needs CK_RSA_PKCS_PSS_PARAMS with a SHA hash and MGF1');
  const salt = p.saltLength ?? h.len;
  if (!Number.isSafeInteger(salt) || salt < 0 || salt > modLen(k) - h.len - 2) throw new HsmError('MECHANISM_PARAM_INVALID', 'PSS salt length out of range');
  if (data.length !== h.len) throw new HsmError('DATA_LEN_RANGE', 'the data must be one digest of the PSS hash');
  return { hash: h.name, mgfHash: m.name, salt };
}

const rsaPss: MechanismDef = {
  ...base, type: CKM.RSA_PKCS_PSS, name: 'CKM_RSA_PKCS_PSS',
  legacy: { ...base.legacy, signingWith: (p) => p.hashAlg === CKM.SHA_1 },
  async sign(k, data, p) {
    const { hash, mgfHash, salt } = rawPssParams(k, p, data);
    return c.pssSignDigestAsync(priv(k), hash, mgfHash, salt, data);
  },
  async verify(k, data, sig, p) {
    const { hash, mgfHash, salt } = rawPssParams(k, p, data);
    if (sig.length !== modLen(k)) throw new HsmError('SIGNATURE_LEN_RANGE');
    return pssVerifyDigest(pub(k), hash, mgfHash, salt, data, sig);
  },
};

/** CK_RSA_PKCS_OAEP_PARAMS (§2.1.8): node uses one hash for OAEP and MGF1, so they must agree. */
function oaepParams(p: MechParams): { hash: HashName; label?: Buffer } {
  const h = hashByCkm(p.hashAlg ?? CKM.SHA_1);
  if (!h) throw new HsmError('MECHANISM_PARAM_INVALID', 'unsupported OAEP hash');
  if (p.mgf !== undefined && p.mgf !== h.mgf) throw new HsmError('MECHANISM_PARAM_INVALID', 'OAEP MGF1 hash must equal the OAEP hash');
  return { hash: h.name, label: p.label && p.label.length ? p.label : undefined };
}

export const rsaOaep: MechanismDef = {
  ...base, type: CKM.RSA_PKCS_OAEP, name: 'CKM_RSA_PKCS_OAEP', defaultFor: [{ use: 'encrypt', keyTypes: [CKK.RSA] }],
  async encrypt(k, data, p) {
    const { hash, label } = oaepParams(p);
    if (data.length > modLen(k) - 2 * hashByCkm(p.hashAlg ?? CKM.SHA_1)!.len - 2) throw new HsmError('DATA_LEN_RANGE');
    return c.rsaPublicEncrypt(pub(k), data, RSA_PKCS1_OAEP_PADDING, hash, label);
  },
  async decrypt(k, data, p) {
    const { hash, label } = oaepParams(p);
    if (data.length !== modLen(k)) throw new HsmError('ENCRYPTED_DATA_LEN_RANGE');
    try {
      return await c.rsaPrivateDecryptAsync(priv(k), data, RSA_PKCS1_OAEP_PADDING, hash, label);
    } catch {
      throw new HsmError('ENCRYPTED_DATA_INVALID');
    }
  },
  wrap: (k, keyBytes, p) => rsaOaep.encrypt!(k, keyBytes, p),
  async unwrap(k, wrapped, p) {
    try { return await rsaOaep.decrypt!(k, wrapped, p); } catch { throw new HsmError('WRAPPED_KEY_INVALID'); }
  },
};

/** The KMS name of a hash-and-sign mechanism and its over-a-digest form (PSS with params, PKCS#1 v1.5 over a DigestInfo). */
function kms(name: string): Pick<MechanismDef, 'kms' | 'overDigest'> {
  const kms = { kind: 'signing' as const, name };
  return name.startsWith('RSASSA_PSS')
    ? { kms, overDigest: { type: CKM.RSA_PKCS_PSS, pssParams: true } }
    : { kms, overDigest: { type: CKM.RSA_PKCS, digestInfo: true } };
}

export const RSA_MECHANISMS: MechanismDef[] = [
  keyPairGen, rsaPkcs, rsaPss, rsaOaep,
  hashedPkcs1(CKM.SHA1_RSA_PKCS, 'CKM_SHA1_RSA_PKCS', 'sha1'),
  hashedPkcs1(CKM.SHA224_RSA_PKCS, 'CKM_SHA224_RSA_PKCS', 'sha224'),
  { ...hashedPkcs1(CKM.SHA256_RSA_PKCS, 'CKM_SHA256_RSA_PKCS', 'sha256'), defaultFor: [{ use: 'sign', keyTypes: [CKK.RSA] }], ...kms('RSASSA_PKCS1_V1_5_SHA_256') },
  { ...hashedPkcs1(CKM.SHA384_RSA_PKCS, 'CKM_SHA384_RSA_PKCS', 'sha384'), ...kms('RSASSA_PKCS1_V1_5_SHA_384') },
  { ...hashedPkcs1(CKM.SHA512_RSA_PKCS, 'CKM_SHA512_RSA_PKCS', 'sha512'), ...kms('RSASSA_PKCS1_V1_5_SHA_512') },
  hashedPss(CKM.SHA1_RSA_PKCS_PSS, 'CKM_SHA1_RSA_PKCS_PSS', 'sha1'),
  hashedPss(CKM.SHA224_RSA_PKCS_PSS, 'CKM_SHA224_RSA_PKCS_PSS', 'sha224'),
  { ...hashedPss(CKM.SHA256_RSA_PKCS_PSS, 'CKM_SHA256_RSA_PKCS_PSS', 'sha256'), ...kms('RSASSA_PSS_SHA_256') },
  { ...hashedPss(CKM.SHA384_RSA_PKCS_PSS, 'CKM_SHA384_RSA_PKCS_PSS', 'sha384'), ...kms('RSASSA_PSS_SHA_384') },
  { ...hashedPss(CKM.SHA512_RSA_PKCS_PSS, 'CKM_SHA512_RSA_PKCS_PSS', 'sha512'), ...kms('RSASSA_PSS_SHA_512') },
];
