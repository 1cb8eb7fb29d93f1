// The one mechanism registry: every mechanism the module offers, frozen at start-up. Faces derive
// their mechanism lists, CK_MECHANISM_INFO, defaults and IV lengths from here (STYLE.md convention 1);
// the CKF flags come from the functions a mechanism has, never from a second list that could drift.
import { HsmError } from '../errors/hsm-error';
import { CKF, mechanismName } from '../pkcs11/constants';
import { AES_MECHANISMS } from './aes';
import { approvedMinKeySize, legacyKey, legacyUse, refusalError, whollyLegacy } from './approved';
import { DES_MECHANISMS } from './des';
import { EC_MECHANISMS } from './ec';
import { DIGEST_MECHANISMS } from './hashes';
import { RSA_MECHANISMS } from './rsa';
import { SECRET_MECHANISMS } from './secret';
import type { MechanismDef, MechanismUse, MechParams } from './types';

const ALL: readonly MechanismDef[] = Object.freeze([
  ...RSA_MECHANISMS, ...EC_MECHANISMS, ...AES_MECHANISMS, ...DES_MECHANISMS, ...SECRET_MECHANISMS, ...DIGEST_MECHANISMS,
]);
const BY_TYPE: ReadonlyMap<number, MechanismDef> = new Map(ALL.map((m) => [m.type, m]));
const BY_NAME: ReadonlyMap<string, MechanismDef> = new Map(ALL.map((m) => [normalise(m.name), m]));

function normalise(name: string): string {
  return name.toUpperCase().replace(/^CKM_/, '').replace(/-/g, '_');
}

export function allMechanisms(): readonly MechanismDef[] { return ALL; }

export function mechanism(type: number): MechanismDef {
  const def = BY_TYPE.get(type);
  if (!def) throw new HsmError('MECHANISM_INVALID', `mechanism ${mechanismName(type)} is not supported`);
  return def;
}

/** Looks up "CKM_SHA256_RSA_PKCS", "sha256-rsa-pkcs" or "0x40". */
export function mechanismByName(name: string): MechanismDef {
  if (/^0x[0-9a-f]+$/i.test(name)) return mechanism(parseInt(name, 16));
  const def = BY_NAME.get(normalise(name));
  if (!def) throw new HsmError('MECHANISM_INVALID', `mechanism ${name} is not supported`);
  return def;
}

/** The CKF flag each function stands for (PKCS#11 2.40 §3.5 CK_MECHANISM_INFO flags). */
export const FUNCTION_FLAGS: readonly [Exclude<MechanismUse, 'generate'>, number][] = [
  ['encrypt', CKF.ENCRYPT], ['decrypt', CKF.DECRYPT], ['digest', CKF.DIGEST], ['sign', CKF.SIGN], ['verify', CKF.VERIFY],
  ['wrap', CKF.WRAP], ['unwrap', CKF.UNWRAP], ['derive', CKF.DERIVE],
];

/** The CKF flags of a mechanism: one per function it has, plus its non-function flags. */
export function mechanismFlags(def: MechanismDef): number {
  let flags = def.extraFlags ?? 0;
  for (const [fn, flag] of FUNCTION_FLAGS) if (typeof def[fn] === 'function') flags |= flag;
  if (typeof def.generate === 'function') flags |= def.generates === 'pair' ? CKF.GENERATE_KEY_PAIR : CKF.GENERATE;
  return flags;
}

/** The mechanisms a partition offers: approved-only mode leaves out those with no approved use. */
export function offeredMechanisms(approvedOnly: boolean): readonly MechanismDef[] {
  return approvedOnly ? ALL.filter((m) => !whollyLegacy(m)) : ALL;
}

/** C_GetMechanismInfo under a partition's mode: approved-only narrows sizes and takes away legacy signing. */
export function mechanismInfo(def: MechanismDef, approvedOnly: boolean): { minKeySize: number; maxKeySize: number; flags: number } {
  if (approvedOnly && whollyLegacy(def)) throw new HsmError('MECHANISM_INVALID', `${def.name} is not offered in approved-only mode`);
  let flags = mechanismFlags(def);
  if (approvedOnly && def.legacy?.signing) flags &= ~CKF.SIGN;
  return { minKeySize: approvedOnly ? approvedMinKeySize(def) : def.minKeySize, maxKeySize: def.maxKeySize, flags };
}

/** Refuses a use that approved-only mode does not allow (called by the core before every keyed use). */
export function requireApprovedUse(approvedOnly: boolean, def: MechanismDef, use: MechanismUse, size: number | undefined, params: MechParams = {}): void {
  if (!approvedOnly) return;
  const r = legacyUse(def, use, size, params);
  if (r) throw refusalError(r);
}

/** Refuses a new key that approved-only mode does not allow (called by the core whenever a key is made). */
export function requireApprovedKey(approvedOnly: boolean, keyType: number, size: number): void {
  if (!approvedOnly) return;
  const r = legacyKey(ALL, keyType, size);
  if (r) throw refusalError(r);
}

/** The key sizes a key type may have at all: its generation mechanism's range or list (CKR_KEY_SIZE_RANGE otherwise). */
export function checkKeySizeFor(keyType: number, size: number): void {
  const gen = ALL.find((m) => m.generates && m.keyTypes.includes(keyType));
  if (!gen) return;
  const fits = gen.keySizes ? gen.keySizes.includes(size) : size >= gen.minKeySize && size <= gen.maxKeySize;
  if (!fits) {
    const range = gen.keySizes ? gen.keySizes.join(', ') : `${gen.minKeySize}-${gen.maxKeySize}`;
    throw new HsmError('KEY_SIZE_RANGE', `${gen.name} makes keys of size ${range} (bits for RSA and EC, bytes for secrets)`);
  }
}

/** The mechanism used for an operation on a key type when the caller names none (the admin face). */
export function defaultMechanism(use: MechanismUse, keyType: number): MechanismDef | undefined {
  return ALL.find((m) => m.defaultFor?.some((d) => d.use === use && d.keyTypes.includes(keyType)));
}

/** The one length a key type's keys have, if it has just one (DES3: 24 bytes); used to cut unwrapped values. */
export function fixedKeyLength(keyType: number | undefined): number | undefined {
  const gen = ALL.find((m) => m.generates && keyType !== undefined && m.keyTypes.includes(keyType));
  return gen?.keySizes?.length === 1 ? gen.keySizes[0] : undefined;
}
