// AES mechanisms (PKCS#11 2.40 §2.8, §2.14 key wrap): key generation, ECB, CBC, CBC-PAD,
// CTR, GCM, and RFC 3394 / RFC 5649 key wrapping. Primitives from node:crypto.
import * as c from '../crypto/node-crypto';
import { CKK, CKM } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { blockModes } from './block-modes';
import type { KeyMaterial, MechanismDef, MechParams } from './types';

const AES_SIZES = [16, 24, 32] as const;
const base = { keyTypes: [CKK.AES], minKeySize: 16, maxKeySize: 32, keySizes: AES_SIZES };
const key = (k: KeyMaterial) => k.secret ?? (() => { throw new HsmError('KEY_TYPE_INCONSISTENT'); })();
const algo = (k: KeyMaterial, mode: string) => `aes-${k.size * 8}-${mode}`;

function iv16(p: MechParams): Buffer {
  if (!p.iv || p.iv.length !== 16) throw new HsmError('MECHANISM_PARAM_INVALID', 'a 16-byte IV is required');
  return p.iv;
}
function decipherOrFail(fn: () => Buffer): Buffer {
  try { return fn(); } catch { throw new HsmError('ENCRYPTED_DATA_INVALID'); }
}

const keyGen: MechanismDef = {
  ...base, type: CKM.AES_KEY_GEN, name: 'CKM_AES_KEY_GEN', generates: 'secret',
  async generate(spec) {
    const len = spec.valueLen;
    if (len === undefined) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_VALUE_LEN is required');
    if (!(AES_SIZES as readonly number[]).includes(len)) throw new HsmError('KEY_SIZE_RANGE', 'AES keys are 16, 24 or 32 bytes');
    const value = await c.randomBytesAsync(len);
    return { kind: 'secret', value, material: { keyType: CKK.AES, secret: c.secretKey(value), size: len } };
  },
};

const [ecb, cbc, cbcPad] = blockModes(
  { ...base, block: 16, cipherName: (k, mode) => algo(k, mode) },
  { ecb: [CKM.AES_ECB, 'CKM_AES_ECB'], cbc: [CKM.AES_CBC, 'CKM_AES_CBC'], cbcPad: [CKM.AES_CBC_PAD, 'CKM_AES_CBC_PAD'] },
);

/** CK_AES_CTR_PARAMS: counter bits and a 16-byte counter block (§2.8.9). node's CTR counts over all 128 bits. */
function ctrParams(p: MechParams, len: number): Buffer {
  const cb = iv16(p);
  const bits = p.counterBits ?? 128;
  if (!Number.isSafeInteger(bits) || bits < 1 || bits > 128) throw new HsmError('MECHANISM_PARAM_INVALID', 'counter bits must be 1-128');
  if (bits < 128) {
    // Refuse inputs that would carry out of the counter field rather than silently differ from the spec.
    const blocksNeeded = BigInt(Math.ceil(len / 16));
    const counter = BigInt('0x' + cb.toString('hex')) & ((1n << BigInt(bits)) - 1n);
    if (counter + blocksNeeded > (1n << BigInt(bits))) throw new HsmError('DATA_LEN_RANGE', 'the counter would wrap');
  }
  return cb;
}
const ctr: MechanismDef = {
  ...base, type: CKM.AES_CTR, name: 'CKM_AES_CTR', ivLength: 16,
  async encrypt(k, data, p) { return c.cipher(algo(k, 'ctr'), key(k), ctrParams(p, data.length), data).data; },
  async decrypt(k, data, p) { return c.decipher(algo(k, 'ctr'), key(k), ctrParams(p, data.length), data); },
};

/** CK_GCM_PARAMS (§2.8.11): IV 1-256 bytes (12 recommended), AAD, tag 96-128 bits; output is ciphertext ‖ tag. */
function gcmParams(p: MechParams): { iv: Buffer; aad?: Buffer; tagLen: number } {
  if (!p.iv || p.iv.length < 1 || p.iv.length > 256) throw new HsmError('MECHANISM_PARAM_INVALID', 'GCM needs an IV of 1-256 bytes');
  const tagBits = p.tagBits ?? 128;
  if (![96, 104, 112, 120, 128].includes(tagBits)) throw new HsmError('MECHANISM_PARAM_INVALID', 'GCM tag must be 96-128 bits');
  return { iv: p.iv, aad: p.aad && p.aad.length ? p.aad : undefined, tagLen: tagBits / 8 };
}
const gcm: MechanismDef = {
  ...base, type: CKM.AES_GCM, name: 'CKM_AES_GCM', ivLength: 12, defaultFor: [{ use: 'encrypt', keyTypes: [CKK.AES] }],
  async encrypt(k, data, p) {
    const g = gcmParams(p);
    const out = c.cipher(algo(k, 'gcm'), key(k), g.iv, data, { aad: g.aad, tagLength: g.tagLen });
    return Buffer.concat([out.data, out.tag!]);
  },
  async decrypt(k, data, p) {
    const g = gcmParams(p);
    if (data.length < g.tagLen) throw new HsmError('ENCRYPTED_DATA_LEN_RANGE');
    const body = data.subarray(0, data.length - g.tagLen);
    const tag = data.subarray(data.length - g.tagLen);
    return decipherOrFail(() => c.decipher(algo(k, 'gcm'), key(k), g.iv, body, { aad: g.aad, tag, tagLength: g.tagLen }));
  },
  wrap: (k, bytes, p) => gcm.encrypt!(k, bytes, p),
  async unwrap(k, wrapped, p) {
    try { return await gcm.decrypt!(k, wrapped, p); } catch { throw new HsmError('WRAPPED_KEY_INVALID'); }
  },
};

/** RFC 3394 (CKM_AES_KEY_WRAP, input a multiple of 8 bytes) and RFC 5649 (CKM_AES_KEY_WRAP_PAD). */
function keyWrap(type: number, name: string, padded: boolean): MechanismDef {
  const defaultIv = padded ? Buffer.from('a65959a6', 'hex') : Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
  const cipherName = (k: KeyMaterial) => `id-aes${k.size * 8}-wrap${padded ? '-pad' : ''}`;
  const ivOf = (p: MechParams) => {
    if (p.iv && p.iv.length && p.iv.length !== defaultIv.length) throw new HsmError('MECHANISM_PARAM_INVALID', `key wrap IV must be ${defaultIv.length} bytes`);
    return p.iv && p.iv.length ? p.iv : defaultIv;
  };
  const def: MechanismDef = {
    ...base, type, name, defaultFor: padded ? [{ use: 'wrap', keyTypes: [CKK.AES] }] : undefined,
    async encrypt(k, data, p) {
      if (padded ? data.length < 1 : data.length < 16 || data.length % 8 !== 0) throw new HsmError('DATA_LEN_RANGE');
      return c.cipher(cipherName(k), key(k), ivOf(p), data).data;
    },
    async decrypt(k, data, p) {
      if (data.length < 16 || data.length % 8 !== 0) throw new HsmError('ENCRYPTED_DATA_LEN_RANGE');
      return decipherOrFail(() => c.decipher(cipherName(k), key(k), ivOf(p), data));
    },
    wrap: (k, bytes, p) => def.encrypt!(k, bytes, p),
    async unwrap(k, wrapped, p) {
      try { return await def.decrypt!(k, wrapped, p); } catch { throw new HsmError('WRAPPED_KEY_INVALID'); }
    },
  };
  return def;
}

export const aesKeyWrapPad = keyWrap(CKM.AES_KEY_WRAP_PAD, 'CKM_AES_KEY_WRAP_PAD', true);

export const AES_MECHANISMS: MechanismDef[] = [
  keyGen, ecb, cbc, cbcPad, ctr, gcm,
  keyWrap(CKM.AES_KEY_WRAP, 'CKM_AES_KEY_WRAP', false), aesKeyWrapPad,
];
