// Per-key authorisation and use limits, the parts that need the store (docs/operators.md "Per-key
// authorisation and use limits"; the pure rules are policy/key-limits.ts):
//  - a key's own PIN, given at creation (CKA_INKAN_KEY_PIN) and kept only as a salted scrypt hash;
//    a context-specific login with it (or, for a key without one, with the user's password) mints
//    a KeyAuthorisation good for one operation with that key; wrong PINs are counted and slowed
//    down like wrong passwords, and lock the PIN after MAX_FAILED_LOGINS;
//  - a use counter per key with CKA_INKAN_MAX_USES: a MACed row of `use_counters` whose version is
//    1 + the uses consumed, taken by an atomic conditional UPDATE inside the operation's own
//    transaction (with its audit record), so exactly the limit's number of uses succeed, however
//    many clients and nodes race, and a use is spent before its result leaves the module.
import * as c from '../crypto/node-crypto';
import { CKA, CKO, INKAN_INTERNAL } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import type { DomainKeys } from '../keystore/seal';
import type { RecordRow } from '../keystore/types';
import { Change } from './change';
import type { HsmObject } from './hsm-object';
import { KeyAuthorisation } from './key-authorisation';
import { delayAfter, MAX_FAILED_LOGINS } from './login-throttle';
import type { ObjectStore } from './object-store';
import type { Operations } from './operation';
import { hashPassword, passwordMatches } from './passwords';
import type { AttrValue } from './policy/attributes';
import type { Admitted, Gate } from './policy/gate';
import { LIMIT_ATTRIBUTES, maxUses, needsKeyAuth } from './policy/key-limits';
import type { Caller } from './principal';
import type { Records } from './records';
import type { UserService } from './users';

/** A context-specific login is good for one operation started within this time. */
export const KEY_AUTH_TTL_MS = 5 * 60 * 1000;
export const KEY_PIN_MIN = 6;
export const KEY_PIN_MAX = 256;
/** Uses one key allows at most (a CK_ULONG fits more; a counter this high is no limit in practice). */
export const MAX_USE_LIMIT = 2 ** 40;

/** A key's limits and how much of them is spent, as `inkan key show` and the vendor attributes tell. */
export interface KeyLimitsView {
  maxUses?: number;
  uses?: number;
  usePeriod?: { notBefore?: string; notAfter?: string };
  processPeriod?: { notBefore?: string; notAfter?: string };
  alwaysAuthenticate: boolean;
  keyPin: boolean;
}

const FACES_WITHOUT_KEY_AUTH = new Set(['kms', 'akv', 'xks']);

export class KeyLimits {
  readonly #minted = new WeakSet<KeyAuthorisation>();

  constructor(private readonly records: Records, private readonly keys: () => DomainKeys, private readonly gate: Gate,
    private readonly ops: Operations, private readonly users: UserService, private readonly objects: ObjectStore,
    private readonly delayBase?: number) {}

  /** The stored version of a key (a face may hold an old one). */
  private async current(key: HsmObject): Promise<HsmObject> {
    const cur = await this.objects.get(key.id);
    if (!cur) throw new HsmError('KEY_NOT_FOUND');
    return cur;
  }

  private replace(change: Change, cur: HsmObject, attrs: Map<number, AttrValue>): HsmObject {
    return this.objects.replace(change, cur, { attrs });
  }

  // --- at creation ---------------------------------------------------------------------------------

  /** Checks the limit attributes of a new key's template and turns a key PIN into its hash
   *  (which also sets CKA_ALWAYS_AUTHENTICATE). Runs before the object is built. */
  async prepareNew(cls: number | undefined, attrs: Map<number, AttrValue>): Promise<void> {
    const max = attrs.get(CKA.INKAN_MAX_USES);
    if (max !== undefined && (typeof max !== 'number' || max > MAX_USE_LIMIT)) throw new HsmError('ATTRIBUTE_VALUE_INVALID', `CKA_INKAN_MAX_USES is at most ${MAX_USE_LIMIT}`);
    for (const [from, until] of [[CKA.INKAN_USE_NOT_BEFORE, CKA.INKAN_USE_NOT_AFTER], [CKA.INKAN_PROCESS_NOT_BEFORE, CKA.INKAN_PROCESS_NOT_AFTER]]) {
      const f = attrs.get(from) as number | undefined;
      const u = attrs.get(until) as number | undefined;
      if (f && u && f >= u) throw new HsmError('TEMPLATE_INCONSISTENT', 'a usage period ends after it starts');
    }
    const pin = attrs.get(CKA.INKAN_KEY_PIN);
    attrs.delete(CKA.INKAN_KEY_PIN);
    attrs.delete(INKAN_INTERNAL.KEY_PIN_HASH);
    if (pin === undefined) return;
    if (cls !== CKO.PRIVATE_KEY && cls !== CKO.SECRET_KEY) throw new HsmError('TEMPLATE_INCONSISTENT', 'only private and secret keys take a key PIN');
    attrs.set(INKAN_INTERNAL.KEY_PIN_HASH, await hashKeyPin(pin));
    attrs.set(CKA.ALWAYS_AUTHENTICATE, true);
  }

  /** A new key with a use limit gets its counter row in the same transaction. Session objects live
   *  in memory only, so nothing could count their uses across a restart: they take no limit. */
  onInsert(change: Change, obj: HsmObject): void {
    if (!obj.isKey || !maxUses(obj)) return;
    if (obj.session !== undefined) throw new HsmError('TEMPLATE_INCONSISTENT', 'a use limit needs a token object (CKA_TOKEN true)');
    const row = this.records.make('use_counters', { id: obj.id, partition: obj.partition, cols: {}, data: '{}', sealed: null });
    change.insert('use_counters', row).onCommit(() => this.records.wrote('use_counters', row));
  }

  /** A copy would multiply a limited or PIN-protected key's uses: refused. */
  refuseCopy(obj: HsmObject): void {
    if (maxUses(obj) || needsKeyAuth(obj)) throw new HsmError('ACTION_PROHIBITED', 'keys with a use limit or their own authentication are not copied');
  }

  // --- on every use ------------------------------------------------------------------------------

  /** Before a key's material is used for real: the context-specific login is spent, and one use of
   *  the counter is taken in `change` (the store refuses the unit if the counter is spent). */
  async beforeUse(a: Admitted, change: Change, key: HsmObject): Promise<void> {
    if (a.actor !== 'system' && needsKeyAuth(key)) this.spendAuthorisation(a, key);
    const max = maxUses(key);
    if (!max) return;
    const used = await this.uses(key);
    if (used >= max) throw new HsmError('KEY_USES_EXHAUSTED');
    change.consume('use_counters', key.id, max + 1, (stored) => this.reseal(stored, key));
    change.onCommit(() => { const c2 = change.consumed.get(key.id); if (c2) this.records.wrote('use_counters', c2.after); });
  }

  private spendAuthorisation(a: Admitted, key: HsmObject): void {
    const auth = a.caller.keyAuth;
    if (auth === undefined || !this.#minted.has(auth)) {
      throw new HsmError(FACES_WITHOUT_KEY_AUTH.has(a.caller.face) ? 'KEY_AUTH_UNSUPPORTED' : 'KEY_AUTH_REQUIRED');
    }
    if (auth.used || auth.objectId !== key.id || auth.principalId !== a.principal?.id || Date.now() > auth.expires) throw new HsmError('KEY_AUTH_REQUIRED');
    auth.used = true;
  }

  /** Inside the commit: the stored counter must be genuine and not older than this process saw;
   *  then its next version is MACed. A bad row refuses the use (STORE_CORRUPT) and changes nothing.
   *  The row read here may be uncommitted (an earlier consume of the same batch): it is verified
   *  without becoming a mark; the mark follows from the commit (beforeUse's onCommit). */
  private reseal(stored: RecordRow, key: HsmObject): Buffer | undefined {
    try {
      if (stored.partition !== key.partition) return undefined;
      this.records.verify('use_counters', stored);
      return this.records.make('use_counters', { id: stored.id, partition: stored.partition, cols: stored.cols, data: stored.data, sealed: stored.sealed, created: stored.created }, stored).mac;
    } catch { return undefined; }
  }

  /** Uses consumed so far (the counter row checked: MAC, and not older than this process saw). */
  async uses(key: HsmObject): Promise<number> {
    const row = await this.records.get('use_counters', key.id);
    if (!row) throw new HsmError('STORE_CORRUPT', `the use counter of key ${key.id.slice(0, 64)} is missing from the store; the key is not used`);
    if (row.partition !== key.partition) throw new HsmError('STORE_CORRUPT', 'a use counter was moved to another key');
    return row.version - 1;
  }

  /** The limits and the count, for listings and `inkan key show`. */
  async view(key: HsmObject): Promise<KeyLimitsView> {
    const t = (type: number) => { const v = key.attrs.get(type); return typeof v === 'number' && v > 0 ? new Date(v * 1000).toISOString() : undefined; };
    const max = maxUses(key);
    const period = (from: number, until: number) => (t(from) || t(until) ? { notBefore: t(from), notAfter: t(until) } : undefined);
    return {
      maxUses: max || undefined, uses: max ? await this.uses(key) : undefined,
      usePeriod: period(CKA.INKAN_USE_NOT_BEFORE, CKA.INKAN_USE_NOT_AFTER),
      processPeriod: period(CKA.INKAN_PROCESS_NOT_BEFORE, CKA.INKAN_PROCESS_NOT_AFTER),
      alwaysAuthenticate: needsKeyAuth(key), keyPin: typeof key.attrs.get(INKAN_INTERNAL.KEY_PIN_HASH) === 'string',
    };
  }

  /** The vendor attributes derived here (C_GetAttributeValue); undefined for any other type. */
  async readAttribute(key: HsmObject, type: number): Promise<{ value: AttrValue } | { error: 'sensitive' } | undefined> {
    if (type === CKA.INKAN_KEY_PIN) return { error: 'sensitive' };
    if (type === CKA.INKAN_USES) return { value: maxUses(key) ? await this.uses(key) : 0 };
    if ((LIMIT_ATTRIBUTES as readonly number[]).includes(type)) {
      const v = key.attrs.get(type);
      return { value: typeof v === 'number' ? v : 0 };
    }
    return undefined;
  }

  // --- context-specific login ----------------------------------------------------------------------

  /** True if the key has its own PIN (else its context-specific login takes the user's password). */
  hasKeyPin(key: HsmObject): boolean {
    return typeof key.attrs.get(INKAN_INTERNAL.KEY_PIN_HASH) === 'string';
  }

  /** C_Login(CKU_CONTEXT_SPECIFIC) for `key`: its key PIN, or for a key without one the user's own
   *  password. Wrong PINs are counted before the PIN is looked at, slowed down and locked after
   *  MAX_FAILED_LOGINS, as user logins are; every attempt is recorded (never the PIN). */
  async authenticate(caller: Caller, key: HsmObject, secret: string): Promise<KeyAuthorisation> {
    if (caller.principal === undefined) throw new HsmError('AUTH_REQUIRED');
    if (typeof key.attrs.get(INKAN_INTERNAL.KEY_PIN_HASH) !== 'string') {
      // No key PIN: the context-specific login re-proves the user's password (PKCS#11 2.40 §5.6).
      const again = await this.users.login({ face: caller.face, partition: caller.partition, source: caller.source }, caller.principal.username, secret);
      if (again.id !== caller.principal.id) throw new HsmError('LOGIN_FAILED');
    }
    return this.ops.run(caller, 'key.authenticate', async (a, _change, rec) => {
      rec.object = key.id;
      this.gate.authorize(a, 'key.use', { kind: 'object', object: key });
      if (!needsKeyAuth(key)) throw new HsmError('OPERATION_NOT_INITIALIZED', 'the key does not need a context-specific login');
      const hash = key.attrs.get(INKAN_INTERNAL.KEY_PIN_HASH);
      if (typeof hash === 'string') await this.checkPin(a, key, hash, secret);
      const auth = KeyAuthorisation.create(key.id, a.principal!.id, Date.now() + KEY_AUTH_TTL_MS);
      this.#minted.add(auth);
      return auth;
    });
  }

  /** The owner changes (or sets) a key's PIN: the current one first, if the key has one, with the
   *  same counting and lock as a context-specific login. One transaction, recorded (never the PIN). */
  setPin(caller: Caller, key: HsmObject, currentPin: string | undefined, newPin: string): Promise<HsmObject> {
    return this.ops.run(caller, 'key.set-pin', async (a, change, rec) => {
      rec.object = key.id;
      const cur = await this.current(key);
      this.gate.authorize(a, 'key.manage', { kind: 'object', object: cur });
      if (cur.cls !== CKO.PRIVATE_KEY && cur.cls !== CKO.SECRET_KEY) throw new HsmError('KEY_TYPE_INCONSISTENT', 'only private and secret keys take a key PIN');
      const hash = cur.attrs.get(INKAN_INTERNAL.KEY_PIN_HASH);
      if (typeof hash === 'string') await this.checkPin(a, cur, hash, currentPin ?? '');
      const attrs = new Map(cur.attrs);
      attrs.set(INKAN_INTERNAL.KEY_PIN_HASH, await hashKeyPin(newPin));
      attrs.set(CKA.ALWAYS_AUTHENTICATE, true);
      return this.replace(change, cur, attrs);
    });
  }

  private async checkPin(a: Admitted, key: HsmObject, hash: string, pin: string): Promise<void> {
    const source = a.caller.source;
    this.users.throttle.checkSource(source);
    const tkey = c.hmac('sha256', this.keys().derive('key-pin-throttle'), Buffer.from(key.id)).toString('hex');
    const [row] = await this.records.store.findPlain('login_throttle', { key: tkey });
    const failures = Number(row?.failures ?? 0);
    if (failures >= MAX_FAILED_LOGINS) throw new HsmError('KEY_PIN_LOCKED');
    const wait = Number(row?.last_at ?? 0) + delayAfter(failures, this.delayBase) - Date.now();
    if (failures && wait > 0) throw new HsmError('LOGIN_THROTTLED', `too many wrong key PINs: try again in ${Math.ceil(wait / 1000)} s`);
    // Counted before the PIN is evaluated, so an interrupted attempt still counts.
    await this.ops.applyUnrecorded(new Change().put('login_throttle', { key: tkey, failures: failures + 1, last_at: Date.now() }));
    if (!(await passwordMatches(String(pin), hash))) {
      this.users.throttle.sourceFailed(source);
      throw new HsmError(failures + 1 >= MAX_FAILED_LOGINS ? 'KEY_PIN_LOCKED' : 'KEY_PIN_INCORRECT');
    }
    this.users.throttle.sourceSucceeded(source);
    await this.ops.applyUnrecorded(new Change().remove('login_throttle', { key: tkey }));
  }
}

async function hashKeyPin(pin: AttrValue): Promise<string> {
  const text = Buffer.isBuffer(pin) ? pin.toString('utf8') : pin;
  if (typeof text !== 'string' || text.length < KEY_PIN_MIN || text.length > KEY_PIN_MAX) {
    throw new HsmError('ATTRIBUTE_VALUE_INVALID', `a key PIN is ${KEY_PIN_MIN}-${KEY_PIN_MAX} characters`);
  }
  return hashPassword(text);
}
