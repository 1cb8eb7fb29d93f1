// Generic secrets (PKCS#11 2.40 §2.34), HMAC (§2.17-2.20 *_HMAC) and HKDF (PKCS#11 3.0 §2.43),
// and the RSA-AES key wrap (§2.1.21) that combines OAEP with RFC 5649.
import * as c from '../crypto/node-crypto';
import { CKK, CKM } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { hashByCkm, HashName, HASHES } from './hashes';
import { aesKeyWrapPad } from './aes';
import { rsaOaep } from './rsa';
import type { KeyMaterial, MechanismDef } from './types';

const SECRET_MIN_BYTES = 1;
const SECRET_MAX_BYTES = 512;
/** 112 bits, the least security strength SP 800-131A Rev. 2 approves for a key (approved.ts). */
const APPROVED_SECRET_MIN_BYTES = 14;
const key = (k: KeyMaterial) => k.secret ?? (() => { throw new HsmError('KEY_TYPE_INCONSISTENT'); })();

const genericKeyGen: MechanismDef = {
  type: CKM.GENERIC_SECRET_KEY_GEN, name: 'CKM_GENERIC_SECRET_KEY_GEN', keyTypes: [CKK.GENERIC_SECRET],
  minKeySize: SECRET_MIN_BYTES, maxKeySize: SECRET_MAX_BYTES, generates: 'secret', legacy: { minKeySize: APPROVED_SECRET_MIN_BYTES },
  async generate(spec) {
    const len = spec.valueLen;
    if (len === undefined) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_VALUE_LEN is required');
    if (len < SECRET_MIN_BYTES || len > SECRET_MAX_BYTES) throw new HsmError('KEY_SIZE_RANGE', `generic secrets are ${SECRET_MIN_BYTES}-${SECRET_MAX_BYTES} bytes`);
    const value = await c.randomBytesAsync(len);
    return { kind: 'secret', value, material: { keyType: CKK.GENERIC_SECRET, secret: c.secretKey(value), size: len } };
  },
};

/** RFC 2104 takes keys of any length; an HMAC key shorter than the hash output is legacy
 *  (approved-only mode refuses it at creation and at use, approved.ts). */
function hmacMech(type: number, name: string, hash: HashName): MechanismDef {
  return {
    type, name, hash, keyTypes: [CKK.GENERIC_SECRET, CKK.AES], minKeySize: SECRET_MIN_BYTES, maxKeySize: SECRET_MAX_BYTES,
    legacy: { minKeySize: HASHES.find((h) => h.name === hash)!.len },
    async sign(k, data) { return c.hmac(hash, key(k), data); },
    async verify(k, data, sig) {
      const mac = c.hmac(hash, key(k), data);
      if (sig.length !== mac.length) throw new HsmError('SIGNATURE_LEN_RANGE');
      return c.timingSafeEqual(mac, sig);
    },
  };
}

/** CKM_HKDF_DERIVE: extract-and-expand with the given PRF hash, salt and info. */
const hkdf: MechanismDef = {
  type: CKM.HKDF_DERIVE, name: 'CKM_HKDF_DERIVE', keyTypes: [CKK.GENERIC_SECRET, CKK.AES],
  minKeySize: SECRET_MIN_BYTES, maxKeySize: SECRET_MAX_BYTES, legacy: { minKeySize: APPROVED_SECRET_MIN_BYTES },
  defaultFor: [{ use: 'derive', keyTypes: [CKK.GENERIC_SECRET, CKK.AES] }],
  async derive(k, p, length) {
    const h = hashByCkm(p.hashAlg ?? CKM.SHA256);
    if (!h) throw new HsmError('MECHANISM_PARAM_INVALID', 'unsupported HKDF hash');
    if (length < 1 || length > 255 * h.len) throw new HsmError('TEMPLATE_INCONSISTENT', 'HKDF output length out of range');
    return c.hkdfAsyncBytes(h.name, key(k), p.salt ?? Buffer.alloc(0), p.info ?? Buffer.alloc(0), length);
  },
};

/** CKM_RSA_AES_KEY_WRAP (§2.1.21): a fresh AES key, OAEP-wrapped, then RFC 5649 over the target. */
const rsaAesWrap: MechanismDef = {
  type: CKM.RSA_AES_KEY_WRAP, name: 'CKM_RSA_AES_KEY_WRAP', keyTypes: [CKK.RSA], minKeySize: rsaOaep.minKeySize, maxKeySize: rsaOaep.maxKeySize,
  legacy: rsaOaep.legacy, defaultFor: [{ use: 'wrap', keyTypes: [CKK.RSA] }],
  async wrap(k, keyBytes, p) {
    const aesLen = (p.aesKeyBits ?? 256) / 8;
    if (![16, 24, 32].includes(aesLen)) throw new HsmError('MECHANISM_PARAM_INVALID', 'AES key bits must be 128, 192 or 256');
    const eph = await c.randomBytesAsync(aesLen);
    try {
      const head = await rsaOaep.encrypt!(k, eph, p);
      const body = await aesKeyWrapPad.encrypt!({ keyType: CKK.AES, secret: c.secretKey(eph), size: aesLen }, keyBytes, {});
      return Buffer.concat([head, body]);
    } finally { eph.fill(0); }
  },
  async unwrap(k, wrapped, p) {
    const modLen = Math.ceil(k.size / 8);
    if (wrapped.length <= modLen) throw new HsmError('WRAPPED_KEY_INVALID');
    let eph: Buffer | undefined;
    try {
      eph = await rsaOaep.decrypt!(k, wrapped.subarray(0, modLen), p);
      return await aesKeyWrapPad.decrypt!({ keyType: CKK.AES, secret: c.secretKey(eph), size: eph.length }, wrapped.subarray(modLen), {});
    } catch {
      throw new HsmError('WRAPPED_KEY_INVALID');
    } finally { eph?.fill(0); }
  },
};

export const SECRET_MECHANISMS: MechanismDef[] = [
  genericKeyGen,
  hmacMech(CKM.SHA_1_HMAC, 'CKM_SHA_1_HMAC', 'sha1'),
  { ...hmacMech(CKM.SHA224_HMAC, 'CKM_SHA224_HMAC', 'sha224'), kms: { kind: 'mac', name: 'HMAC_SHA_224' } },
  { ...hmacMech(CKM.SHA256_HMAC, 'CKM_SHA256_HMAC', 'sha256'), defaultFor: [{ use: 'sign', keyTypes: [CKK.GENERIC_SECRET, CKK.AES] }], kms: { kind: 'mac', name: 'HMAC_SHA_256' } },
  { ...hmacMech(CKM.SHA384_HMAC, 'CKM_SHA384_HMAC', 'sha384'), kms: { kind: 'mac', name: 'HMAC_SHA_384' } },
  { ...hmacMech(CKM.SHA512_HMAC, 'CKM_SHA512_HMAC', 'sha512'), kms: { kind: 'mac', name: 'HMAC_SHA_512' } },
  hkdf, rsaAesWrap,
];
