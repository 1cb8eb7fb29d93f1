// Per-key access lists as data (the core's form of a KMS key policy): Allow and Deny rules over
// principals of the key's partition and the actions the core can enforce on a key — each use, its
// management, and reading its description. A list can only narrow what ownership and sharing
// (access.ts) already allow: the gate first finds the caller's relation, then consults this list.
// No list: no narrowing. A list: a Deny that matches refuses; otherwise some Allow must match
// (as IAM evaluates a key policy: explicit deny, then explicit allow, else implicit deny).
/** The uses (gate.ts KeyUse, spelt out here so that neither file imports the other), management, reading. */
export type KeyAccessAction = 'sign' | 'verify' | 'encrypt' | 'decrypt' | 'wrap' | 'unwrap' | 'derive' | 'manage' | 'describe';
export const KEY_ACCESS_ACTIONS: readonly KeyAccessAction[] =
  ['sign', 'verify', 'encrypt', 'decrypt', 'wrap', 'unwrap', 'derive', 'manage', 'describe'];

export interface KeyAccessRule {
  effect: 'allow' | 'deny';
  /** User ids of the key's partition, or '*' for every user of it. */
  principals: readonly string[] | '*';
  actions: readonly KeyAccessAction[] | '*';
}

export interface KeyAccessList { rules: readonly KeyAccessRule[] }

/** At most this many rules per key (a key policy document is at most 32 KiB). */
export const MAX_KEY_ACCESS_RULES = 64;

const matches = (r: KeyAccessRule, principal: string, action: KeyAccessAction) =>
  (r.principals === '*' || r.principals.includes(principal)) && (r.actions === '*' || r.actions.includes(action));

/** True if the list lets `principal` (a user id) do `action`; the module's own actor is never narrowed.
 *  `granted`: the actions the principal's grants on the key give it (managed-key-grants.ts). A
 *  grantee is held to them, and they count as an Allow (a Deny of the list still wins), as in KMS. */
export function keyAccessAllows(list: KeyAccessList | undefined, principal: string | undefined, action: KeyAccessAction,
  granted?: readonly KeyAccessAction[]): boolean {
  if (list && principal === undefined) return false;
  if (list && list.rules.some((r) => r.effect === 'deny' && matches(r, principal!, action))) return false;
  if (granted) return granted.includes(action);
  if (!list) return true;
  return list.rules.some((r) => r.effect === 'allow' && matches(r, principal!, action));
}

/** A list as stored: every field checked (it is read back from a MACed row, but written by faces). */
export function checkKeyAccessList(list: KeyAccessList): KeyAccessList {
  if (!list || !Array.isArray(list.rules) || list.rules.length > MAX_KEY_ACCESS_RULES) throw new Error('an access list holds 0-64 rules');
  for (const r of list.rules) {
    if (r.effect !== 'allow' && r.effect !== 'deny') throw new Error('a rule is allow or deny');
    if (r.principals !== '*' && (!Array.isArray(r.principals) || (r.principals as unknown[]).some((p) => typeof p !== 'string'))) throw new Error('bad principals');
    if (r.actions !== '*' && (!Array.isArray(r.actions) || (r.actions as KeyAccessAction[]).some((x) => !KEY_ACCESS_ACTIONS.includes(x)))) throw new Error('bad actions');
  }
  return { rules: list.rules.map((r) => ({ effect: r.effect, principals: r.principals === '*' ? '*' : [...r.principals], actions: r.actions === '*' ? '*' : [...r.actions] })) };
}
