// Reading objects and keys: lookups by id, label and template through the store's indexes (the
// cost does not grow with the number of objects in the partition, only with the matches),
// attribute reads with PKCS#11's per-attribute answers, public and plaintext export. Reads record
// only their refusals in the audit trail; a plaintext export is recorded always.
import { CKA, CKO, INKAN_KEY_STATE } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import type { HsmObject } from './hsm-object';
import type { ObjectStore } from './object-store';
import type { Operations } from './operation';
import { AttrValue, rulesFor } from './policy/attributes';
import type { Admitted, Gate, KeyLifecycle } from './policy/gate';
import type { Caller } from './principal';
import type { Template } from './templates';
import { decodeCursor, encodeCursor, type ListCursor } from './list-cursor';

export type AttrRead = { value: AttrValue } | { error: 'sensitive' | 'invalid' };
export const PRIVATE_FIRST = [CKO.PRIVATE_KEY, CKO.SECRET_KEY, CKO.PUBLIC_KEY];
/** Listings return at most this many objects per call (faces page with `after`). */
export const MAX_LIST = 10_000;
/** A page of `listPage` holds at most this many objects (the admin API's `limit`). */
export const MAX_PAGE = 1000;
/** The sources of a paged listing, in order: the caller's own token objects, those owned by no
 *  one, those shared with it, session objects (memory). Each is read in id order by keyset. */
const PHASES = ['own', 'unowned', 'shared', 'session'] as const;

export interface ListPage { objects: HsmObject[]; next?: string }

/** The lifecycle of the managed key an object belongs to (managed-keys.ts answers it). */
export type LifecycleLookup = (obj: HsmObject) => Promise<KeyLifecycle | undefined>;

const STATE_VALUE: Record<KeyLifecycle['state'], number> = {
  enabled: INKAN_KEY_STATE.ENABLED, disabled: INKAN_KEY_STATE.DISABLED, 'pending-deletion': INKAN_KEY_STATE.PENDING_DELETION,
  'pending-import': INKAN_KEY_STATE.PENDING_IMPORT, deleted: INKAN_KEY_STATE.PENDING_DELETION,
};

export class KeyReads {
  lifecycle: LifecycleLookup = async () => undefined;
  /** The vendor attributes of use limits and key PINs (key-limits.ts), derived rather than stored as given. */
  limits?: { readAttribute(key: HsmObject, type: number): Promise<AttrRead | undefined> };

  constructor(private readonly objects: ObjectStore, private readonly gate: Gate, private readonly ops: Operations,
    private readonly onCorrupt: (id: string) => void = () => {}) {}

  /** The current version of an object a face holds (it may have changed or gone since). */
  async current(a: Admitted, obj: HsmObject): Promise<HsmObject> {
    return this.gate.checkVisible(a, await this.objects.get(obj.id));
  }

  async getIn(a: Admitted, id: string): Promise<HsmObject> {
    return this.gate.checkVisible(a, await this.objects.get(id));
  }

  get(caller: Caller, id: string): Promise<HsmObject> {
    return this.ops.run(caller, 'key.read', (a) => this.getIn(a, id), { recordSuccess: false });
  }

  /** Visible objects whose attributes equal every entry of `filter` (C_FindObjects, §5.7). The most
   *  selective indexed attribute in the filter picks the candidates; the rest filters them. */
  find(caller: Caller, filter: Template = new Map()): Promise<HsmObject[]> {
    return this.ops.run(caller, 'key.find', (a) => this.findIn(a, filter), { recordSuccess: false });
  }

  async findIn(a: Admitted, filter: Template): Promise<HsmObject[]> {
    this.gate.requireAble(a, 'key.see');
    const candidates = await this.candidates(a, filter);
    const seen = new Set<string>();
    const out: HsmObject[] = [];
    for (const o of candidates) {
      if (seen.has(o.id) || !this.gate.canSee(a, o) || !matches(o, filter)) continue;
      seen.add(o.id);
      out.push(o);
      if (out.length >= MAX_LIST) break;
    }
    return out.sort((x, y) => x.created - y.created || (x.id < y.id ? -1 : 1));
  }

  private async candidates(a: Admitted, filter: Template): Promise<HsmObject[]> {
    const p = a.partition;
    const label = filter.get(CKA.LABEL);
    if (typeof label === 'string') return this.labelled(a, label);
    const id = filter.get(CKA.ID);
    if (Buffer.isBuffer(id)) return this.objects.byCkaId(p, id, this.onCorrupt);
    const me = a.principal?.isUser ? a.principal.id : undefined;
    const cls = filter.get(CKA.CLASS);
    const mine = me ? [...await this.objects.byOwner(p, me, this.onCorrupt), ...await this.objects.sharedWith(p, me, this.onCorrupt)] : [];
    const unowned = await this.objects.byOwner(p, '', this.onCorrupt);
    if (a.actor === 'anonymous' && a.policy.publicObjectsVisible) {
      const classes = typeof cls === 'number' ? [cls] : [CKO.PUBLIC_KEY, CKO.CERTIFICATE, CKO.DATA, CKO.SECRET_KEY, CKO.PRIVATE_KEY];
      const pub: HsmObject[] = [];
      for (const k of classes) pub.push(...(await this.objects.byClass(p, k, this.onCorrupt)).filter((o) => !o.bool(CKA.PRIVATE)));
      return [...unowned, ...pub];
    }
    return [...mine, ...unowned];
  }

  /** One page of every object the caller can see (GET /v1/keys): at most `limit` (≤ MAX_PAGE)
   *  objects and, if more may follow, a continuation token (list-cursor.ts) for the next page.
   *  Each page reads at most about `limit` rows per source through the store's indexes, so a
   *  listing of any size holds one page in memory; every object appears in exactly one page. */
  listPage(caller: Caller, token: string | undefined, limit: number): Promise<ListPage> {
    return this.ops.run(caller, 'key.find', async (a) => {
      this.gate.requireAble(a, 'key.see');
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new HsmError('BAD_REQUEST', `the page size is 1 to ${MAX_PAGE}`);
      const me = a.principal?.isUser ? a.principal.id : undefined;
      const bind = `${a.partition}/${a.principal?.id ?? a.actor}`;
      let cur: ListCursor = token === undefined ? { phase: 0 } : decodeCursor(this.objects.cursorKey(), bind, token, PHASES.length);
      const out: HsmObject[] = [];
      while (cur.phase < PHASES.length && out.length < limit) {
        const page = await this.phasePage(a, PHASES[cur.phase], me, cur.after, limit - out.length);
        for (const o of page.objects) if (this.gate.canSee(a, o)) out.push(o);
        cur = page.done ? { phase: cur.phase + 1 } : { phase: cur.phase, after: page.last };
      }
      return { objects: out, next: cur.phase < PHASES.length ? encodeCursor(this.objects.cursorKey(), bind, cur) : undefined };
    }, { recordSuccess: false });
  }

  private async phasePage(a: Admitted, phase: (typeof PHASES)[number], me: string | undefined, after: string | undefined, limit: number) {
    const p = a.partition;
    const none = { objects: [] as HsmObject[], last: after, done: true };
    switch (phase) {
      case 'own': return me ? this.objects.ownedPage(p, me, after, limit, this.onCorrupt) : none;
      case 'unowned': return this.objects.ownedPage(p, '', after, limit, this.onCorrupt);
      case 'shared': {
        if (!me) return none;
        const page = await this.objects.sharedPage(p, me, after, limit, this.onCorrupt);
        // An object the caller owns, or owned by no one, was listed in its own phase already.
        return { ...page, objects: page.objects.filter((o) => o.owner !== me && o.owner !== '') };
      }
      case 'session': return this.objects.sessionPage(p, me ? [me, ''] : [''], after, limit);
    }
  }

  /** The objects labelled `label` the caller may see: its own, those shared with it and those owned
   *  by no one, read by index; only a public session that may see every public object reads the
   *  partition's whole label range. */
  private async labelled(a: Admitted, label: string): Promise<HsmObject[]> {
    const p = a.partition;
    const me = a.principal?.isUser ? a.principal.id : undefined;
    if (!me) {
      if (a.actor === 'anonymous' && a.policy.publicObjectsVisible) return this.objects.byLabel(p, label, this.onCorrupt);
      return this.objects.byLabelOwned(p, label, [''], this.onCorrupt);
    }
    const shared = (await this.objects.sharedWith(p, me, this.onCorrupt)).filter((o) => o.label === label);
    return [...await this.objects.byLabelOwned(p, label, [me, ''], this.onCorrupt), ...shared];
  }

  /** A key named by id or label; `prefer` orders object classes when a label names a pair. */
  resolve(caller: Caller, ref: string, prefer: number[] = PRIVATE_FIRST): Promise<HsmObject> {
    return this.ops.run(caller, 'key.read', (a) => this.resolveIn(a, ref, prefer), { recordSuccess: false });
  }

  async resolveIn(a: Admitted, ref: string, prefer: number[] = PRIVATE_FIRST): Promise<HsmObject> {
    this.gate.requireAble(a, 'key.see');
    if (typeof ref !== 'string' || ref.length === 0) throw new HsmError('KEY_NOT_FOUND');
    const byId = await this.objects.get(ref).catch((err) => { if (err instanceof HsmError && err.code === 'STORE_CORRUPT') throw err; return undefined; });
    if (byId && this.gate.canSee(a, byId)) return byId;
    const named = (await this.labelled(a, ref)).filter((o) => this.gate.canSee(a, o));
    for (const cls of prefer) {
      const hits = named.filter((o) => o.cls === cls);
      if (hits.length > 1) throw new HsmError('KEY_AMBIGUOUS');
      if (hits.length === 1) return hits[0];
    }
    throw new HsmError('KEY_NOT_FOUND', `no key named ${JSON.stringify(ref.slice(0, 128))}`);
  }

  /** The other half of a key pair: same owner and partition, the opposite class, the same public key. */
  async partners(obj: HsmObject): Promise<HsmObject[]> {
    const spki = obj.attrs.get(CKA.PUBLIC_KEY_INFO);
    if (!Buffer.isBuffer(spki) || (obj.cls !== CKO.PRIVATE_KEY && obj.cls !== CKO.PUBLIC_KEY)) return [];
    const other = obj.cls === CKO.PRIVATE_KEY ? CKO.PUBLIC_KEY : CKO.PRIVATE_KEY;
    const id = obj.attrs.get(CKA.ID);
    const candidates = Buffer.isBuffer(id) && id.length ? await this.objects.byCkaId(obj.partition, id) : await this.objects.byOwner(obj.partition, obj.owner);
    return candidates.filter((o) => o.id !== obj.id && o.owner === obj.owner && o.cls === other && o.session === undefined
      && Buffer.isBuffer(o.attrs.get(CKA.PUBLIC_KEY_INFO)) && (o.attrs.get(CKA.PUBLIC_KEY_INFO) as Buffer).equals(spki));
  }

  /** C_GetAttributeValue per attribute: a value, or why not (§5.7: sensitive / invalid). A secret
   *  value is revealed only to whoever may export the key (the owner): a sharee uses, never reads it. */
  readAttributes(caller: Caller, obj: HsmObject, types: number[]): Promise<Map<number, AttrRead>> {
    return this.ops.run(caller, 'key.read-attributes', async (a) => {
      const current = await this.current(a, obj);
      const rules = rulesFor(current.cls, current.isKey ? current.keyType : undefined)!;
      const mayReveal = this.gate.permits(a, 'key.export', { kind: 'object', object: current });
      const out = new Map<number, AttrRead>();
      for (const t of types) {
        const derived = current.isKey ? await this.limits?.readAttribute(current, t) : undefined;
        if (derived) { out.set(t, derived); continue; }
        if (t === CKA.INKAN_KEY_STATE && current.isKey) {
          const l = await this.lifecycle(current);
          out.set(t, { value: STATE_VALUE[l?.state ?? 'enabled'] });
          continue;
        }
        out.set(t, this.readOne(current, rules.get(t)?.secret === true, t, mayReveal));
      }
      return out;
    }, { recordSuccess: false });
  }

  private readOne(obj: HsmObject, secret: boolean, type: number, mayReveal: boolean): AttrRead {
    const rule = rulesFor(obj.cls, obj.isKey ? obj.keyType : undefined)!.get(type);
    if (!rule) return { error: 'invalid' };
    if (!secret && !(obj.cls === CKO.DATA && type === CKA.VALUE)) {
      const v = obj.attrs.get(type);
      return v === undefined ? { error: 'invalid' } : { value: v };
    }
    if (obj.cls === CKO.DATA) return { value: this.objects.secretValue(obj) };
    if (!mayReveal || obj.bool(CKA.SENSITIVE) || !obj.bool(CKA.EXTRACTABLE)) return { error: 'sensitive' };
    if (obj.cls === CKO.SECRET_KEY) return { value: this.objects.secretValue(obj) };
    return { error: 'sensitive' }; // private components are only exported as PKCS#8 through exportKey
  }

  /** SPKI DER of an asymmetric key (public information; any caller who can see the key). */
  exportPublic(caller: Caller, obj: HsmObject): Promise<Buffer> {
    return this.ops.run(caller, 'key.export-public', async (a) => {
      const current = await this.current(a, obj);
      const spki = current.attrs.get(CKA.PUBLIC_KEY_INFO);
      if (!Buffer.isBuffer(spki)) throw new HsmError('KEY_TYPE_INCONSISTENT', 'the object has no public key');
      return spki;
    }, { recordSuccess: false });
  }

  /** Plaintext export: only for the owner, only if CKA_EXTRACTABLE and not CKA_SENSITIVE (§4.9). Always recorded. */
  exportKey(caller: Caller, obj: HsmObject): Promise<{ format: 'raw' | 'pkcs8'; data: Buffer }> {
    return this.ops.run(caller, 'key.export', async (a, _change, rec) => {
      rec.object = obj.id;
      const current = await this.current(a, obj);
      this.gate.authorize(a, 'key.export', { kind: 'object', object: current });
      if (current.cls !== CKO.SECRET_KEY && current.cls !== CKO.PRIVATE_KEY) throw new HsmError('KEY_TYPE_INCONSISTENT');
      if (!current.bool(CKA.EXTRACTABLE)) throw new HsmError('KEY_UNEXTRACTABLE');
      if (current.bool(CKA.SENSITIVE)) throw new HsmError('ATTRIBUTE_SENSITIVE', 'the key is sensitive: wrap it instead');
      return { format: current.cls === CKO.SECRET_KEY ? 'raw' : 'pkcs8', data: this.objects.secretValue(current) };
    });
  }
}

function matches(obj: HsmObject, filter: Template): boolean {
  for (const [t, v] of filter) {
    const mine = obj.attrs.get(t);
    if (Buffer.isBuffer(v)) { if (!Buffer.isBuffer(mine) || !mine.equals(v)) return false; }
    else if (Array.isArray(v)) { if (!Array.isArray(mine) || mine.join() !== v.join()) return false; }
    else if (mine !== v) return false;
  }
  return true;
}
