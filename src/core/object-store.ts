// Objects in and out of the untrusted store: seals the secret value, MACs every row, checks
// both on the way back, keeps unsealed objects cached, and holds session objects in memory only.
import * as c from '../crypto/node-crypto';
import { CKA, CKK, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { checkObject, DomainKeys, macObject, seal, unseal } from '../keystore/seal';
import type { KeyStore, ObjectRow } from '../keystore/types';
import { describe } from '../mechanisms/key-types';
import type { KeyMaterial } from '../mechanisms/types';
import { HsmObject } from './hsm-object';
import { decodeAttrs, encodeAttrs } from './policy/attributes';

export class ObjectStore {
  private readonly cache = new Map<string, HsmObject>();
  private readonly sessionObjects = new Map<string, HsmObject>();

  constructor(private readonly store: KeyStore, private readonly keys: () => DomainKeys) {}

  /** Seals `secret` (if any) under the object's id and stores the object, or keeps it in memory if it is a session object. */
  async insert(obj: HsmObject, secret?: Buffer): Promise<void> {
    if (secret) obj.sealed = seal(this.keys(), obj.partition, obj.id, CKA.VALUE, secret);
    if (obj.session !== undefined) {
      this.sessionObjects.set(obj.id, obj);
      return;
    }
    await this.store.insertObject(this.toRow(obj));
    this.cache.set(obj.id, obj);
  }

  /** Writes changed attributes or sharing; the version check turns a concurrent change into STORE_CONFLICT. */
  async update(obj: HsmObject): Promise<void> {
    if (obj.session !== undefined) return;
    const expected = obj.version;
    obj.version += 1;
    try {
      await this.store.updateObject(this.toRow(obj), expected);
    } catch (err) {
      obj.version = expected;
      this.cache.delete(obj.id);
      throw err;
    }
  }

  async get(id: string): Promise<HsmObject | undefined> {
    const session = this.sessionObjects.get(id);
    if (session) return session;
    const cached = this.cache.get(id);
    if (cached) return cached;
    const row = await this.store.getObject(id);
    if (!row) return undefined;
    const obj = this.fromRow(row);
    this.cache.set(id, obj);
    return obj;
  }

  /** Every object of a partition; rows that fail their integrity check are skipped and reported. */
  async list(partition: string, onCorrupt?: (id: string) => void): Promise<HsmObject[]> {
    const out: HsmObject[] = [];
    for (const row of await this.store.listObjects(partition)) {
      const cached = this.cache.get(row.id);
      if (cached && cached.version === row.version) { out.push(cached); continue; }
      try {
        const obj = this.fromRow(row);
        this.cache.set(obj.id, obj);
        out.push(obj);
      } catch (err) {
        if (err instanceof HsmError && err.code === 'STORE_CORRUPT') onCorrupt?.(row.id); else throw err;
      }
    }
    for (const obj of this.sessionObjects.values()) if (obj.partition === partition) out.push(obj);
    return out;
  }

  async delete(obj: HsmObject): Promise<void> {
    if (obj.session !== undefined) { this.sessionObjects.delete(obj.id); return; }
    await this.store.deleteObject(obj.id);
    this.cache.delete(obj.id);
  }

  /** PKCS#11 §5.6: closing a session destroys its session objects. */
  dropSession(session: string): void {
    for (const [id, obj] of this.sessionObjects) if (obj.session === session) this.sessionObjects.delete(id);
  }

  /** Sealing drops every unsealed key from memory. */
  clear(): void {
    for (const obj of this.cache.values()) obj.material = undefined;
    this.cache.clear();
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
    if (keyType !== CKK.AES && keyType !== CKK.GENERIC_SECRET && material.keyType !== keyType) throw new HsmError('STORE_CORRUPT');
    obj.material = material;
    return material;
  }

  private toRow(obj: HsmObject): ObjectRow {
    return macObject(this.keys(), {
      id: obj.id, partition: obj.partition, owner: obj.owner, cls: obj.cls, label: obj.label,
      attrs: encodeAttrs(obj.attrs), sealed: obj.sealed, sharedWith: JSON.stringify(obj.sharedWith),
      version: obj.version, created: obj.created,
    });
  }

  private fromRow(row: ObjectRow): HsmObject {
    checkObject(this.keys(), row);
    const attrs = decodeAttrs(row.attrs);
    if (attrs.get(CKA.CLASS) !== row.cls) throw new HsmError('STORE_CORRUPT', `stored object ${row.id} is inconsistent`);
    return new HsmObject(row.id, row.partition, row.owner, row.cls, attrs, JSON.parse(row.sharedWith) as string[],
      row.sealed, row.version, row.created);
  }
}
