// ECB, CBC and CBC-PAD for a block cipher (PKCS#11 2.40 §2.8.3-2.8.5 AES, §2.10 DES3): one
// definition serves AES and DES3. ECB and CBC wrap by zero-padding the key value to whole blocks
// and unwrap by truncating to the template's length (§2.8.3); CBC-PAD wraps with PKCS#7 padding.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { KeyMaterial, LegacyRule, MechanismDef, MechParams } from './types';

export interface BlockCipher {
  keyTypes: readonly number[];
  minKeySize: number;
  maxKeySize: number;
  keySizes: readonly number[];
  block: number;
  /** node's cipher name for a key and mode. */
  cipherName(k: KeyMaterial, mode: 'ecb' | 'cbc'): string;
  /** The node key for the cipher (single DES runs as EDE with the key three times); default: the secret. */
  keyOf?(k: KeyMaterial): c.KeyObject;
  legacy?: LegacyRule;
}

const secretOf = (k: KeyMaterial) => k.secret ?? (() => { throw new HsmError('KEY_TYPE_INCONSISTENT'); })();

function decipherOrFail(fn: () => Buffer): Buffer {
  try { return fn(); } catch { throw new HsmError('ENCRYPTED_DATA_INVALID'); }
}

/** The DER length of a SEQUENCE at the start of `data` (a wrapped PKCS#8 key), or undefined. */
function derSequenceLength(data: Buffer): number | undefined {
  if (data.length < 2 || data[0] !== 0x30) return undefined;
  const first = data[1];
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n < 1 || n > 3 || data.length < 2 + n) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + data[2 + i];
  return 2 + n + len;
}

/** §2.8.3: the unwrapped value is cut to CKA_VALUE_LEN (or the key type's fixed length) as the
 *  standard says; a wrapped private key (PKCS#8 DER) to its own encoded length. */
function truncateUnwrapped(value: Buffer, p: MechParams): Buffer {
  const len = p.valueLen === 'der' ? derSequenceLength(value) : p.valueLen;
  if (len === undefined) return value;
  if (len < 1 || len > value.length) throw new HsmError('WRAPPED_KEY_INVALID', 'the unwrapped value is shorter than the key it should hold');
  return value.subarray(0, len);
}

export function blockModes(cipher: BlockCipher, names: { ecb: [number, string]; cbc: [number, string]; cbcPad: [number, string] }): MechanismDef[] {
  const { block } = cipher;
  const key = cipher.keyOf ?? secretOf;
  const base = { keyTypes: cipher.keyTypes, minKeySize: cipher.minKeySize, maxKeySize: cipher.maxKeySize, keySizes: cipher.keySizes, legacy: cipher.legacy };
  const iv = (p: MechParams): Buffer => {
    if (!p.iv || p.iv.length !== block) throw new HsmError('MECHANISM_PARAM_INVALID', `a ${block}-byte IV is required`);
    return p.iv;
  };
  const whole = (data: Buffer, code: 'DATA_LEN_RANGE' | 'ENCRYPTED_DATA_LEN_RANGE') => {
    if (data.length % block !== 0) throw new HsmError(code, `length must be a multiple of the ${block}-byte block`);
  };
  const zeroPad = (data: Buffer) => data.length % block === 0 && data.length > 0 ? data : Buffer.concat([data, Buffer.alloc(block - (data.length % block))]);

  const raw = (type: number, name: string, mode: 'ecb' | 'cbc'): MechanismDef => {
    const ivOf = (p: MechParams) => (mode === 'ecb' ? null : iv(p));
    const def: MechanismDef = {
      ...base, type, name, ivLength: mode === 'ecb' ? undefined : block, blockwise: mode === 'ecb' ? block : undefined,
      async encrypt(k, data, p) { whole(data, 'DATA_LEN_RANGE'); return c.cipher(cipher.cipherName(k, mode), key(k), ivOf(p), data, { padding: false }).data; },
      async decrypt(k, data, p) { whole(data, 'ENCRYPTED_DATA_LEN_RANGE'); return c.decipher(cipher.cipherName(k, mode), key(k), ivOf(p), data, { padding: false }); },
      async wrap(k, bytes, p) {
        const padded = zeroPad(bytes);
        try { return await def.encrypt!(k, padded, p); } finally { if (padded !== bytes) padded.fill(0); }
      },
      async unwrap(k, wrapped, p) {
        if (wrapped.length === 0 || wrapped.length % block !== 0) throw new HsmError('WRAPPED_KEY_INVALID', 'the wrapped key is not a whole number of blocks');
        return truncateUnwrapped(await def.decrypt!(k, wrapped, p), p);
      },
    };
    return def;
  };

  const cbcPad: MechanismDef = {
    ...base, type: names.cbcPad[0], name: names.cbcPad[1], ivLength: block,
    async encrypt(k, data, p) { return c.cipher(cipher.cipherName(k, 'cbc'), key(k), iv(p), data).data; },
    async decrypt(k, data, p) {
      if (data.length === 0 || data.length % block !== 0) throw new HsmError('ENCRYPTED_DATA_LEN_RANGE');
      return decipherOrFail(() => c.decipher(cipher.cipherName(k, 'cbc'), key(k), iv(p), data));
    },
    wrap: (k, bytes, p) => cbcPad.encrypt!(k, bytes, p),
    async unwrap(k, wrapped, p) {
      try { return await cbcPad.decrypt!(k, wrapped, p); } catch { throw new HsmError('WRAPPED_KEY_INVALID'); }
    },
  };
  return [raw(names.ecb[0], names.ecb[1], 'ecb'), raw(names.cbc[0], names.cbc[1], 'cbc'), cbcPad];
}
