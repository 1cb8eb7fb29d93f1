// Digest mechanisms (PKCS#11 2.40 §2.16-2.20) and the hash tables other families use.
import * as c from '../crypto/node-crypto';
import { CKG, CKM } from '../pkcs11/constants';
import type { MechanismDef } from './types';

export type HashName = c.HashName;

export const HASHES: readonly { ckm: number; name: HashName; mgf: number; len: number; digestInfo: Buffer }[] = [
  { ckm: CKM.SHA_1, name: 'sha1', mgf: CKG.MGF1_SHA1, len: 20, digestInfo: Buffer.from('3021300906052b0e03021a05000414', 'hex') },
  { ckm: CKM.SHA224, name: 'sha224', mgf: CKG.MGF1_SHA224, len: 28, digestInfo: Buffer.from('302d300d06096086480165030402040500041c', 'hex') },
  { ckm: CKM.SHA256, name: 'sha256', mgf: CKG.MGF1_SHA256, len: 32, digestInfo: Buffer.from('3031300d060960864801650304020105000420', 'hex') },
  { ckm: CKM.SHA384, name: 'sha384', mgf: CKG.MGF1_SHA384, len: 48, digestInfo: Buffer.from('3041300d060960864801650304020205000430', 'hex') },
  { ckm: CKM.SHA512, name: 'sha512', mgf: CKG.MGF1_SHA512, len: 64, digestInfo: Buffer.from('3051300d060960864801650304020305000440', 'hex') },
];

export function hashByCkm(ckm: number | undefined) { return HASHES.find((h) => h.ckm === ckm); }
export function hashByName(name: HashName) { return HASHES.find((h) => h.name === name)!; }

function digestMech(ckm: number, name: string, hash: HashName): MechanismDef {
  return {
    type: ckm, name, keyTypes: [], minKeySize: 0, maxKeySize: 0, hash,
    digest: (data) => c.digest(hash, data),
  };
}

export const DIGEST_MECHANISMS: MechanismDef[] = [
  digestMech(CKM.SHA_1, 'CKM_SHA_1', 'sha1'),
  digestMech(CKM.SHA224, 'CKM_SHA224', 'sha224'),
  digestMech(CKM.SHA256, 'CKM_SHA256', 'sha256'),
  digestMech(CKM.SHA384, 'CKM_SHA384', 'sha384'),
  digestMech(CKM.SHA512, 'CKM_SHA512', 'sha512'),
];
