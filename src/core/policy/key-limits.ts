// Per-key use rules as data, checked by the gate on every key use, on every face (docs/operators.md
// "Per-key authorisation and use limits"): the key's usage periods (SP 800-57 Part 1 §5.3: the
// originator usage period bounds applying protection, the recipient usage period bounds
// processing protected data) and the scope a share was made with (which uses, and for encrypt and
// decrypt which encryption context). The counter and the key PIN need the store and live in
// core/key-limits.ts; this file is pure.
import { CKA, INKAN_INTERNAL } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import type { HsmObject } from '../hsm-object';
import type { AttrValue } from './attributes';

/** The uses (gate.ts KeyUse, spelt out here so that neither file imports the other). */
export type KeyUse = 'sign' | 'verify' | 'encrypt' | 'decrypt' | 'wrap' | 'unwrap' | 'derive';

/** What these rules need to know of the caller (the gate passes it from its admission). */
export interface RuleCaller {
  system: boolean;
  principalId?: string;
  encryptionContext?: Readonly<Record<string, string>>;
}

/** Which period governs each use: originator (makes protected data) or recipient (processes it). */
export const USE_PERIOD: Readonly<Record<KeyUse, 'originator' | 'recipient'>> = {
  sign: 'originator', encrypt: 'originator', wrap: 'originator', derive: 'originator',
  verify: 'recipient', decrypt: 'recipient', unwrap: 'recipient',
};

const PERIOD_ATTRS = {
  originator: { from: CKA.INKAN_USE_NOT_BEFORE, until: CKA.INKAN_USE_NOT_AFTER },
  recipient: { from: CKA.INKAN_PROCESS_NOT_BEFORE, until: CKA.INKAN_PROCESS_NOT_AFTER },
} as const;

/** The limit attributes a template may give (all fixed at creation: PKCS#11 change rule "never"). */
export const LIMIT_ATTRIBUTES: readonly number[] = [CKA.INKAN_MAX_USES, CKA.INKAN_USE_NOT_BEFORE, CKA.INKAN_USE_NOT_AFTER,
  CKA.INKAN_PROCESS_NOT_BEFORE, CKA.INKAN_PROCESS_NOT_AFTER];

/** What one share allows: some uses only, and (for encrypt and decrypt) a required encryption context. */
export interface ShareScope {
  ops?: KeyUse[];
  context?: Record<string, string>;
}
export const SHARE_SCOPE_USES: readonly KeyUse[] = ['sign', 'verify', 'encrypt', 'decrypt', 'wrap', 'unwrap', 'derive'];
/** At most this many context pairs per share, each key and value at most 256 characters. */
export const MAX_SCOPE_CONTEXT = 16;

const seconds = (obj: HsmObject, type: number): number => {
  const v = obj.attrs.get(type);
  return typeof v === 'number' ? v : 0;
};

export function maxUses(obj: HsmObject): number {
  return seconds(obj, CKA.INKAN_MAX_USES);
}

/** True if every use of the key needs a context-specific login first (PKCS#11 2.40 §4.9 CKA_ALWAYS_AUTHENTICATE). */
export function needsKeyAuth(obj: HsmObject): boolean {
  return obj.bool(CKA.ALWAYS_AUTHENTICATE);
}

/** Refuses a use outside the period that governs it (seconds since 1970; 0 is no bound; the end is exclusive). */
export function checkUsePeriod(obj: HsmObject, use: KeyUse, now = Date.now()): void {
  const p = PERIOD_ATTRS[USE_PERIOD[use]];
  const from = seconds(obj, p.from);
  const until = seconds(obj, p.until);
  if (from && now < from * 1000) throw new HsmError('KEY_USE_PERIOD_NOT_STARTED', `the key's ${USE_PERIOD[use]} usage period starts at ${new Date(from * 1000).toISOString()}`);
  if (until && now >= until * 1000) throw new HsmError('KEY_USE_PERIOD_ENDED', `the key's ${USE_PERIOD[use]} usage period ended at ${new Date(until * 1000).toISOString()}`);
}

/** The share scopes kept on an object (user id → scope); a share without one has no entry. */
export function shareScopes(obj: HsmObject | ReadonlyMap<number, AttrValue>): Record<string, ShareScope> {
  const attrs = obj instanceof Map ? obj : (obj as HsmObject).attrs;
  const raw = attrs.get(INKAN_INTERNAL.SHARE_SCOPES);
  if (typeof raw !== 'string' || raw === '') return {};
  try { return JSON.parse(raw) as Record<string, ShareScope>; } catch { throw new HsmError('STORE_CORRUPT', 'a key\'s share scopes do not parse'); }
}

/** A sharee (not the owner, not the module) is held to its share's scope. */
export function checkShareScope(a: RuleCaller, obj: HsmObject, use: KeyUse): void {
  const me = a.principalId;
  if (a.system || me === undefined || obj.owner === me || !obj.sharedWith.includes(me)) return;
  const scope = shareScopes(obj)[me];
  if (!scope) return;
  if (scope.ops && !scope.ops.includes(use)) throw new HsmError('SHARE_SCOPE_DENIED', `the key was shared with you for ${scope.ops.join(', ')} only`);
  if (scope.context && (use === 'encrypt' || use === 'decrypt')) {
    const given = a.encryptionContext;
    for (const [k, v] of Object.entries(scope.context)) {
      if (given?.[k] !== v) throw new HsmError('SHARE_SCOPE_DENIED', 'the key was shared with you for one encryption context, which this request does not carry');
    }
  }
}

/** A scope as given by a face, checked (uses known, context bounded); undefined for an unscoped share. */
export function checkScope(scope: ShareScope | undefined): ShareScope | undefined {
  if (!scope || (!scope.ops && !scope.context)) return undefined;
  const out: ShareScope = {};
  if (scope.ops) {
    if (!Array.isArray(scope.ops) || !scope.ops.length || scope.ops.some((u) => !SHARE_SCOPE_USES.includes(u))) {
      throw new HsmError('BAD_REQUEST', `a share's operations are some of ${SHARE_SCOPE_USES.join(', ')}`);
    }
    out.ops = [...new Set(scope.ops)];
  }
  if (scope.context) {
    const entries = Object.entries(scope.context);
    if (!entries.length || entries.length > MAX_SCOPE_CONTEXT || entries.some(([k, v]) => typeof v !== 'string' || !k || k.length > 256 || v.length > 256)) {
      throw new HsmError('BAD_REQUEST', `a share's encryption context is 1-${MAX_SCOPE_CONTEXT} text pairs`);
    }
    out.context = Object.fromEntries(entries);
  }
  return out;
}

/** The checks of this file that the gate runs on every use (after the matrix and the usage attribute). */
export function checkKeyRules(a: RuleCaller, obj: HsmObject, use: KeyUse): void {
  checkShareScope(a, obj, use);
  checkUsePeriod(obj, use);
}

/** The object's attributes with `userId`'s scope set (or dropped); undefined when nothing changes. */
export function scopedAttributes(obj: HsmObject, userId: string, scope: ShareScope | undefined): Map<number, AttrValue> | undefined {
  const scopes = shareScopes(obj);
  if (!scope && !(userId in scopes)) return undefined;
  if (scope) scopes[userId] = scope; else delete scopes[userId];
  const attrs = new Map(obj.attrs);
  attrs.set(INKAN_INTERNAL.SHARE_SCOPES, JSON.stringify(scopes));
  return attrs;
}

/** For audit details and listings: "sign,verify with dept=…" (context keys only, never values). */
export function describeScope(scope: ShareScope): string {
  const ops = scope.ops ? scope.ops.join(',') : 'every use';
  return scope.context ? `${ops} with context ${Object.keys(scope.context).join(',')}` : ops;
}
