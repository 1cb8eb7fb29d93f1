// DES and three-key Triple-DES (PKCS#11 2.40 §2.9 DES, §2.10 DES3): key generation, ECB, CBC and
// CBC-PAD, from node's des-ede3 ciphers. Single DES is EDE with K1 = K2 = K3 (FIPS 46-3 keying
// option 3), because OpenSSL 3 keeps plain DES in its legacy provider. Legacy only: SP 800-131A
// Rev. 2 disallows DES entirely and TDEA encryption after 2023, so a partition in approved-only
// mode offers none of these (approved.ts); they exist for old data and for conformance suites.
import * as c from '../crypto/node-crypto';
import { CKK, CKM } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { blockModes } from './block-modes';
import type { KeyMaterial, MechanismDef } from './types';

const legacy = { always: true };

/** §2.9.3: generated DES keys have their parity bits set (odd parity in every byte). */
function withOddParity(bytes: Buffer): Buffer {
  for (let i = 0; i < bytes.length; i++) {
    const high = bytes[i] & 0xfe;
    let ones = 0;
    for (let b = high; b; b >>= 1) ones += b & 1;
    bytes[i] = high | (ones % 2 === 0 ? 1 : 0);
  }
  return bytes;
}

function family(keyType: number, bytes: number, gen: [number, string], ecb: [number, string], cbc: [number, string], cbcPad: [number, string],
  keyOf: (k: KeyMaterial) => c.KeyObject): MechanismDef[] {
  const base = { keyTypes: [keyType], minKeySize: bytes, maxKeySize: bytes, keySizes: [bytes], legacy };
  const keyGen: MechanismDef = {
    ...base, type: gen[0], name: gen[1], generates: 'secret',
    async generate(spec) {
      if (spec.valueLen !== undefined && spec.valueLen !== bytes) throw new HsmError('TEMPLATE_INCONSISTENT', `these keys are ${bytes} bytes`);
      const value = withOddParity(await c.randomBytesAsync(bytes));
      return { kind: 'secret', value, material: { keyType, secret: c.secretKey(value), size: bytes } };
    },
  };
  return [keyGen, ...blockModes({ ...base, block: 8, cipherName: (_k, mode) => `des-ede3-${mode}`, keyOf }, { ecb, cbc, cbcPad })];
}

const secretOf = (k: KeyMaterial) => k.secret ?? (() => { throw new HsmError('KEY_TYPE_INCONSISTENT'); })();

/** K ‖ K ‖ K: EDE with three equal keys is single DES. */
function singleDesKey(k: KeyMaterial): c.KeyObject {
  const raw = c.exportSecret(secretOf(k));
  try { return c.secretKey(Buffer.concat([raw, raw, raw])); } finally { raw.fill(0); }
}

export const DES_MECHANISMS: MechanismDef[] = [
  ...family(CKK.DES, 8, [CKM.DES_KEY_GEN, 'CKM_DES_KEY_GEN'], [CKM.DES_ECB, 'CKM_DES_ECB'], [CKM.DES_CBC, 'CKM_DES_CBC'],
    [CKM.DES_CBC_PAD, 'CKM_DES_CBC_PAD'], singleDesKey),
  ...family(CKK.DES3, 24, [CKM.DES3_KEY_GEN, 'CKM_DES3_KEY_GEN'], [CKM.DES3_ECB, 'CKM_DES3_ECB'], [CKM.DES3_CBC, 'CKM_DES3_CBC'],
    [CKM.DES3_CBC_PAD, 'CKM_DES3_CBC_PAD'], secretOf),
];
