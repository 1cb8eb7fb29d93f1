// The one mechanism registry: every mechanism the module offers, frozen at start-up.
// Faces derive their mechanism lists and info from here (STYLE.md convention 1).
import { HsmError } from '../errors/hsm-error';
import { mechanismName } from '../pkcs11/constants';
import { AES_MECHANISMS } from './aes';
import { EC_MECHANISMS } from './ec';
import { DIGEST_MECHANISMS } from './hashes';
import { RSA_MECHANISMS } from './rsa';
import { SECRET_MECHANISMS } from './secret';
import type { MechanismDef } from './types';

const ALL: readonly MechanismDef[] = Object.freeze([
  ...RSA_MECHANISMS, ...EC_MECHANISMS, ...AES_MECHANISMS, ...SECRET_MECHANISMS, ...DIGEST_MECHANISMS,
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
