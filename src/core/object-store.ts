// Objects in and out of the untrusted store: seals the secret value, MACs every row (records.ts),
// keeps unsealed objects in a bounded, coherent cache, answers indexed lookups (by label, CKA_ID,
// owner, sharee, class, managed key) without reading the whole partition, and holds session
// objects in memory only. Writes go into the operation's Change; the cache follows on commit.
import * as c from '../crypto/node-crypto';
import { CKA, CKK, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { DomainKeys, seal, unseal } from '../keystore/seal';
import type { RecordRow } from '../keystore/types';
import { describe } from '../mechanisms/key-types';
import type { KeyMaterial } from '../mechanisms/types';
import type { Change } from './change';
import { Coherence, LruCache } from './coherence';
import { HsmObject } from './hsm-object';
import { AttrValue, decodeAttrs, encodeAttrs } from './policy/attributes';
import type { Records } from './records';

/** Unsealed token objects kept in memory at most (the rest are read from the store when used). */
export const OBJECT_CACHE = 20_000;
/** Session objects the module holds at most, over all sessions (they live in memory only). */
export const MAX_SESSION_OBJECTS = 100_000;
const MAX_LABEL = 4096;
const MAX_CKA_ID = 1024;

export interface NewObject {
  partition: string;
  owner: string;
  cls: number;
  attrs: Map<number, AttrValue>;
  managed?: string;
  /** The PKCS#11 session tag of a session object (CKA_TOKEN false). */
  session?: string;
  /** The secret value to seal (raw secret key, PKCS#8 private key, data object value). */
  secret?: Buffer;
  material?: KeyMaterial;
  id?: string;
  sharedWith?: string[];
}

const ckaIdHex = (attrs: ReadonlyMap<number, AttrValue>) => {
  const id = attrs.get(CKA.ID);
  return Buffer.isBuffer(id) ? id.toString('hex') : '';
};

export class ObjectStore {
  private readonly cache = new LruCache<HsmObject>(OBJECT_CACHE, (o) => { o.material = undefined; });
  private readonly sessionObjects = new Map<string, HsmObject>();

  constructor(private readonly records: Records, private readonly keys: () => DomainKeys, coherence: Coherence) {
    coherence.register('objects', (id) => this.cache.delete(id), () => this.cache.clear());
  }

  /** A new object, its secret sealed under its partition's key; stored by `insert`. */
  build(n: NewObject): HsmObject {
    const id = n.id ?? c.randomUuid();
    const label = (n.attrs.get(CKA.LABEL) as string | undefined) ?? '';
    if (Buffer.byteLength(label) > MAX_LABEL) throw new HsmError('ATTRIBUTE_VALUE_INVALID', 'CKA_LABEL is too long');
    if (ckaIdHex(n.attrs).length > 2 * MAX_CKA_ID) throw new HsmError('ATTRIBUTE_VALUE_INVALID', 'CKA_ID is too long');
    const sealed = n.secret ? seal(this.keys(), n.partition, id, CKA.VALUE, n.secret) : null;
    const obj = new HsmObject(id, n.partition, n.owner, n.cls, n.attrs, n.session === undefined ? n.sharedWith ?? [] : [], sealed, Date.now(), n.managed ?? '', undefined, n.session);
    obj.material = n.material;
    return obj;
  }

  /** Stores a built object in `change` (a session object only in memory), cached once committed. */
  insert(change: Change, obj: HsmObject): HsmObject {
    if (obj.session !== undefined) {
      if (this.sessionObjects.size >= MAX_SESSION_OBJECTS) throw new HsmError('DEVICE_MEMORY', 'too many session objects');
      change.onCommit(() => this.sessionObjects.set(obj.id, obj));
      return obj;
    }
    const row = this.toRow(obj);
    const stored = this.withRow(obj, row);
    change.insert('objects', row).onCommit(() => { this.records.wrote('objects', row); this.cache.set(obj.id, stored); });
    for (const u of obj.sharedWith) change.put('object_shares', { object_id: obj.id, user_id: u, partition: obj.partition });
    return stored;
  }

  /** The next version of `obj` with changed attributes, share list or managed key, written in `change`. */
  replace(change: Change, obj: HsmObject, next: { attrs?: Map<number, AttrValue>; sharedWith?: string[]; managed?: string }): HsmObject {
    const updated = new HsmObject(obj.id, obj.partition, obj.owner, obj.cls, next.attrs ?? obj.attrs, next.sharedWith ?? obj.sharedWith,
      obj.sealed, obj.created, next.managed ?? obj.managed, obj.row, obj.session);
    updated.material = obj.material;
    if (obj.session !== undefined) {
      change.onCommit(() => this.sessionObjects.set(obj.id, updated));
      return updated;
    }
    if (!obj.row) throw new HsmError('INTERNAL', 'an object without its stored row cannot be replaced');
    const row = this.toRow(updated, obj.row);
    const stored = this.withRow(updated, row);
    change.update('objects', row, obj.row);
    const before = new Set(obj.sharedWith);
    const after = new Set(stored.sharedWith);
    for (const u of after) if (!before.has(u)) change.put('object_shares', { object_id: obj.id, user_id: u, partition: obj.partition });
    for (const u of before) if (!after.has(u)) change.remove('object_shares', { object_id: obj.id, user_id: u });
    change.onCommit(() => { this.records.wrote('objects', row); this.cache.set(obj.id, stored); });
    return stored;
  }

  delete(change: Change, obj: HsmObject): void {
    if (obj.session !== undefined) { change.onCommit(() => this.sessionObjects.delete(obj.id)); return; }
    if (!obj.row) throw new HsmError('INTERNAL', 'an object without its stored row cannot be deleted');
    change.delete('objects', obj.row);
    for (const u of obj.sharedWith) change.remove('object_shares', { object_id: obj.id, user_id: u });
    change.onCommit(() => this.cache.delete(obj.id));
  }

  async get(id: string): Promise<HsmObject | undefined> {
    if (typeof id !== 'string' || id.length > 128) return undefined;
    const session = this.sessionObjects.get(id);
    if (session) return session;
    const cached = this.cache.get(id);
    if (cached) return cached;
    const row = await this.records.get('objects', id);
    return row && this.adopt(row);
  }

  // --- indexed lookups (token objects from the store, session objects from memory) ------------

  async byLabel(partition: string, label: string, onCorrupt?: (id: string) => void): Promise<HsmObject[]> {
    if (Buffer.byteLength(label) > MAX_LABEL) return [];
    return this.lookup({ partition, label }, (o) => o.partition === partition && o.label === label, onCorrupt);
  }

  /** Objects labelled `label` owned by one of `owners`: one index range per owner, so objects
   *  of other users with the same label cost nothing. */
  async byLabelOwned(partition: string, label: string, owners: readonly string[], onCorrupt?: (id: string) => void): Promise<HsmObject[]> {
    if (Buffer.byteLength(label) > MAX_LABEL) return [];
    const out: HsmObject[] = [];
    for (const owner of new Set(owners)) {
      out.push(...await this.lookup({ partition, owner, label }, (o) => o.partition === partition && o.owner === owner && o.label === label, onCorrupt));
    }
    return out;
  }

  async byCkaId(partition: string, ckaId: Buffer, onCorrupt?: (id: string) => void): Promise<HsmObject[]> {
    if (ckaId.length > MAX_CKA_ID) return [];
    const hex = ckaId.toString('hex');
    return this.lookup({ partition, ck_id: hex }, (o) => o.partition === partition && ckaIdHex(o.attrs) === hex, onCorrupt);
  }

  async byClass(partition: string, cls: number, onCorrupt?: (id: string) => void): Promise<HsmObject[]> {
    return this.lookup({ partition, cls }, (o) => o.partition === partition && o.cls === cls, onCorrupt);
  }

  async byOwner(partition: string, owner: string, onCorrupt?: (id: string) => void): Promise<HsmObject[]> {
    return this.lookup({ partition, owner }, (o) => o.partition === partition && o.owner === owner, onCorrupt);
  }

  async byManaged(partition: string, managed: string): Promise<HsmObject[]> {
    return this.lookup({ partition, managed }, (o) => o.partition === partition && o.managed === managed);
  }

  /** Token objects shared with `userId` (the index is only a hint: the object's MACed share list decides). */
  async sharedWith(partition: string, userId: string, onCorrupt?: (id: string) => void): Promise<HsmObject[]> {
    const out: HsmObject[] = [];
    for (const s of await this.records.store.findPlain('object_shares', { user_id: userId })) {
      if (s.partition !== partition) continue;
      const o = await this.get(String(s.object_id)).catch((err) => { if (err instanceof HsmError && err.code === 'STORE_CORRUPT') { onCorrupt?.(String(s.object_id)); return undefined; } throw err; });
      if (o && o.sharedWith.includes(userId)) out.push(o);
    }
    return out;
  }

  // --- paged listings (admin key list): one keyset page at a time, nothing cached ------------

  /** Token objects of one owner, ids after `after`, at most `limit` rows read. Listed objects are not
   *  put in the cache: a listing must not push the keys in use out of it. */
  async ownedPage(partition: string, owner: string, after: string | undefined, limit: number,
    onCorrupt?: (id: string) => void): Promise<{ objects: HsmObject[]; last?: string; done: boolean }> {
    const page = await this.records.page('objects', { partition, owner }, after, limit, onCorrupt);
    const objects = page.rows.map((row) => {
      const cached = this.cache.get(row.id);
      return cached && cached.version === row.version ? cached : this.adopt(row, false);
    });
    return { objects, last: page.last, done: page.done };
  }

  /** Token objects shared with `userId`, by object id after `after` (the share index holds at most
   *  the store's find cap per user; the object's MACed share list decides). */
  async sharedPage(partition: string, userId: string, after: string | undefined, limit: number,
    onCorrupt?: (id: string) => void): Promise<{ objects: HsmObject[]; last?: string; done: boolean }> {
    const ids = (await this.records.store.findPlain('object_shares', { user_id: userId }))
      .filter((s) => s.partition === partition).map((s) => String(s.object_id))
      .filter((id) => after === undefined || id > after).sort();
    const take = ids.slice(0, limit);
    const objects: HsmObject[] = [];
    for (const id of take) {
      const o = await this.get(id).catch((err) => { if (err instanceof HsmError && err.code === 'STORE_CORRUPT') { onCorrupt?.(id); return undefined; } throw err; });
      if (o && o.sharedWith.includes(userId)) objects.push(o);
    }
    return { objects, last: take.length ? take[take.length - 1] : after, done: ids.length <= limit };
  }

  /** Session objects of `owners` in `partition` (memory only, bounded by MAX_SESSION_OBJECTS), by id. */
  sessionPage(partition: string, owners: readonly string[], after: string | undefined, limit: number): { objects: HsmObject[]; last?: string; done: boolean } {
    const all = [...this.sessionObjects.values()]
      .filter((o) => o.partition === partition && owners.includes(o.owner) && (after === undefined || o.id > after))
      .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    const objects = all.slice(0, limit);
    return { objects, last: objects.length ? objects[objects.length - 1].id : after, done: all.length <= limit };
  }

  /** The key that MACs listing cursors (list-cursor.ts); exists only while unsealed. */
  cursorKey(): Buffer { return this.keys().derive('list-cursor'); }

  countOwned(partition: string, owner: string): Promise<number> {
    return this.records.store.count('objects', { partition, owner });
  }

  countPartition(partition: string): Promise<number> {
    return this.records.store.count('objects', { partition });
  }

  private async lookup(where: Record<string, string | number>, matches: (o: HsmObject) => boolean, onCorrupt?: (id: string) => void): Promise<HsmObject[]> {
    const out: HsmObject[] = [];
    for await (const row of this.records.all('objects', where, onCorrupt)) {
      const cached = this.cache.get(row.id);
      out.push(cached && cached.version === row.version ? cached : this.adopt(row));
    }
    for (const o of this.sessionObjects.values()) if (matches(o)) out.push(o);
    return out;
  }

  /** PKCS#11 §5.6: closing a session destroys its session objects. */
  dropSession(session: string): void {
    for (const [id, obj] of this.sessionObjects) if (obj.session === session) this.sessionObjects.delete(id);
  }

  /** Sealing drops every unsealed key from memory. */
  clear(): void {
    this.cache.clear();
    for (const o of this.sessionObjects.values()) o.material = undefined;
    this.sessionObjects.clear();
  }

  /** The secret value (raw secret key, PKCS#8 private key, data object value), unsealed. */
  secretValue(obj: HsmObject): Buffer {
    if (!obj.sealed) throw new HsmError('ATTRIBUTE_TYPE_INVALID', 'the object has no secret value');
    return unseal(this.keys(), obj.partition, obj.id, CKA.VALUE, obj.sealed);
  }

  material(obj: HsmObject): KeyMaterial {
    this.keys(); // a sealed module refuses, even for an object a face still holds
    if (obj.material) return obj.material;
    const keyType = obj.keyType!;
    let material: KeyMaterial;
    if (obj.cls === CKO.SECRET_KEY) {
      const value = this.secretValue(obj);
      material = { keyType, secret: c.secretKey(value), size: value.length };
      value.fill(0);
    } else if (obj.cls === CKO.PRIVATE_KEY) {
      const der = this.secretValue(obj);
      material = describe(keyType, c.privateKeyFromDer(der));
      der.fill(0);
    } else if (obj.cls === CKO.PUBLIC_KEY) {
      material = describe(keyType, c.publicKeyFromDer(obj.attrs.get(CKA.PUBLIC_KEY_INFO) as Buffer));
    } else {
      throw new HsmError('KEY_TYPE_INCONSISTENT', 'the object is not a key');
    }
    if (!SYMMETRIC.has(keyType) && material.keyType !== keyType) throw new HsmError('STORE_CORRUPT');
    obj.material = material;
    return material;
  }

  private toRow(obj: HsmObject, old?: RecordRow): RecordRow {
    return this.records.make('objects', {
      id: obj.id, partition: obj.partition, created: obj.created,
      cols: { owner: obj.owner, cls: obj.cls, label: obj.label, ck_id: ckaIdHex(obj.attrs), managed: obj.managed },
      data: JSON.stringify({ attrs: JSON.parse(encodeAttrs(obj.attrs)), sharedWith: obj.sharedWith }), sealed: obj.sealed,
    }, old);
  }

  private withRow(obj: HsmObject, row: RecordRow): HsmObject {
    const o = new HsmObject(obj.id, obj.partition, obj.owner, obj.cls, obj.attrs, obj.sharedWith, obj.sealed, obj.created, obj.managed, row, obj.session);
    o.material = obj.material;
    return o;
  }

  /** A checked row as an object, cached unless `cache` is false. */
  private adopt(row: RecordRow, cache = true): HsmObject {
    let data: { attrs: Record<string, unknown>; sharedWith: string[] };
    try { data = JSON.parse(row.data); } catch { throw new HsmError('STORE_CORRUPT', `stored object ${row.id} is unreadable`); }
    const attrs = decodeAttrs(JSON.stringify(data.attrs));
    if (attrs.get(CKA.CLASS) !== row.cols.cls || !Array.isArray(data.sharedWith)) throw new HsmError('STORE_CORRUPT', `stored object ${row.id} is inconsistent`);
    const obj = new HsmObject(row.id, row.partition, String(row.cols.owner), Number(row.cols.cls), attrs, data.sharedWith, row.sealed, row.created,
      String(row.cols.managed), row);
    if (cache) this.cache.set(obj.id, obj);
    return obj;
  }
}

const SYMMETRIC = new Set<number>([CKK.AES, CKK.GENERIC_SECRET, CKK.DES, CKK.DES3]);
