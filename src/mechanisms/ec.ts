// Elliptic-curve mechanisms (PKCS#11 2.40 §2.3): key generation on the named curves,
// ECDSA (raw digest and SHA-2 hash-and-sign, raw r‖s output), ECDH1 derive, and EdDSA (Ed25519, Ed25519ph).
import * as c from '../crypto/node-crypto';
import * as ph from '../crypto/ed25519ph';
import { CKF, CKK, CKM } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { curveByParams, CURVES, describe, isEd25519Params, publicKeyFromPoint } from './key-types';
import type { HashName } from './hashes';
import type { KeyMaterial, MechanismDef, MechParams } from './types';

const ecBase = { keyTypes: [CKK.EC], minKeySize: 256, maxKeySize: 521 };
const curveFlags = CKF.EC_F_P | CKF.EC_NAMEDCURVE | CKF.EC_UNCOMPRESS;
const priv = (k: KeyMaterial) => k.privateKey ?? (() => { throw new HsmError('KEY_TYPE_INCONSISTENT', 'a private key is needed'); })();

const ecKeyGen: MechanismDef = {
  ...ecBase, type: CKM.EC_KEY_PAIR_GEN, name: 'CKM_EC_KEY_PAIR_GEN', generates: 'pair', extraFlags: curveFlags,
  async generate(spec) {
    if (!spec.ecParams) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_EC_PARAMS is required');
    const curve = curveByParams(spec.ecParams);
    const { privateKey } = await c.generateEc(curve.node);
    return { kind: 'pair', material: describe(CKK.EC, privateKey) };
  },
};

const ecdsaRaw: MechanismDef = {
  ...ecBase, type: CKM.ECDSA, name: 'CKM_ECDSA', extraFlags: curveFlags, signature: 'ecdsa',
  async sign(k, data) {
    if (data.length === 0 || data.length > 64) throw new HsmError('DATA_LEN_RANGE');
    return c.ecdsaSignDigestAsync(k.curve!, priv(k), data);
  },
  async verify(k, data, sig) {
    if (sig.length !== 2 * Math.ceil(k.size / 8)) throw new HsmError('SIGNATURE_LEN_RANGE');
    if (data.length === 0 || data.length > 64) throw new HsmError('DATA_LEN_RANGE');
    return c.ecdsaVerifyDigestAsync(k.curve!, k.publicKey!, data, sig);
  },
};

function hashedEcdsa(type: number, name: string, hash: HashName): MechanismDef {
  return {
    ...ecBase, type, name, hash, extraFlags: curveFlags, signature: 'ecdsa',
    // SHA-1 signatures are legacy (SP 800-131A Rev. 2 §9); verifying them stays allowed.
    legacy: hash === 'sha1' ? { signing: true } : undefined,
    defaultFor: hash === 'sha256' ? [{ use: 'sign', keyTypes: [CKK.EC] }] : undefined,
    sign: (k, data) => c.sign(hash, data, priv(k), { dsaEncoding: 'ieee-p1363' }),
    async verify(k, data, sig) {
      if (sig.length !== 2 * Math.ceil(k.size / 8)) throw new HsmError('SIGNATURE_LEN_RANGE');
      return c.verify(hash, data, k.publicKey!, sig, { dsaEncoding: 'ieee-p1363' });
    },
  };
}

/** CKM_ECDH1_DERIVE with CKD_NULL (§2.3.15): the shared x-coordinate, truncated to the requested length. */
const ecdh: MechanismDef = {
  ...ecBase, type: CKM.ECDH1_DERIVE, name: 'CKM_ECDH1_DERIVE', extraFlags: curveFlags, defaultFor: [{ use: 'derive', keyTypes: [CKK.EC] }],
  async derive(k, p, length) {
    if (!p.publicData) throw new HsmError('MECHANISM_PARAM_INVALID', 'ECDH needs the peer public point');
    const curve = CURVES.find((x) => x.node === k.curve)!;
    const peer = publicKeyFromPoint(curve, p.publicData);
    const z = c.ecdh(priv(k), peer);
    if (length > z.length) throw new HsmError('TEMPLATE_INCONSISTENT', 'requested key is longer than the shared secret');
    return length ? z.subarray(0, length) : z;
  },
};

const edKeyGen: MechanismDef = {
  type: CKM.EC_EDWARDS_KEY_PAIR_GEN, name: 'CKM_EC_EDWARDS_KEY_PAIR_GEN', keyTypes: [CKK.EC_EDWARDS],
  minKeySize: 255, maxKeySize: 255, generates: 'pair', extraFlags: CKF.EC_NAMEDCURVE,
  async generate(spec) {
    if (spec.ecParams && !isEd25519Params(spec.ecParams)) throw new HsmError('CURVE_NOT_SUPPORTED', 'only Ed25519 is supported');
    const { privateKey } = await c.generateEd25519();
    return { kind: 'pair', material: describe(CKK.EC_EDWARDS, privateKey) };
  },
};

/** The SHA-512 digest Ed25519ph signs: given (prehashed) or made here. */
function phDigest(data: Buffer, p: MechParams): Buffer {
  if (!p.prehashed) return ph.sha512(data);
  if (data.length !== 64) throw new HsmError('DATA_LEN_RANGE', 'an Ed25519ph digest is 64 bytes (SHA-512)');
  return data;
}

/** CKM_EDDSA: pure Ed25519, or Ed25519ph with CK_EDDSA_PARAMS.phFlag (no context). */
const eddsa: MechanismDef = {
  type: CKM.EDDSA, name: 'CKM_EDDSA', keyTypes: [CKK.EC_EDWARDS], minKeySize: 255, maxKeySize: 255,
  extraFlags: CKF.EC_NAMEDCURVE, defaultFor: [{ use: 'sign', keyTypes: [CKK.EC_EDWARDS] }],
  hash: 'sha512', kms: { kind: 'signing', name: 'ED25519_SHA_512' }, // RFC 8032: Ed25519 hashes the message with SHA-512 itself
  async sign(k, data, p) {
    if (p.phFlag) return ph.ed25519phSignDigest(priv(k), phDigest(data, p));
    return c.sign(null, data, priv(k));
  },
  async verify(k, data, sig, p) {
    if (sig.length !== 64) throw new HsmError('SIGNATURE_LEN_RANGE');
    if (p.phFlag) return ph.ed25519phVerifyDigest(k.publicKey!, phDigest(data, p), sig);
    return c.verify(null, data, k.publicKey!, sig);
  },
};

export const EC_MECHANISMS: MechanismDef[] = [
  ecKeyGen, ecdsaRaw,
  hashedEcdsa(CKM.ECDSA_SHA1, 'CKM_ECDSA_SHA1', 'sha1'),
  hashedEcdsa(CKM.ECDSA_SHA224, 'CKM_ECDSA_SHA224', 'sha224'),
  { ...hashedEcdsa(CKM.ECDSA_SHA256, 'CKM_ECDSA_SHA256', 'sha256'), kms: { kind: 'signing', name: 'ECDSA_SHA_256' }, overDigest: { type: CKM.ECDSA } },
  { ...hashedEcdsa(CKM.ECDSA_SHA384, 'CKM_ECDSA_SHA384', 'sha384'), kms: { kind: 'signing', name: 'ECDSA_SHA_384' }, overDigest: { type: CKM.ECDSA } },
  { ...hashedEcdsa(CKM.ECDSA_SHA512, 'CKM_ECDSA_SHA512', 'sha512'), kms: { kind: 'signing', name: 'ECDSA_SHA_512' }, overDigest: { type: CKM.ECDSA } },
  ecdh, edKeyGen, eddsa,
];
