// Key and object lifecycle: generation, creation/import, copy, attribute changes, sharing and
// destruction. Every entry point runs through Operations (gate, audit, one transaction); the
// `…In` methods do the same work inside another operation's Change (a managed key creating its
// versions, a rotation), so that composite operations stay one transaction.
import * as c from '../crypto/node-crypto';
import { CKA, CKK, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { checkKeySizeFor, mechanism, requireApprovedKey, requireApprovedUse } from '../mechanisms/registry';
import { publicAttributes } from '../mechanisms/key-types';
import type { KeyMaterial } from '../mechanisms/types';
import type { Change } from './change';
import type { HsmObject } from './hsm-object';
import type { ObjectStore } from './object-store';
import type { Operations } from './operation';
import { AttrValue } from './policy/attributes';
import type { Admitted, Gate } from './policy/gate';
import type { Caller } from './principal';
import type { Quotas } from './quotas';
import { applyChanges, buildAttributes, markOrigin, Template } from './templates';
import { materialOf, parseKey, privateKeyFromComponents, publicKeyFromAttributes, takeSecretComponents } from './key-material';
import type { KeyReads } from './key-reads';
import type { KeyLimits } from './key-limits';
import { checkScope, describeScope, scopedAttributes, type ShareScope } from './policy/key-limits';

export interface CreateOptions {
  /** The managed key the new object is a version of. */
  managed?: string;
  /** Refuse a label the owner already uses for an object of the same class (the admin face asks this). */
  uniqueLabel?: boolean;
  /** The system actor makes versions for a key's owner (scheduled rotation); ignored for anyone else. */
  owner?: string;
  /** Users the new object is shared with from the start (a rotation's new version). */
  sharedWith?: string[];
}

export class KeyService {
  /** Per-key authorisation and use limits (key-limits.ts), set by the module. */
  limits?: KeyLimits;

  constructor(private readonly objects: ObjectStore, private readonly gate: Gate, private readonly ops: Operations,
    private readonly quotas: Quotas, private readonly reads: KeyReads) {}

  /** C_GenerateKey: a secret key from a key-generation mechanism and a template. */
  generateKey(caller: Caller, mechType: number, template: Template, opts: CreateOptions = {}): Promise<HsmObject> {
    return this.ops.run(caller, 'key.generate', async (a, change, rec) => {
      const obj = await this.generateKeyIn(a, change, mechType, template, opts);
      rec.object = obj.id;
      rec.detail = mechanism(mechType).name;
      return obj;
    });
  }

  async generateKeyIn(a: Admitted, change: Change, mechType: number, template: Template, opts: CreateOptions = {}): Promise<HsmObject> {
    this.gate.authorize(a, 'key.create');
    const mech = mechanism(mechType);
    if (!mech.generate || mech.keyTypes.length !== 1) throw new HsmError('MECHANISM_INVALID', `${mech.name} does not generate secret keys`);
    const attrs = buildAttributes(CKO.SECRET_KEY, mech.keyTypes[0], template);
    if (attrs.has(CKA.VALUE)) throw new HsmError('TEMPLATE_INCONSISTENT', 'CKA_VALUE cannot be given when generating');
    const valueLen = attrs.get(CKA.VALUE_LEN) as number | undefined;
    requireApprovedUse(a.policy.approvedOnly, mech, 'generate', valueLen);
    await this.admitNew(a, attrs, opts);
    const gen = await mech.generate({ valueLen });
    if (gen.kind !== 'secret') throw new HsmError('INTERNAL');
    try {
      requireApprovedKey(a.policy.approvedOnly, gen.material.keyType, gen.material.size);
      attrs.set(CKA.VALUE_LEN, gen.value.length);
      if (!template.has(CKA.ID)) attrs.set(CKA.ID, c.randomBytes(16));
      markOrigin(attrs, true, mechType);
      return this.insert(change, this.objects.build({ ...this.owner(a, attrs, opts), cls: CKO.SECRET_KEY, attrs, secret: gen.value, material: gen.material, managed: opts.managed }));
    } finally { gen.value.fill(0); }
  }

  /** C_GenerateKeyPair. Both halves share CKA_ID and CKA_LABEL unless the templates say otherwise;
   *  with no CKA_ID at all, both get SHA-1 of the public key (what NSS and Java pair certificates by). */
  generateKeyPair(caller: Caller, mechType: number, pubTemplate: Template, privTemplate: Template, opts: CreateOptions = {}): Promise<{ publicKey: HsmObject; privateKey: HsmObject }> {
    return this.ops.run(caller, 'key.generate', async (a, change, rec) => {
      const pair = await this.generatePairIn(a, change, mechType, pubTemplate, privTemplate, opts);
      rec.object = pair.privateKey.id;
      rec.detail = `${mechanism(mechType).name}, public half ${pair.publicKey.id}`;
      return pair;
    });
  }

  async generatePairIn(a: Admitted, change: Change, mechType: number, pubTemplate: Template, privTemplate: Template, opts: CreateOptions = {}): Promise<{ publicKey: HsmObject; privateKey: HsmObject }> {
    this.gate.authorize(a, 'key.create');
    const mech = mechanism(mechType);
    if (!mech.generate || mech.keyTypes.length !== 1) throw new HsmError('MECHANISM_INVALID', `${mech.name} does not generate key pairs`);
    const keyType = mech.keyTypes[0];
    const pubAttrs = buildAttributes(CKO.PUBLIC_KEY, keyType, pubTemplate);
    const privAttrs = buildAttributes(CKO.PRIVATE_KEY, keyType, privTemplate);
    for (const t of [CKA.MODULUS, CKA.EC_POINT]) if (pubTemplate.has(t)) throw new HsmError('TEMPLATE_INCONSISTENT', 'key values cannot be given when generating');
    const modulusBits = pubAttrs.get(CKA.MODULUS_BITS) as number | undefined;
    requireApprovedUse(a.policy.approvedOnly, mech, 'generate', modulusBits);
    await this.admitNew(a, privAttrs, opts, 2);
    await this.limits?.prepareNew(CKO.PUBLIC_KEY, pubAttrs);
    const gen = await mech.generate({
      modulusBits,
      publicExponent: pubAttrs.get(CKA.PUBLIC_EXPONENT) as Buffer | undefined,
      ecParams: (pubAttrs.get(CKA.EC_PARAMS) ?? privAttrs.get(CKA.EC_PARAMS)) as Buffer | undefined,
    });
    if (gen.kind !== 'pair') throw new HsmError('INTERNAL');
    requireApprovedKey(a.policy.approvedOnly, gen.material.keyType, gen.material.size);
    for (const [t, v] of publicAttributes(gen.material)) {
      pubAttrs.set(t, v);
      if (t !== CKA.EC_POINT && t !== CKA.MODULUS_BITS) privAttrs.set(t, v);
    }
    linkPair(pubAttrs, privAttrs, pubTemplate, privTemplate);
    markOrigin(pubAttrs, true, mechType);
    markOrigin(privAttrs, true, mechType);
    const pkcs8 = c.exportPkcs8(gen.material.privateKey!);
    try {
      const privateKey = this.insert(change, this.objects.build({ ...this.owner(a, privAttrs, opts), cls: CKO.PRIVATE_KEY, attrs: privAttrs, secret: pkcs8, material: gen.material, managed: opts.managed }));
      const publicKey = this.insert(change, this.objects.build({ ...this.owner(a, pubAttrs, opts), cls: CKO.PUBLIC_KEY, attrs: pubAttrs,
        material: { ...gen.material, privateKey: undefined }, managed: opts.managed }));
      return { publicKey, privateKey };
    } finally { pkcs8.fill(0); }
  }

  /** C_CreateObject: data, certificate and key objects from a full template (key values included). */
  createObject(caller: Caller, template: Template, opts: CreateOptions = {}): Promise<HsmObject> {
    return this.ops.run(caller, 'object.create', async (a, change, rec) => {
      const obj = await this.createObjectIn(a, change, template, opts);
      rec.object = obj.id;
      rec.detail = obj.isKey ? 'key' : obj.cls === CKO.CERTIFICATE ? 'certificate' : 'data';
      return obj;
    });
  }

  async createObjectIn(a: Admitted, change: Change, template: Template, opts: CreateOptions = {}): Promise<HsmObject> {
    this.gate.authorize(a, 'key.create');
    const cls = template.get(CKA.CLASS);
    if (typeof cls !== 'number') throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_CLASS is required');
    const keyType = template.get(CKA.KEY_TYPE) as number | undefined;
    const isKey = cls === CKO.PUBLIC_KEY || cls === CKO.PRIVATE_KEY || cls === CKO.SECRET_KEY;
    if (isKey && keyType === undefined) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_KEY_TYPE is required');
    if (cls === CKO.CERTIFICATE && !template.has(CKA.VALUE)) throw new HsmError('TEMPLATE_INCOMPLETE', 'a certificate needs CKA_VALUE');
    const attrs = buildAttributes(cls, isKey ? keyType : undefined, template);
    await this.admitNew(a, attrs, opts);
    const secret = takeSecretComponents(attrs);
    let sealedValue: Buffer | undefined;
    let material: KeyMaterial | undefined;
    if (cls === CKO.SECRET_KEY) {
      sealedValue = secret.get(CKA.VALUE);
      if (!sealedValue) throw new HsmError('TEMPLATE_INCOMPLETE', 'CKA_VALUE is required');
      checkKeySizeFor(keyType!, sealedValue.length);
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
    if (material) {
      if (!SYMMETRIC.has(material.keyType)) checkKeySizeFor(material.keyType, material.size);
      requireApprovedKey(a.policy.approvedOnly, material.keyType, material.size);
    }
    markOrigin(attrs, false);
    return this.insert(change, this.objects.build({ ...this.owner(a, attrs, opts), cls, attrs, secret: sealedValue, material, managed: opts.managed }));
  }

  /** `inkan key import`: a PEM/DER private or public key, or raw AES / HMAC key bytes. */
  importKey(caller: Caller, data: Buffer, format: 'key' | 'aes' | 'secret', template: Template, opts: CreateOptions = {}): Promise<HsmObject> {
    return this.ops.run(caller, 'key.import', async (a, change, rec) => {
      const obj = await this.importKeyIn(a, change, data, format, template, opts);
      rec.object = obj.id;
      rec.detail = format;
      return obj;
    });
  }

  async importKeyIn(a: Admitted, change: Change, data: Buffer, format: 'key' | 'aes' | 'secret', template: Template, opts: CreateOptions = {}): Promise<HsmObject> {
    if (format !== 'key') {
      const t = new Map(template);
      t.set(CKA.CLASS, CKO.SECRET_KEY);
      t.set(CKA.KEY_TYPE, format === 'aes' ? CKK.AES : CKK.GENERIC_SECRET);
      t.set(CKA.VALUE, data);
      if (!t.has(CKA.ID)) t.set(CKA.ID, c.randomBytes(16));
      return this.createObjectIn(a, change, t, opts);
    }
    this.gate.authorize(a, 'key.create');
    const { cls, key, keyType } = parseKey(data);
    const material = materialOf(keyType, key);
    const t = new Map(template);
    t.set(CKA.CLASS, cls);
    t.set(CKA.KEY_TYPE, keyType);
    const attrs = buildAttributes(cls, keyType, t);
    for (const [type, v] of publicAttributes(material)) {
      if (cls === CKO.PUBLIC_KEY || (type !== CKA.EC_POINT && type !== CKA.MODULUS_BITS)) attrs.set(type, v);
    }
    if (!t.has(CKA.ID)) attrs.set(CKA.ID, defaultPairId(attrs));
    checkKeySizeFor(material.keyType, material.size);
    requireApprovedKey(a.policy.approvedOnly, material.keyType, material.size);
    await this.admitNew(a, attrs, opts);
    markOrigin(attrs, false);
    const pkcs8 = cls === CKO.PRIVATE_KEY ? c.exportPkcs8(key) : undefined;
    try {
      return this.insert(change, this.objects.build({ ...this.owner(a, attrs, opts), cls, attrs, secret: pkcs8, material, managed: opts.managed }));
    } finally { pkcs8?.fill(0); }
  }

  /** C_DestroyObject. `withPair` also destroys the other half of a key pair (the admin face's `key delete`). */
  destroy(caller: Caller, obj: HsmObject, opts: { withPair?: boolean } = {}): Promise<void> {
    return this.ops.run(caller, 'key.delete', async (a, change, rec) => {
      rec.object = obj.id;
      const current = await this.reads.current(a, obj);
      this.destroyIn(a, change, current);
      if (opts.withPair && current.cls === CKO.PRIVATE_KEY) {
        const halves = await this.reads.partners(current);
        for (const p of halves) this.destroyIn(a, change, p);
        if (halves.length) rec.detail = `with public half ${halves.map((h) => h.id).join(',')}`;
      }
    });
  }

  destroyIn(a: Admitted, change: Change, obj: HsmObject): void {
    this.gate.authorize(a, 'key.manage', { kind: 'object', object: obj });
    if (obj.attrs.get(CKA.DESTROYABLE) === false) throw new HsmError('OBJECT_NOT_DESTROYABLE');
    if (obj.managed && a.actor !== 'system') {
      throw new HsmError('KEY_STATE_INVALID', 'this object is a version of a managed key: schedule the key\'s deletion instead');
    }
    this.objects.delete(change, obj);
  }

  /** Module-internal: destroys a managed key's version objects (scheduled deletion, purge). */
  destroyVersionIn(change: Change, obj: HsmObject): void {
    this.objects.delete(change, obj);
  }

  setAttributes(caller: Caller, obj: HsmObject, changes: Template): Promise<HsmObject> {
    return this.ops.run(caller, 'key.set-attributes', async (a, change, rec) => {
      rec.object = obj.id;
      const current = await this.reads.current(a, obj);
      this.gate.authorize(a, 'key.manage', { kind: 'object', object: current });
      const next = new Map(current.attrs);
      applyChanges(current.cls, current.isKey ? current.keyType : undefined, next, changes);
      rec.detail = [...changes.keys()].map((t) => `0x${t.toString(16)}`).join(',').slice(0, 200);
      return this.objects.replace(change, current, { attrs: next });
    });
  }

  /** Sharing a key pair shares both halves: the other user needs the public half to verify or encrypt.
   *  Both rows change in one transaction. */
  share(caller: Caller, obj: HsmObject, userId: string, add: boolean, scope?: ShareScope): Promise<HsmObject> {
    return this.ops.run(caller, add ? 'key.share' : 'key.unshare', async (a, change, rec) => {
      rec.object = obj.id;
      const checked = add ? checkScope(scope) : undefined;
      rec.detail = `${add ? 'with' : 'from'} ${userId}${checked ? ` for ${describeScope(checked)}` : ''}`;
      const current = await this.reads.current(a, obj);
      return (await this.shareIn(a, change, current, userId, add, checked))[0];
    });
  }

  /** `scope`: what the share allows (policy/key-limits.ts); sharing again replaces it, unsharing drops it. */
  async shareIn(a: Admitted, change: Change, obj: HsmObject, userId: string, add: boolean, scope?: ShareScope): Promise<HsmObject[]> {
    this.gate.authorize(a, 'key.share', { kind: 'object', object: obj });
    if (userId === obj.owner) throw new HsmError('BAD_REQUEST', 'the owner already has the key');
    const out: HsmObject[] = [];
    for (const o of [obj, ...await this.reads.partners(obj)]) {
      const next = add ? [...new Set([...o.sharedWith, userId])] : o.sharedWith.filter((u) => u !== userId);
      const attrs = scopedAttributes(o, userId, add ? scope : undefined);
      out.push(this.objects.replace(change, o, { sharedWith: next, ...(attrs ? { attrs } : {}) }));
    }
    return out;
  }

  /** C_CopyObject (PKCS#11 2.40 §5.7): a copy with the template's changes, only where attributes may
   *  change; CKA_COPYABLE false refuses; a sensitive key stays sensitive (the change rules enforce it). */
  copyObject(caller: Caller, obj: HsmObject, template: Template): Promise<HsmObject> {
    return this.ops.run(caller, 'object.copy', async (a, change, rec) => {
      const current = await this.reads.current(a, obj);
      this.gate.authorize(a, 'key.use', { kind: 'object', object: current });
      if (current.attrs.get(CKA.COPYABLE) === false) throw new HsmError('ACTION_PROHIBITED', 'the object is not copyable (CKA_COPYABLE false)');
      if (current.managed) throw new HsmError('ACTION_PROHIBITED', 'versions of managed keys are not copied');
      this.limits?.refuseCopy(current);
      const attrs = new Map(current.attrs);
      applyChanges(current.cls, current.isKey ? current.keyType : undefined, attrs, template, { copy: true });
      // A copy is a new key: a legacy key made before the partition went approved-only is not multiplied.
      if (current.isKey) {
        const m = this.objects.material(current);
        requireApprovedKey(a.policy.approvedOnly, m.keyType, m.size);
      }
      await this.admitNew(a, attrs, {});
      // A data object's CKA_VALUE may change in the copy (its rule allows it); it is sealed like the original's.
      const given = takeSecretComponents(attrs).get(CKA.VALUE);
      const secret = given ? Buffer.from(given) : current.sealed ? this.objects.secretValue(current) : undefined;
      try {
        const copy = this.insert(change, this.objects.build({ ...this.owner(a, attrs), cls: current.cls, attrs, secret, material: current.material }));
        rec.object = copy.id;
        rec.detail = `copy of ${current.id}`;
        return copy;
      } finally { secret?.fill(0); }
    });
  }

  /** Who owns a new object and where it lives: the caller (nobody in a public session), in its
   *  partition; session objects (CKA_TOKEN false) in the PKCS#11 session that made them. */
  private owner(a: Admitted, attrs: Map<number, AttrValue>, opts: CreateOptions = {}): { partition: string; owner: string; session?: string; sharedWith?: string[] } {
    if (a.caller.session === undefined) attrs.set(CKA.TOKEN, true); // faces without sessions make token objects
    const session = attrs.get(CKA.TOKEN) === true ? undefined : a.caller.session;
    if (a.actor === 'anonymous' && attrs.get(CKA.PRIVATE) === true) throw new HsmError('AUTH_REQUIRED', 'private objects need a login (PKCS#11 §4.4)');
    const owner = a.actor === 'system' && opts.owner !== undefined ? opts.owner : a.principal?.isUser ? a.principal.id : '';
    return { partition: a.partition, owner, session, sharedWith: opts.sharedWith };
  }

  /** Stores a new object, with the use counter a limited key needs (key-limits.ts). */
  private insert(change: Change, obj: HsmObject): HsmObject {
    this.limits?.onInsert(change, obj);
    return this.objects.insert(change, obj);
  }

  /** Quotas, label uniqueness and the key-limit attributes, checked before any key material is made. */
  private async admitNew(a: Admitted, attrs: Map<number, AttrValue>, opts: CreateOptions, count = 1): Promise<void> {
    await this.limits?.prepareNew(attrs.get(CKA.CLASS) as number | undefined, attrs);
    const owner = a.principal?.isUser ? a.principal.id : '';
    const token = attrs.get(CKA.TOKEN) !== false || a.caller.session === undefined;
    // PKCS#11 §5.6 lets a R/W public session make public token objects (owned by no user); a partition may refuse them.
    if (token && a.actor === 'anonymous' && a.policy.publicTokenObjects === false) {
      throw new HsmError('AUTH_REQUIRED', 'this partition\'s policy (publicTokenObjects false) keeps token objects for logged-in users');
    }
    if (token) await this.quotas.reserve(a.partition, owner, count);
    if (opts.uniqueLabel) {
      const label = attrs.get(CKA.LABEL);
      const cls = attrs.get(CKA.CLASS);
      if (typeof label === 'string' && label !== '' && (await this.objects.byLabelOwned(a.partition, label, [owner])).some((o) => o.cls === cls)) {
        throw new HsmError('LABEL_EXISTS');
      }
    }
  }
}

const SYMMETRIC = new Set<number>([CKK.AES, CKK.GENERIC_SECRET, CKK.DES, CKK.DES3]);

/** The halves of a pair share CKA_ID and CKA_LABEL unless a template says otherwise; with no CKA_ID
 *  anywhere, both get SHA-1 of the public key info (what NSS and Java's KeyStore match certificates by). */
function linkPair(pub: Map<number, AttrValue>, priv: Map<number, AttrValue>, pubT: Template, privT: Template): void {
  for (const t of [CKA.ID, CKA.LABEL]) {
    if (!pubT.has(t) && privT.has(t)) pub.set(t, privT.get(t)!);
    if (!privT.has(t) && pubT.has(t)) priv.set(t, pubT.get(t)!);
  }
  if (!pubT.has(CKA.ID) && !privT.has(CKA.ID)) {
    const id = defaultPairId(pub);
    pub.set(CKA.ID, id);
    priv.set(CKA.ID, id);
  }
}

function defaultPairId(attrs: Map<number, AttrValue>): Buffer {
  const spki = attrs.get(CKA.PUBLIC_KEY_INFO);
  return Buffer.isBuffer(spki) ? c.digest('sha1', spki) : c.randomBytes(16);
}

