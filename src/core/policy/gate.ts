// The policy gate: the only place that authorises key operations. Every use passes one fixed
// sequence (DESIGN.md): caller role → object visibility → ownership/sharing → usage attribute
// → allowed mechanisms → dates → mechanism/key type and size.
import { CKA, CKO, INKAN_KEY_STATE } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import type { MechanismDef } from '../../mechanisms/types';
import type { HsmObject } from '../hsm-object';
import type { Caller, Principal } from '../principal';
import { ACCESS, Action, OBJECT_ACCESS } from './access';

export type KeyUse = 'sign' | 'verify' | 'encrypt' | 'decrypt' | 'wrap' | 'unwrap' | 'derive';

/** The usage attribute each operation needs (PKCS#11 2.40 §4.8-4.10). A verify or encrypt done with
 *  the private half of a pair (as the KMS face does) is governed by that half's SIGN / DECRYPT flag. */
const USAGE_ATTRIBUTE: Record<KeyUse, { attr: number; onPrivate?: number }> = {
  sign: { attr: CKA.SIGN }, verify: { attr: CKA.VERIFY, onPrivate: CKA.SIGN },
  encrypt: { attr: CKA.ENCRYPT, onPrivate: CKA.DECRYPT }, decrypt: { attr: CKA.DECRYPT },
  wrap: { attr: CKA.WRAP }, unwrap: { attr: CKA.UNWRAP }, derive: { attr: CKA.DERIVE },
};
const MECH_FLAG: Record<KeyUse, keyof MechanismDef> = {
  sign: 'sign', verify: 'verify', encrypt: 'encrypt', decrypt: 'decrypt', wrap: 'wrap', unwrap: 'unwrap', derive: 'derive',
};

export function requireRole(principal: Principal, action: Action): void {
  if (!ACCESS[action].includes(principal.role)) {
    throw new HsmError('FORBIDDEN', `a ${principal.role} may not do ${action}`);
  }
}

export function relation(caller: Caller, obj: HsmObject): keyof typeof OBJECT_ACCESS {
  const { principal } = caller;
  if (obj.session !== undefined && !sameApplication(obj.session, caller.session)) return 'none';
  if (obj.owner === principal.id) return 'owner';
  if (obj.sharedWith.includes(principal.id)) return 'shared';
  if (!obj.bool(CKA.PRIVATE)) return 'public';
  return 'none';
}

/** Session-object tags are "<application>/<session>": every session of the application that made
 *  a session object may use it (PKCS#11 2.40 §4.4: session objects belong to the application). */
function sameApplication(tag: string, callerTag: string | undefined): boolean {
  if (callerTag === undefined) return false;
  if (tag === callerTag) return true;
  const app = tag.lastIndexOf('/');
  return app > 0 && callerTag.lastIndexOf('/') === app && callerTag.startsWith(tag.slice(0, app + 1));
}

export function canSee(caller: Caller, obj: HsmObject): boolean {
  return OBJECT_ACCESS[relation(caller, obj)].see;
}

/** Unknown and invisible objects look the same to a caller: no existence oracle. */
export function checkVisible(caller: Caller, obj: HsmObject | undefined): HsmObject {
  if (!obj || !canSee(caller, obj)) throw new HsmError('KEY_NOT_FOUND');
  return obj;
}

export function checkManage(caller: Caller, obj: HsmObject): void {
  requireRole(caller.principal, 'key.manage');
  if (!OBJECT_ACCESS[relation(caller, obj)].manage) throw new HsmError('NOT_OWNER');
}

function today(): string {
  const d = new Date();
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

export function checkUse(caller: Caller, obj: HsmObject, use: KeyUse, mech: MechanismDef): void {
  requireRole(caller.principal, 'key.use');
  if (!OBJECT_ACCESS[relation(caller, obj)].use) throw new HsmError('KEY_NOT_FOUND');
  if (!obj.isKey) throw new HsmError('KEY_TYPE_INCONSISTENT', 'the object is not a key');
  checkKeyState(obj);
  const usage = USAGE_ATTRIBUTE[use];
  const attr = obj.cls === CKO.PRIVATE_KEY && usage.onPrivate !== undefined ? usage.onPrivate : usage.attr;
  if (!obj.bool(attr)) throw new HsmError('KEY_FUNCTION_NOT_PERMITTED', `the key does not permit ${use}`);
  const allowed = obj.attrs.get(CKA.ALLOWED_MECHANISMS) as number[] | undefined;
  if (allowed && allowed.length && !allowed.includes(mech.type)) throw new HsmError('MECHANISM_NOT_ALLOWED');
  const start = obj.attrs.get(CKA.START_DATE) as string | undefined;
  const end = obj.attrs.get(CKA.END_DATE) as string | undefined;
  const now = today();
  if ((start && now < start) || (end && now > end)) throw new HsmError('KEY_EXPIRED');
  if (typeof mech[MECH_FLAG[use]] !== 'function') throw new HsmError('MECHANISM_INVALID', `${mech.name} cannot ${use}`);
  if (!mech.keyTypes.includes(obj.keyType!)) throw new HsmError('KEY_TYPE_INCONSISTENT', `${mech.name} does not take this key type`);
}

/** Disabled and pending-deletion keys (KMS key state, CKA_INKAN_KEY_STATE) refuse use on every face. */
export function checkKeyState(obj: HsmObject): void {
  const state = obj.attrs.get(CKA.INKAN_KEY_STATE);
  if (state === undefined || state === INKAN_KEY_STATE.ENABLED) return;
  throw new HsmError(state === INKAN_KEY_STATE.DISABLED ? 'KEY_DISABLED' : 'KEY_PENDING_DELETION');
}

/** C_WrapKey's target (§4.9): a secret or private key the caller may use, extractable, and wrapped
 *  only by a trusted key if CKA_WRAP_WITH_TRUSTED. Wrapping is a use of both keys. */
export function checkWrapTarget(caller: Caller, wrapping: HsmObject, target: HsmObject): void {
  if (target.cls !== CKO.SECRET_KEY && target.cls !== CKO.PRIVATE_KEY) throw new HsmError('KEY_NOT_WRAPPABLE', 'only secret and private keys are wrapped');
  if (!OBJECT_ACCESS[relation(caller, target)].use) throw new HsmError('KEY_NOT_FOUND');
  checkKeyState(target);
  if (!target.bool(CKA.EXTRACTABLE)) throw new HsmError('KEY_UNEXTRACTABLE');
  if (target.bool(CKA.WRAP_WITH_TRUSTED) && !wrapping.bool(CKA.TRUSTED)) throw new HsmError('KEY_NOT_WRAPPABLE', 'the key may only be wrapped with a trusted key');
}

/** Key sizes outside a mechanism's range are refused (CKR_KEY_SIZE_RANGE), checked once material is known. */
export function checkKeySize(mech: MechanismDef, size: number): void {
  if (size < mech.minKeySize || size > mech.maxKeySize) throw new HsmError('KEY_SIZE_RANGE');
}
