// Key and object lifecycle: generation, creation/import, lookup, attribute reads and
// changes, sharing, export and destruction. Authorisation goes through policy/gate.ts.
import * as c from '../crypto/node-crypto';
import { CKA, CKK, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { mechanism } from '../mechanisms/registry';
import { publicAttributes } from '../mechanisms/key-types';
import type { KeyMaterial } from '../mechanisms/types';
import { HsmObject } from './hsm-object';
import { ObjectStore } from './object-store';
import { AttrValue, rulesFor } from './policy/attributes';
import { checkManage, checkVisible, canSee, requireRole } from './policy/gate';
import type { Caller } from './principal';
import { applyChanges, buildAttributes, markOrigin, Template } from './templates';
import { materialOf, parseKey, privateKeyFromComponents, publicKeyFromAttributes, takeSecretComponents } from './key-material';

export const DEFAULT_PARTITION = 'default';
export type AttrRead = { value: AttrValue } | { error: 'sensitive' | 'invalid' };
export type EventSink = (event: { caller: Caller; op: string; objectId?: string; detail?: string }) => void;

export class KeyService {
  constructor(private readonly objects: ObjectStore, private readonly emit: EventSink = () => {}) {}

  private newObject(caller: Caller, attrs: Map<number, AttrValue>): HsmObject {
    const session = attrs.get(CKA.TOKEN) === true ? undefined : caller.session ?? undefined;
    // Faces without sessions (admin API, KMS) only make token objects.
    if (caller.session === undefined) attrs.set(CKA.TOKEN, true);
    return new HsmObject(c.randomUuid(), DEFAULT_PARTITION, caller.principal.id, attrs.get(CKA.CLASS) as number,
      attrs, [], null, 1, Date.now(), session);
  }

  /** C_GenerateKey: a secret key from a key-generation mechanism and a template. */
  async generateKey(caller: Caller, mechType: number, template: Template): Promise<HsmObject> {
    requireRole(caller.principal, 'key.create');
    const mech = mechanism(mechType);
    if (!mech.generate || mech.keyTypes.length !== 1) throw new HsmError('MECHANISM_INVALID', `${mech.name} does not generate secret keys`);
    const attrs = buildAttributes(CKO.SECRET_KEY, mech.keyTypes[0], template);
    if (attrs.has(CKA.VALUE)) throw new HsmError('TEMPLATE_INCONSISTENT', 'CKA_VALUE cannot be given when generating');
    const gen = await mech.generate({ valueLen: attrs.get(CKA.VALUE_LEN) as number | undefined });
    if (gen.kind !== 'secret') throw new HsmError('INTERNAL');
    attrs.set(CKA.VALUE_LEN, gen.value.length);
    markOrigin(attrs, true, mechType);
    const obj = this.newObject(caller, attrs);
    obj.material = gen.material;
    await this.objects.insert(obj, gen.value);
    gen.value.fill(0);
    this.emit({ caller, op: 'key.generate', objectId: obj.id, detail: mech.name });
    return obj;
  }

  /** C_GenerateKeyPair. Both halves share CKA_ID and CKA_LABEL unless the templates say otherwise. */
  async generateKeyPair(caller: Caller, mechType: number, pubTemplate: Template, privTemplate: Template): Promise<{ publicKey: HsmObject; privateKey: HsmObject }> {
    requireRole(caller.principal, 'key.create');
    const mech = mechanism(mechType);
    if (!mech.generate || mech.keyTypes.length !== 1) throw new HsmError('MECHANISM_INVALID', `${mech.name} does not generate key pairs`);
    const keyType = mech.keyTypes[0];
    const pubAttrs = buildAttributes(CKO.PUBLIC_KEY, keyType, pubTemplate);
    const privAttrs = buildAttributes(CKO.PRIVATE_KEY, keyType, privTemplate);
    for (const t of [CKA.MODULUS, CKA.EC_POINT]) if (pubTemplate.has(t)) throw new HsmError('TEMPLATE_INCONSISTENT', 'key values cannot be given when generating');
    const gen = await mech.generate({
      modulusBits: pubAttrs.get(CKA.MODULUS_BITS) as number | undefined,
      publicExponent: pubAttrs.get(CKA.PUBLIC_EXPONENT) as Buffer | undefined,
      ecParams: (pubAttrs.get(CKA.EC_PARAMS) ?? privAttrs.get(CKA.EC_PARAMS)) as Buffer | undefined,
    });
    if (gen.kind !== 'pair') throw new HsmError('INTERNAL');
    for (const [t, v] of publicAttributes(gen.material)) {
      pubAttrs.set(t, v);
      if (t !== CKA.EC_POINT && t !== CKA.MODULUS_BITS) privAttrs.set(t, v);
    }
    linkPair(pubAttrs, privAttrs, pubTemplate, privTemplate);
    markOrigin(pubAttrs, true, mechType);
    markOrigin(privAttrs, true, mechType);
    const publicKey = this.newObject(caller, pubAttrs);
    const privateKey = this.newObject(caller, privAttrs);
    publicKey.material = { ...gen.material, privateKey: undefined };
    privateKey.material = gen.material;
    const pkcs8 = c.exportPkcs8(gen.material.privateKey!);
    await this.objects.insert(privateKey, pkcs8);
    pkcs8.fill(0);
    try {
      await this.objects.insert(publicKey);
    } catch (err) {
      await this.objects.delete(privateKey);
      throw err;
    }
    this.emit({ caller, op: 'key.generate', objectId: privateKey.id, detail: mech.name });
    return { publicKey, privateKey };
  }

  /** C_CreateObject: data, certificate and key objects from a full template (key values included). */
  async createObject(caller: Caller, template: Template): Promise<HsmObject> {
    requireRole(caller.principal, 'key.create');
    const cls = template.get(CKA.CLASS);
    if (typeof cls !== 'number') throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_CLASS is required');
    const keyType = template.get(CKA.KEY_TYPE) as number | undefined;
    const isKey = cls === CKO.PUBLIC_KEY || cls === CKO.PRIVATE_KEY || cls === CKO.SECRET_KEY;
    if (isKey && keyType === undefined) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_KEY_TYPE is required');
    if (cls === CKO.CERTIFICATE && !template.has(CKA.VALUE)) throw new HsmError('TEMPLATE_INCOMPLETE', 'a certificate needs CKA_VALUE');
    const attrs = buildAttributes(cls, isKey ? keyType : undefined, template);
    const secret = takeSecretComponents(attrs);
    let sealedValue: Buffer | undefined;
    let material: KeyMaterial | undefined;
    if (cls === CKO.SECRET_KEY) {
      sealedValue = secret.get(CKA.VALUE);
      if (!sealedValue) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_VALUE is required');
      checkSecretLength(keyType!, sealedValue.length);
      attrs.set(CKA.VALUE_LEN, sealedValue.length);
      material = { keyType: keyType!, secret: c.secretKey(sealedValue), size: sealedValue.length };
    } else if (cls === CKO.PRIVATE_KEY) {
      const key = privateKeyFromComponents(keyType!, attrs, secret);
      material = materialOf(keyType!, key);
      for (const [t, v] of publicAttributes(material)) if (t !== CKA.EC_POINT && t !== CKA.MODULUS_BITS) attrs.set(t, v);
      sealedValue = c.exportPkcs8(key);
    } else if (cls === CKO.PUBLIC_KEY) {
      material = materialOf(keyType!, publicKeyFromAttributes(keyType!, attrs));
      for (const [t, v] of publicAttributes(material)) attrs.set(t, v);
    } else if (cls === CKO.DATA) {
      sealedValue = secret.get(CKA.VALUE) ?? Buffer.alloc(0);
    } else if (cls === CKO.CERTIFICATE) {
      attrs.set(CKA.VALUE, template.get(CKA.VALUE)!);
    }
    if (material && material.keyType !== CKK.AES && material.keyType !== CKK.GENERIC_SECRET) checkAsymmetricSize(material);
    markOrigin(attrs, false);
    const obj = this.newObject(caller, attrs);
    obj.material = material;
    await this.objects.insert(obj, sealedValue);
    this.emit({ caller, op: isKey ? 'key.import' : 'object.create', objectId: obj.id });
    return obj;
  }

  /** `inkan key import`: a PEM/DER private or public key, or raw AES / HMAC key bytes. */
  async importKey(caller: Caller, data: Buffer, format: 'key' | 'aes' | 'secret', template: Template): Promise<HsmObject> {
    if (format !== 'key') {
      const t = new Map(template);
      t.set(CKA.CLASS, CKO.SECRET_KEY);
      t.set(CKA.KEY_TYPE, format === 'aes' ? CKK.AES : CKK.GENERIC_SECRET);
      t.set(CKA.VALUE, data);
      return this.createObject(caller, t);
    }
    const { cls, key, keyType } = parseKey(data);
    const material = materialOf(keyType, key);
    const t = new Map(template);
    t.set(CKA.CLASS, cls);
    t.set(CKA.KEY_TYPE, keyType);
    const attrs = buildAttributes(cls, keyType, t);
    for (const [type, v] of publicAttributes(material)) {
      if (cls === CKO.PUBLIC_KEY || (type !== CKA.EC_POINT && type !== CKA.MODULUS_BITS)) attrs.set(type, v);
    }
    checkAsymmetricSize(material);
    markOrigin(attrs, false);
    const obj = this.newObject(caller, attrs);
    obj.material = material;
    const pkcs8 = cls === CKO.PRIVATE_KEY ? c.exportPkcs8(key) : undefined;
    await this.objects.insert(obj, pkcs8);
    pkcs8?.fill(0);
    this.emit({ caller, op: 'key.import', objectId: obj.id });
    return obj;
  }

  /** Visible objects whose attributes equal every entry of `filter` (C_FindObjects semantics, §5.7). */
  async find(caller: Caller, filter: Template = new Map()): Promise<HsmObject[]> {
    requireRole(caller.principal, 'key.list');
    // A row failing its integrity check is skipped, and the server log says so (docs/sealing.md).
    const all = await this.objects.list(DEFAULT_PARTITION, (id) => this.emit({ caller, op: 'store.corrupt-row-skipped', objectId: id }));
    return all.filter((o) => canSee(caller, o) && matches(o, filter));
  }

  async get(caller: Caller, id: string): Promise<HsmObject> {
    return checkVisible(caller, await this.objects.get(id));
  }

  /** A key named by id or label; `prefer` orders object classes when a label names a pair. */
  async resolve(caller: Caller, ref: string, prefer: number[] = [CKO.PRIVATE_KEY, CKO.SECRET_KEY, CKO.PUBLIC_KEY]): Promise<HsmObject> {
    requireRole(caller.principal, 'key.list');
    const byId = await this.objects.get(ref);
    if (byId && canSee(caller, byId)) return byId;
    const named = (await this.find(caller)).filter((o) => o.label === ref);
    for (const cls of prefer) {
      const hits = named.filter((o) => o.cls === cls);
      if (hits.length > 1) throw new HsmError('KEY_AMBIGUOUS');
      if (hits.length === 1) return hits[0];
    }
    throw new HsmError('KEY_NOT_FOUND', `no key named ${JSON.stringify(ref.slice(0, 128))}`);
  }

  async destroy(caller: Caller, obj: HsmObject): Promise<void> {
    checkManage(caller, obj);
    if (!obj.bool(CKA.DESTROYABLE) && obj.attrs.get(CKA.DESTROYABLE) !== undefined) throw new HsmError('OBJECT_NOT_DESTROYABLE');
    await this.objects.delete(obj);
    this.emit({ caller, op: 'key.delete', objectId: obj.id });
  }

  async setAttributes(caller: Caller, obj: HsmObject, changes: Template): Promise<void> {
    checkManage(caller, obj);
    const next = new Map(obj.attrs);
    applyChanges(obj.cls, obj.isKey ? obj.keyType : undefined, next, changes);
    const before = new Map(obj.attrs);
    for (const [t, v] of next) obj.attrs.set(t, v);
    try {
      await this.objects.update(obj);
    } catch (err) {
      obj.attrs.clear();
      for (const [t, v] of before) obj.attrs.set(t, v);
      throw err;
    }
    this.emit({ caller, op: 'key.set-attributes', objectId: obj.id });
  }

  /** Module-internal change of an attribute templates may not set (e.g. CKA_INKAN_KEY_STATE, set by the
   *  KMS key service). Only the owner's requests reach here; the rule must exist for the object's class. */
  async setModuleAttribute(caller: Caller, obj: HsmObject, type: number, value: AttrValue): Promise<void> {
    checkManage(caller, obj);
    const rule = rulesFor(obj.cls, obj.isKey ? obj.keyType : undefined)?.get(type);
    if (!rule || rule.settable) throw new HsmError('INTERNAL', 'not a module-set attribute');
    const before = obj.attrs.get(type);
    obj.attrs.set(type, value);
    try {
      await this.objects.update(obj);
    } catch (err) {
      if (before === undefined) obj.attrs.delete(type); else obj.attrs.set(type, before);
      throw err;
    }
    this.emit({ caller, op: 'key.set-attributes', objectId: obj.id, detail: 'module' });
  }

  /** C_GetAttributeValue per attribute: a value, or why not (§5.7: sensitive / invalid). */
  readAttributes(caller: Caller, obj: HsmObject, types: number[]): Map<number, AttrRead> {
    checkVisible(caller, obj);
    const rules = rulesFor(obj.cls, obj.isKey ? obj.keyType : undefined)!;
    const out = new Map<number, AttrRead>();
    for (const t of types) out.set(t, this.readOne(obj, rules.get(t)?.secret === true, t));
    return out;
  }

  private readOne(obj: HsmObject, secret: boolean, type: number): AttrRead {
    const rule = rulesFor(obj.cls, obj.isKey ? obj.keyType : undefined)!.get(type);
    if (!rule) return { error: 'invalid' };
    if (!secret && !(obj.cls === CKO.DATA && type === CKA.VALUE)) {
      const v = obj.attrs.get(type);
      return v === undefined ? { error: 'invalid' } : { value: v };
    }
    if (obj.cls !== CKO.DATA && (obj.bool(CKA.SENSITIVE) || !obj.bool(CKA.EXTRACTABLE))) return { error: 'sensitive' };
    const value = this.objects.secretValue(obj);
    if (obj.cls === CKO.DATA || obj.cls === CKO.SECRET_KEY) return { value };
    return { error: 'sensitive' }; // private components are only exported as PKCS#8 through exportKey
  }

  async share(caller: Caller, obj: HsmObject, userId: string, add: boolean): Promise<void> {
    checkManage(caller, obj);
    if (userId === obj.owner) throw new HsmError('BAD_REQUEST', 'the owner already has the key');
    // Sharing a key pair shares both halves: the other user needs the public half to verify or encrypt.
    for (const o of [obj, ...await this.partners(obj)]) {
      const next = add ? [...new Set([...o.sharedWith, userId])] : o.sharedWith.filter((u) => u !== userId);
      const before = o.sharedWith;
      o.sharedWith = next;
      try { await this.objects.update(o); } catch (err) { o.sharedWith = before; throw err; }
    }
    this.emit({ caller, op: add ? 'key.share' : 'key.unshare', objectId: obj.id, detail: userId });
  }

  /** The other half of a key pair: same owner, the opposite class, the same public key. */
  private async partners(obj: HsmObject): Promise<HsmObject[]> {
    const spki = obj.attrs.get(CKA.PUBLIC_KEY_INFO);
    if (!Buffer.isBuffer(spki) || (obj.cls !== CKO.PRIVATE_KEY && obj.cls !== CKO.PUBLIC_KEY)) return [];
    const other = obj.cls === CKO.PRIVATE_KEY ? CKO.PUBLIC_KEY : CKO.PRIVATE_KEY;
    return (await this.objects.list(obj.partition)).filter((o) => o.owner === obj.owner && o.cls === other
      && o.session === undefined && Buffer.isBuffer(o.attrs.get(CKA.PUBLIC_KEY_INFO)) && (o.attrs.get(CKA.PUBLIC_KEY_INFO) as Buffer).equals(spki));
  }

  /** SPKI DER of an asymmetric key (public information; any caller who can see the key). */
  exportPublic(caller: Caller, obj: HsmObject): Buffer {
    checkVisible(caller, obj);
    const spki = obj.attrs.get(CKA.PUBLIC_KEY_INFO);
    if (!Buffer.isBuffer(spki)) throw new HsmError('KEY_TYPE_INCONSISTENT', 'the object has no public key');
    return spki;
  }

  /** Plaintext export: only for the owner, only if CKA_EXTRACTABLE and not CKA_SENSITIVE (§4.9). */
  async exportKey(caller: Caller, obj: HsmObject): Promise<{ format: 'raw' | 'pkcs8'; data: Buffer }> {
    checkManage(caller, obj);
    if (obj.cls !== CKO.SECRET_KEY && obj.cls !== CKO.PRIVATE_KEY) throw new HsmError('KEY_TYPE_INCONSISTENT');
    if (!obj.bool(CKA.EXTRACTABLE)) throw new HsmError('KEY_UNEXTRACTABLE');
    if (obj.bool(CKA.SENSITIVE)) throw new HsmError('ATTRIBUTE_SENSITIVE', 'the key is sensitive: wrap it instead');
    this.emit({ caller, op: 'key.export', objectId: obj.id });
    return { format: obj.cls === CKO.SECRET_KEY ? 'raw' : 'pkcs8', data: this.objects.secretValue(obj) };
  }

  material(obj: HsmObject): KeyMaterial { return this.objects.material(obj); }
  wrappableValue(obj: HsmObject): Buffer { return this.objects.secretValue(obj); }
  dropSession(session: string): void { this.objects.dropSession(session); }
}

function linkPair(pub: Map<number, AttrValue>, priv: Map<number, AttrValue>, pubT: Template, privT: Template): void {
  for (const t of [CKA.ID, CKA.LABEL]) {
    if (!pubT.has(t) && privT.has(t)) pub.set(t, privT.get(t)!);
    if (!privT.has(t) && pubT.has(t)) priv.set(t, pubT.get(t)!);
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

function checkSecretLength(keyType: number, len: number): void {
  if (keyType === CKK.AES && ![16, 24, 32].includes(len)) throw new HsmError('KEY_SIZE_RANGE', 'AES keys are 16, 24 or 32 bytes');
  if (keyType === CKK.GENERIC_SECRET && (len < 1 || len > 512)) throw new HsmError('KEY_SIZE_RANGE');
}

function checkAsymmetricSize(m: KeyMaterial): void {
  if (m.keyType === CKK.RSA && (m.size < 2048 || m.size > 4096)) throw new HsmError('KEY_SIZE_RANGE', 'RSA keys must be 2048-4096 bits');
}
