// Approved-only mode (FIPS style; Luna's "FIPS approved operation mode"): the ONE place that says
// whether a mechanism, key size or parameter set is legacy. The core asks here when a key is made
// (KeyService: generate, create, import, unwrap, derive, copy) and at every use (CryptoService),
// on every face, so a key is never accepted at creation and refused at use for a reason of mode.
// The rules are data on each MechanismDef (`legacy`), after NIST SP 800-131A Rev. 2:
//   - three-key TDEA (DES3): encryption disallowed after 2023 (§2) — every DES3 mechanism;
//   - RSA moduli below 2048 bits (§2, §3: 112-bit security strength);
//   - SHA-1 for signature generation (§9; verification of old signatures stays "legacy use");
//   - HMAC keys shorter than the hash output, and secret keys below 112 bits (§10, SP 800-107 §5.3.4).
import { HsmError } from '../errors/hsm-error';
import type { MechanismDef, MechanismUse, MechParams } from './types';

export interface Refusal { code: 'MECHANISM_INVALID' | 'MECHANISM_PARAM_INVALID' | 'KEY_SIZE_RANGE' | 'TEMPLATE_INCONSISTENT'; reason: string }

/** Why this use is not approved, or undefined when it is. `size` is the key's size in mechanism units. */
export function legacyUse(mech: MechanismDef, use: MechanismUse, size: number | undefined, params: MechParams = {}): Refusal | undefined {
  const rule = mech.legacy;
  if (!rule) return undefined;
  if (rule.always) return { code: 'MECHANISM_INVALID', reason: `${mech.name} is a legacy mechanism` };
  if (use === 'sign' && rule.signing) return { code: 'MECHANISM_INVALID', reason: `signing with ${mech.name} (SHA-1) is legacy` };
  if (use === 'sign' && rule.signingWith?.(params)) return { code: 'MECHANISM_PARAM_INVALID', reason: `signing with ${mech.name} over SHA-1 is legacy` };
  if (size !== undefined && rule.minKeySize !== undefined && size < rule.minKeySize) {
    return { code: 'KEY_SIZE_RANGE', reason: `${mech.name} keys below ${rule.minKeySize} are legacy` };
  }
  return undefined;
}

/** The smallest key size the mechanism takes in approved-only mode (C_GetMechanismInfo's ulMinKeySize). */
export function approvedMinKeySize(mech: MechanismDef): number {
  return Math.max(mech.minKeySize, mech.legacy?.minKeySize ?? 0);
}

/** True if the mechanism offers nothing at all in approved-only mode (it is left out of the lists). */
export function whollyLegacy(mech: MechanismDef): boolean {
  return mech.legacy?.always === true;
}

/**
 * A key of this type and size may be made in approved-only mode if at least one approved mechanism
 * would use it: a DES3 key never, an RSA-1024 key never, a 4-byte generic secret never (every HMAC
 * wants at least its hash length and HKDF 112 bits). Each mechanism still applies its own range at use.
 */
export function legacyKey(mechanisms: readonly MechanismDef[], keyType: number, size: number): Refusal | undefined {
  const takers = mechanisms.filter((m) => m.keyTypes.includes(keyType) && !m.generates);
  if (takers.length === 0) return undefined;
  if (takers.every(whollyLegacy)) return { code: 'TEMPLATE_INCONSISTENT', reason: 'keys of this type are legacy' };
  const usable = takers.some((m) => legacyUse(m, 'verify', size) === undefined);
  return usable ? undefined : { code: 'KEY_SIZE_RANGE', reason: 'no approved mechanism takes a key of this type and size' };
}

export function refusalError(r: Refusal): HsmError {
  return new HsmError(r.code, `${r.reason} (the partition is in approved-only mode)`);
}
