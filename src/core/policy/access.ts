// The access matrix as data (CloudHSM's roles, DESIGN.md "Identity and roles"): who may do which
// action on a target in which relation to it. The gate (gate.ts) computes the relation and looks
// the triple up here; nothing else in the module decides who may do what.
//
// Relations (computed by gate.ts, most specific first):
//   owner     — the caller owns the object or key (CKA_TOKEN objects: the creating crypto user)
//   shared    — the owner shared it with the caller
//   self      — the target is the caller itself (its user record, its credentials)
//   unowned   — an object owned by no user: made in a PKCS#11 public session (PKCS#11 §5.6)
//   public    — another user's object with CKA_PRIVATE false (PKCS#11 §4.4), when the partition's
//               policy shows public objects before login
//   partition — the target is in the caller's partition (users, credentials of others)
//   module    — no target: the action is on the module or the caller's partition as a whole
// A target in another partition has no relation: every action on it is refused as if it did not exist.

export type Relation = 'owner' | 'shared' | 'self' | 'unowned' | 'public' | 'partition' | 'module';
/** 'anonymous' is a PKCS#11 public session (no login); 'system' the module's scheduler. */
export type Actor = 'officer' | 'user' | 'auditor' | 'system' | 'anonymous';

export type Action =
  // the module and its partitions
  | 'module.seal' | 'module.backup' | 'module.restore' | 'module.zeroize' | 'module.policy'
  | 'partition.manage' | 'partition.list' | 'partition.show'
  // users and their credentials
  | 'user.create' | 'user.list' | 'user.delete' | 'user.unlock' | 'user.passwd' | 'user.role'
  | 'credential.create' | 'credential.list' | 'credential.delete'
  // objects and keys
  | 'key.create' | 'key.see' | 'key.use' | 'key.manage' | 'key.export' | 'key.wrap-out' | 'key.share' | 'key.name'
  // managed keys as a whole: their description, a purge of a soft-deleted key, a sealed one-key backup
  | 'key.describe' | 'key.purge' | 'key.backup'
  // scheduled key lifecycle (rotation, deletion when the waiting period is over)
  | 'key.lifecycle'
  // quorum (M of N approvals, core/quorum.ts): values, tokens, personal signing keys
  | 'quorum.set' | 'quorum.read' | 'quorum.request' | 'quorum.approve' | 'user.register-key'
  // everything else
  | 'audit.read' | 'random' | 'digest';

export interface AccessRule {
  action: Action;
  who: readonly Actor[];
  relations: readonly Relation[];
  /** Only actors of the HSM's own partition (the partition `default`, whose officers are the HSM's). */
  hsmLevel?: boolean;
  why: string;
}

const rule = (action: Action, who: Actor[], relations: Relation[], why: string, hsmLevel = false): AccessRule =>
  ({ action, who, relations, why, hsmLevel });

export const ACCESS_MATRIX: readonly AccessRule[] = Object.freeze([
  rule('module.seal', ['officer'], ['module'], 'an officer may drop every key from memory', true),
  rule('module.backup', ['officer', 'system'], ['module'], 'backups of the whole domain: HSM officers and the scheduler', true),
  rule('module.restore', ['officer'], ['module'], 'restoring replaces the whole domain', true),
  rule('module.zeroize', ['officer'], ['module'], 'zeroisation destroys the whole domain', true),
  rule('module.policy', ['officer'], ['module'], 'an officer sets its partition\'s policy (approved-only, visibility, quotas)'),
  rule('partition.manage', ['officer'], ['module'], 'HSM officers create, resize and delete partitions (Luna\'s HSM SO)', true),
  rule('partition.list', ['officer', 'auditor'], ['module'], 'HSM officers and auditors list partitions', true),
  rule('partition.show', ['officer', 'auditor'], ['module'], 'a partition\'s officers and auditors read its settings and size (docs/partitions.md)'),

  rule('user.create', ['officer'], ['partition'], 'officers manage the users of their partition'),
  rule('user.delete', ['officer'], ['partition'], 'officers manage the users of their partition'),
  rule('user.unlock', ['officer'], ['partition'], 'officers manage the users of their partition'),
  rule('user.role', ['officer'], ['partition'], 'officers give the users of their partition their roles'),
  rule('user.list', ['officer', 'auditor'], ['partition', 'self'], 'officers and auditors see who holds which role'),
  rule('user.passwd', ['officer'], ['partition'], 'officers reset passwords in their partition'),
  rule('user.passwd', ['officer', 'user', 'auditor'], ['self'], 'everyone changes their own password (with the old one)'),

  rule('credential.create', ['user'], ['self'], 'a crypto user issues access keys for itself'),
  rule('credential.create', ['officer'], ['partition'], 'an officer issues access keys to crypto users of its partition'),
  rule('credential.list', ['user'], ['self'], 'a crypto user lists its own access keys'),
  rule('credential.list', ['officer'], ['partition', 'self'], 'an officer lists every access key of its partition'),
  rule('credential.delete', ['user'], ['self'], 'a crypto user revokes its own access keys'),
  rule('credential.delete', ['officer'], ['partition'], 'an officer revokes any access key of its partition'),

  rule('key.create', ['user'], ['module'], 'crypto users create keys; officers manage users, never keys'),
  rule('key.create', ['anonymous'], ['module'], 'a PKCS#11 public session makes public session objects (PKCS#11 §4.4, §5.6)'),
  // A logged-in crypto user sees only what it owns or was shared (public halves included), plus
  // objects owned by nobody; a public session sees public objects too, as PKCS#11 §4.4 allows.
  rule('key.see', ['user'], ['owner', 'shared', 'unowned'], 'a crypto user sees what it owns, what was shared with it, and objects owned by no one'),
  rule('key.see', ['anonymous'], ['public', 'unowned'], 'a public session sees the partition\'s public objects (PKCS#11 §4.4)'),
  rule('key.use', ['user'], ['owner', 'shared', 'unowned'], 'the owner and those it shared with use a key'),
  rule('key.use', ['anonymous'], ['public', 'unowned'], 'a public session uses public objects (public keys, its session objects)'),
  rule('key.manage', ['user'], ['owner', 'unowned'], 'only the owner changes, rotates, disables or destroys a key'),
  rule('key.manage', ['anonymous'], ['unowned'], 'objects owned by no user are managed by any session of the partition'),
  rule('key.export', ['user'], ['owner'], 'plaintext export (extractable, non-sensitive keys) is for the owner alone'),
  rule('key.wrap-out', ['user'], ['owner', 'unowned'], 'a key leaves the module wrapped (C_WrapKey) at its owner\'s hand only: those it is shared with use it, never take it'),
  rule('key.wrap-out', ['anonymous'], ['public', 'unowned'], 'a public session wraps the public objects and session objects it may use'),
  rule('key.share', ['user'], ['owner'], 'only the owner shares or unshares'),
  rule('key.name', ['user'], ['owner'], 'names (aliases) point at keys their creator owns'),
  rule('key.lifecycle', ['system'], ['owner', 'shared', 'unowned', 'public', 'partition', 'module'], 'scheduled rotation and deletion run as the system actor'),
  rule('key.lifecycle', ['user'], ['owner'], 'the owner rotates or deletes on demand'),
  rule('key.describe', ['officer', 'auditor'], ['module'], 'officers and auditors read the metadata of the managed keys of their partition, never their material or use (Managed HSM Crypto Officer, Crypto Auditor)'),
  rule('key.purge', ['officer'], ['module'], 'an officer purges a soft-deleted key of its partition before its retention ends (Managed HSM Crypto Officer)'),
  rule('key.backup', ['user'], ['owner'], 'the owner takes a one-key backup, sealed so that it opens only in this domain and partition'),

  rule('quorum.set', ['officer'], ['module'], 'an officer sets its partition\'s quorum values (itself under the quorum service\'s value)'),
  rule('quorum.read', ['officer', 'user', 'auditor'], ['module'], 'quorum values and tokens are shown in full to whoever may approve or audit them'),
  rule('quorum.request', ['officer', 'user'], ['module'], 'officers request tokens for admin services, crypto users for the use of their keys'),
  rule('quorum.approve', ['officer', 'user'], ['module'], 'approvers sign with their own key; the quorum service checks who is entitled'),
  rule('user.register-key', ['officer', 'user'], ['self'], 'everyone registers its own personal signing key'),
  rule('user.register-key', ['officer'], ['partition'], 'an officer registers a signing key for a user of its partition (under the user-management quorum)'),

  rule('audit.read', ['auditor'], ['module'], 'auditors read and export the audit trail'),
  rule('random', ['officer', 'user', 'auditor', 'anonymous'], ['module'], 'random bytes: any caller, even a public session (PKCS#11 §5.15)'),
  rule('digest', ['officer', 'user', 'auditor', 'anonymous'], ['module'], 'digests use no key: any caller (PKCS#11 §5.10)'),
]);

/** The matrix's rows by action (at most a few each), so a check reads those rows, not all of them. */
const RULES_BY_ACTION: ReadonlyMap<Action, readonly AccessRule[]> = (() => {
  const m = new Map<Action, AccessRule[]>();
  for (const r of ACCESS_MATRIX) m.set(r.action, [...(m.get(r.action) ?? []), r]);
  return m;
})();
const NO_RULES: readonly AccessRule[] = [];

/** Session × object rules the PKCS#11 face documents (docs/pkcs11.md), derived from the matrix. */
export function allowed(action: Action, who: Actor, relation: Relation, hsmLevelActor: boolean): boolean {
  return (RULES_BY_ACTION.get(action) ?? NO_RULES).some((r) => r.who.includes(who) && r.relations.includes(relation)
    && (!r.hsmLevel || hsmLevelActor || who === 'system'));
}

/** True if some row lets this actor do the action at all (on some target). */
export function mayEver(action: Action, who: Actor): boolean {
  return (RULES_BY_ACTION.get(action) ?? NO_RULES).some((r) => r.who.includes(who));
}
