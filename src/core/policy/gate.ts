// The policy gate: the only place that authorises. Every core entry point first admits its
// caller (a principal this module minted and that was not revoked since, or a PKCS#11 public
// session), then asks `authorize(action, target)`; the answer comes from the access matrix
// (access.ts) and the relation computed here. Key use adds one fixed sequence of checks
// (DESIGN.md): relation → object class → lifecycle state and validity → usage attribute →
// allowed mechanisms → dates → mechanism and key type. Mechanisms never check policy.
import { CKA, CKO } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import type { ErrorCode } from '../../errors/catalog';
import type { MechanismDef } from '../../mechanisms/types';
import type { HsmObject } from '../hsm-object';
import type { Caller, Principal, PrincipalRegistry } from '../principal';
import { Action, Actor, allowed, mayEver, Relation } from './access';
import { keyAccessAllows, type KeyAccessAction, type KeyAccessList } from './key-access';
import { checkKeyRules } from './key-limits';

export type KeyUse = 'sign' | 'verify' | 'encrypt' | 'decrypt' | 'wrap' | 'unwrap' | 'derive';

/** The partition that holds the HSM's own officers (Luna's HSM SO); see docs/architecture.md. */
export const HSM_PARTITION = 'default';

/** A partition's policy as the gate needs it (core/partitions.ts keeps the rest). */
export interface GatePolicy {
  /** Public objects (CKA_PRIVATE false) are visible to PKCS#11 public sessions. */
  publicObjectsVisible: boolean;
  /** Legacy algorithms and key sizes are refused (FIPS style). */
  approvedOnly: boolean;
  /** Token objects may be made in a PKCS#11 public session (owned by no user); absent means yes. */
  publicTokenObjects?: boolean;
}

/** What the gate needs to know of users to keep revocation immediate. */
export interface GateDirectory {
  /** The stored epoch and lock state of a user (from a coherent cache), or undefined if deleted. */
  userState(id: string): Promise<{ epoch: number; locked: boolean; partition: string } | undefined>;
  policy(partition: string): Promise<GatePolicy>;
}

/** A caller the gate let in: who it is as the matrix names actors, and its partition's policy. */
export interface Admitted {
  readonly caller: Caller;
  readonly actor: Actor;
  readonly principal?: Principal;
  readonly partition: string;
  readonly hsmLevel: boolean;
  readonly policy: GatePolicy;
}

/** What an action is done to; absent for actions on the module or the partition as a whole. */
export type Target =
  | { kind: 'object'; object: HsmObject }
  | { kind: 'user'; id: string; partition: string }
  | { kind: 'credential'; userId: string; partition: string };

/** The managed-key state a key use is checked against (core/managed-keys.ts). */
export interface KeyLifecycle {
  state: 'enabled' | 'disabled' | 'pending-deletion' | 'pending-import' | 'deleted';
  /** Validity of the version used (ms since the epoch): nothing before notBefore; after notAfter
   *  it still decrypts, unwraps and verifies, but makes nothing new (Key Vault's nbf/exp). */
  notBefore?: number;
  notAfter?: number;
  /** The key's access list (key-access.ts), consulted after the matrix allowed the use. */
  access?: KeyAccessList;
  /** What each grantee's grants on the key give it (user id → actions); a grantee is held to them. */
  grants?: Readonly<Record<string, readonly KeyAccessAction[]>>;
}

/** A key's use quorum as the gate checks it (core/key-quorum.ts keeps it): `value` approvals open
 *  a window of `window` seconds; the key is usable until `activeUntil` (ms since the epoch). */
export interface KeyQuorumState { value: number; window: number; activeUntil: number }

/** The usage attribute each operation needs (PKCS#11 2.40 §4.8-4.10). A verify or encrypt done with
 *  the private half of a pair (as the KMS face does) is governed by that half's SIGN / DECRYPT flag. */
const USAGE_ATTRIBUTE: Record<KeyUse, { attr: number; onPrivate?: number }> = {
  sign: { attr: CKA.SIGN }, verify: { attr: CKA.VERIFY, onPrivate: CKA.SIGN },
  encrypt: { attr: CKA.ENCRYPT, onPrivate: CKA.DECRYPT }, decrypt: { attr: CKA.DECRYPT },
  wrap: { attr: CKA.WRAP }, unwrap: { attr: CKA.UNWRAP }, derive: { attr: CKA.DERIVE },
};

/** What a refusal looks like per target kind: an invisible target is indistinguishable from a missing one. */
const NOT_FOUND: Record<Target['kind'], ErrorCode> = { object: 'KEY_NOT_FOUND', user: 'USER_NOT_FOUND', credential: 'ACCESS_KEY_NOT_FOUND' };

export class Gate {
  constructor(private readonly registry: PrincipalRegistry, private readonly directory: GateDirectory) {}

  /** Admits a caller: a minted, unrevoked principal acting in its own partition, or a public session. */
  async admit(caller: Caller): Promise<Admitted> {
    const p = caller.principal;
    if (p === undefined) {
      if (caller.face !== 'p11') throw new HsmError('AUTH_REQUIRED');
      return { caller, actor: 'anonymous', partition: caller.partition, hsmLevel: false, policy: await this.directory.policy(caller.partition) };
    }
    if (!this.registry.isMinted(p)) throw new HsmError('FORBIDDEN', 'the principal was not issued by this module');
    if (p.kind === 'system') {
      return { caller, actor: 'system', principal: p, partition: caller.partition, hsmLevel: true, policy: await this.directory.policy(caller.partition) };
    }
    const state = await this.directory.userState(p.id);
    if (!state || state.locked || state.epoch !== p.epoch) throw new HsmError('SESSION_REVOKED');
    if (caller.partition !== p.partition || state.partition !== p.partition) throw new HsmError('FORBIDDEN', 'a user acts only in its own partition');
    return {
      caller, actor: p.role as Actor, principal: p, partition: p.partition,
      hsmLevel: p.partition === HSM_PARTITION && p.role === 'officer', policy: await this.directory.policy(p.partition),
    };
  }

  /** For operations that authenticate their caller themselves (login, unseal, restore with shares):
   *  an admission that the matrix grants nothing to. */
  unauthenticated(caller: Caller): Admitted {
    return { caller, actor: 'anonymous', partition: caller.partition, hsmLevel: false, policy: { publicObjectsVisible: false, approvedOnly: true } };
  }

  /** Throws unless the matrix allows `action` on `target` for this caller. A role that may never do
   *  the action is refused as such (FORBIDDEN) before anything about the target is looked at. */
  authorize(a: Admitted, action: Action, target?: Target): void {
    const rel = this.relation(a, target);
    if (rel !== undefined && this.allows(a, action, rel)) return;
    if (!mayEver(action, a.actor)) {
      if (a.actor === 'anonymous') throw new HsmError('AUTH_REQUIRED');
      throw new HsmError('FORBIDDEN', `a ${a.actor} may not do ${action}`);
    }
    if (target && (rel === undefined || !this.sees(a, target, rel))) throw new HsmError(NOT_FOUND[target.kind]);
    if (a.actor === 'anonymous') throw new HsmError('AUTH_REQUIRED');
    if (target?.kind === 'object' && action !== 'key.use') throw new HsmError('NOT_OWNER');
    if (target?.kind === 'object') throw new HsmError('KEY_NOT_FOUND');
    throw new HsmError('FORBIDDEN', `a ${a.actor} may not do ${action}${target ? '' : ' here'}`);
  }

  /** Refuses a role that may never do `action` (before any target is looked up): FORBIDDEN, or
   *  AUTH_REQUIRED for a public session. Reveals nothing about any object. */
  requireAble(a: Admitted, action: Action): void {
    if (mayEver(action, a.actor)) return;
    if (a.actor === 'anonymous') throw new HsmError('AUTH_REQUIRED');
    throw new HsmError('FORBIDDEN', `a ${a.actor} may not do ${action}`);
  }

  /** True if the matrix allows the action (no throw): listings filter with this. */
  permits(a: Admitted, action: Action, target?: Target): boolean {
    const rel = this.relation(a, target);
    return rel !== undefined && this.allows(a, action, rel);
  }

  /** 'self' is also a member of the partition: an officer acting on itself has both relations. */
  private allows(a: Admitted, action: Action, rel: Relation): boolean {
    return allowed(action, a.actor, rel, a.hsmLevel) || (rel === 'self' && allowed(action, a.actor, 'partition', a.hsmLevel));
  }

  canSee(a: Admitted, obj: HsmObject): boolean {
    return this.permits(a, 'key.see', { kind: 'object', object: obj });
  }

  /** Unknown and invisible objects look the same to a caller: no existence oracle. */
  checkVisible(a: Admitted, obj: HsmObject | undefined): HsmObject {
    this.requireAble(a, 'key.see');
    if (!obj || !this.canSee(a, obj)) throw new HsmError('KEY_NOT_FOUND');
    return obj;
  }

  /** The fixed sequence for a key use (the mechanism's own parameter checks come after, in the mechanism). */
  checkUse(a: Admitted, obj: HsmObject, use: KeyUse, mech: MechanismDef, lifecycle?: KeyLifecycle): void {
    this.authorize(a, 'key.use', { kind: 'object', object: obj });
    if (!obj.isKey) throw new HsmError('KEY_TYPE_INCONSISTENT', 'the object is not a key');
    checkLifecycle(lifecycle, use);
    if (a.actor !== 'system' && !keyAccessAllows(lifecycle?.access, a.principal?.id, use, lifecycle?.grants?.[a.principal?.id ?? ''])) {
      throw new HsmError('KEY_ACCESS_DENIED');
    }
    const usage = USAGE_ATTRIBUTE[use];
    const attr = obj.cls === CKO.PRIVATE_KEY && usage.onPrivate !== undefined ? usage.onPrivate : usage.attr;
    if (!obj.bool(attr)) throw new HsmError('KEY_FUNCTION_NOT_PERMITTED', `the key does not permit ${use}`);
    checkKeyRules({ system: a.actor === 'system', principalId: a.principal?.id, encryptionContext: a.caller.encryptionContext }, obj, use); // share scope, usage periods (key-limits.ts)
    const mechs = obj.attrs.get(CKA.ALLOWED_MECHANISMS) as number[] | undefined;
    if (mechs && mechs.length && !mechs.includes(mech.type)) throw new HsmError('MECHANISM_NOT_ALLOWED');
    const start = obj.attrs.get(CKA.START_DATE) as string | undefined;
    const end = obj.attrs.get(CKA.END_DATE) as string | undefined;
    const now = today();
    if ((start && now < start) || (end && now > end)) throw new HsmError('KEY_EXPIRED');
    // The key type first: an RSA mechanism on an AES key is the wrong key (§5.8 CKR_KEY_TYPE_INCONSISTENT) whatever it offers.
    if (!mech.keyTypes.includes(obj.keyType!)) throw new HsmError('KEY_TYPE_INCONSISTENT', `${mech.name} does not take this key type`);
    if (typeof mech[use] !== 'function') throw new HsmError('MECHANISM_INVALID', `${mech.name} cannot ${use}`);
  }

  /** Key-use quorum (CloudHSM key-usage), after checkUse: a private or secret key whose use quorum
   *  is above 1 is usable only inside a window its approvers opened. Public halves need none. */
  checkKeyQuorum(obj: HsmObject, q: KeyQuorumState | undefined, now: number = Date.now()): void {
    if (!q || q.value <= 1 || obj.cls === CKO.PUBLIC_KEY) return;
    if (q.activeUntil > now) return;
    throw new HsmError('KEY_QUORUM_REQUIRED', `the key needs ${q.value} approvals to open a ${q.window} s use window (key.activate)`);
  }

  /** C_WrapKey's target (§4.9): a secret or private key the caller may use, extractable, and wrapped
   *  only by a trusted key if CKA_WRAP_WITH_TRUSTED. Wrapping is a use of both keys. */
  checkWrapTarget(a: Admitted, wrapping: HsmObject, target: HsmObject, lifecycle?: KeyLifecycle): void {
    if (target.cls !== CKO.SECRET_KEY && target.cls !== CKO.PRIVATE_KEY) throw new HsmError('KEY_NOT_WRAPPABLE', 'only secret and private keys are wrapped');
    const t: Target = { kind: 'object', object: target };
    this.authorize(a, 'key.use', t);
    // To a caller that may use the key but not take it (a sharee) it is not extractable.
    if (!this.permits(a, 'key.wrap-out', t)) throw new HsmError('KEY_UNEXTRACTABLE', 'only the key\'s owner may wrap it out of the module');
    checkLifecycle(lifecycle);
    if (!target.bool(CKA.EXTRACTABLE)) throw new HsmError('KEY_UNEXTRACTABLE');
    if (target.bool(CKA.WRAP_WITH_TRUSTED) && !wrapping.bool(CKA.TRUSTED)) throw new HsmError('KEY_NOT_WRAPPABLE', 'the key may only be wrapped with a trusted key');
  }

  /** The caller's relation to the target, or undefined when it has none (another partition, a stranger's object). */
  private relation(a: Admitted, target?: Target): Relation | undefined {
    if (!target) return 'module';
    const system = a.actor === 'system';
    if (target.kind === 'object') return this.objectRelation(a, target.object);
    const targetPartition = target.partition;
    if (!system && targetPartition !== a.partition) return undefined;
    const id = target.kind === 'user' ? target.id : target.userId;
    if (a.principal && a.principal.id === id) return 'self';
    return 'partition';
  }

  private objectRelation(a: Admitted, obj: HsmObject): Relation | undefined {
    if (a.actor === 'system') return 'module';
    if (obj.partition !== a.partition) return undefined;
    if (obj.session !== undefined && !sameApplication(obj.session, a.caller.session)) return undefined;
    if (a.principal && obj.owner === a.principal.id) return 'owner';
    if (a.principal && obj.sharedWith.includes(a.principal.id)) return 'shared';
    if (obj.owner === '') return 'unowned';
    if (!obj.bool(CKA.PRIVATE) && a.policy.publicObjectsVisible) return 'public';
    return undefined;
  }

  private sees(a: Admitted, target: Target, rel: Relation): boolean {
    if (target.kind !== 'object') return true;
    return allowed('key.see', a.actor, rel, a.hsmLevel);
  }
}

/** Uses that make something new: refused once the version's validity has ended. */
const PRODUCING: ReadonlySet<KeyUse> = new Set<KeyUse>(['sign', 'encrypt', 'wrap', 'derive']);

function checkLifecycle(l: KeyLifecycle | undefined, use?: KeyUse): void {
  if (!l) return;
  const now = Date.now();
  if (l.state === 'enabled') {
    if (l.notBefore !== undefined && now < l.notBefore) throw new HsmError('KEY_NOT_YET_VALID');
    if (l.notAfter !== undefined && now >= l.notAfter && (use === undefined || PRODUCING.has(use))) throw new HsmError('KEY_EXPIRED');
    return;
  }
  if (l.state === 'disabled') throw new HsmError('KEY_DISABLED');
  if (l.state === 'pending-deletion') throw new HsmError('KEY_PENDING_DELETION');
  if (l.state === 'deleted') throw new HsmError('KEY_NOT_FOUND');
  throw new HsmError('KEY_STATE_INVALID', 'the key has no key material yet (pending import)');
}

/** Session-object tags are "<application>/<session>": every session of the application that made
 *  a session object may use it (PKCS#11 2.40 §4.4: session objects belong to the application). */
function sameApplication(tag: string, callerTag: string | undefined): boolean {
  if (callerTag === undefined) return false;
  if (tag === callerTag) return true;
  const app = tag.lastIndexOf('/');
  return app > 0 && callerTag.lastIndexOf('/') === app && callerTag.startsWith(tag.slice(0, app + 1));
}

function today(): string {
  const d = new Date();
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/** Key sizes outside a mechanism's range are refused (CKR_KEY_SIZE_RANGE), checked once material is known. */
export function checkKeySize(mech: MechanismDef, size: number): void {
  if (size < mech.minKeySize || size > mech.maxKeySize) throw new HsmError('KEY_SIZE_RANGE');
}
