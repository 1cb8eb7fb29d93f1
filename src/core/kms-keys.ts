// KMS keys as the core keeps them (Vault transit's "key policy" idea): a KMS key is a record —
// state, deletion date, description, spec/usage, tags, rotation settings and the list of
// key-material versions — over ordinary core objects, one per version. Records live in the
// store, MACed like objects. State is mirrored onto every version object as CKA_INKAN_KEY_STATE,
// so the policy gate refuses a disabled or pending-deletion key on every face. A private or
// secret key made through another face is a KMS key too: described from its attributes, and
// given a stored record the first time it is managed through KMS.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import { checkKmsKey, DomainKeys, macKmsKey } from '../keystore/seal';
import type { KeyStore, KmsKeyRow } from '../keystore/types';
import { CKA, CKM, CKO, INKAN_KEY_STATE } from '../pkcs11/constants';
import type { HsmObject } from './hsm-object';
import type { KeyService } from './key-service';
import { checkSpecUsage, describeObject, generationPlan, isSymmetric, KmsKeySpec, KmsKeyUsage, objectFitsSpec } from './kms-key-specs';
import type { AttrValue } from './policy/attributes';
import { canSee, requireRole } from './policy/gate';
import type { Caller } from './principal';

export type KmsKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport';
export type KmsOrigin = 'AWS_KMS' | 'EXTERNAL';
const DAY_MS = 86_400_000;
export const DEFAULT_ROTATION_DAYS = 365;

export interface KmsKeyVersion {
  objectId: string;
  /** The public half, for pairs generated through KMS. */
  publicObjectId?: string;
  /** 64 hex digits, as AWS's KeyMaterialId. */
  materialId: string;
  created: number;
  rotationType?: 'AUTOMATIC' | 'ON_DEMAND';
}

export interface KmsImportParams { token: string; wrappingObjectId: string; wrappingPublicId: string; algorithm: string; validTo: number }

export interface KmsKeyRecord {
  id: string;
  owner: string;
  created: number;
  state: KmsKeyState;
  deletionDate?: number;
  pendingWindowDays?: number;
  description: string;
  keySpec: KmsKeySpec;
  keyUsage: KmsKeyUsage;
  origin: KmsOrigin;
  versions: KmsKeyVersion[];
  rotation: { enabled: boolean; periodDays: number; nextRotation?: number; onDemandStarted?: number };
  /** Ordered [key, value] pairs. */
  tags: [string, string][];
  importParams?: KmsImportParams;
}

/** One KMS key as a request sees it. `stored` is the row version, undefined for a key from another face not yet managed through KMS. */
export class KmsKey {
  constructor(readonly record: KmsKeyRecord, readonly stored: number | undefined, readonly usages: readonly KmsKeyUsage[]) {}
  get id(): string { return this.record.id; }
  get current(): KmsKeyVersion | undefined { return this.record.versions[this.record.versions.length - 1]; }
}

const materialId = (keyId: string, objectId: string) => c.digest('sha256', Buffer.from(`${keyId}/${objectId}`)).toString('hex');
const STATE_VALUE: Record<KmsKeyState, number> = {
  Enabled: INKAN_KEY_STATE.ENABLED, Disabled: INKAN_KEY_STATE.DISABLED, PendingDeletion: INKAN_KEY_STATE.PENDING_DELETION, PendingImport: INKAN_KEY_STATE.DISABLED,
};
const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');

export class KmsKeyService {
  constructor(private readonly store: KeyStore, private readonly domain: () => DomainKeys, private readonly keys: KeyService,
    private readonly now: () => number = () => Date.now()) {}

  /** CreateKey: generates the first version (or, for EXTERNAL origin, waits for ImportKeyMaterial). */
  async create(caller: Caller, opts: { keySpec: KmsKeySpec; keyUsage: KmsKeyUsage; description?: string; tags?: [string, string][]; origin?: KmsOrigin }): Promise<KmsKey> {
    requireRole(caller.principal, 'key.create');
    checkSpecUsage(opts.keySpec, opts.keyUsage);
    const origin = opts.origin ?? 'AWS_KMS';
    const record: KmsKeyRecord = {
      id: c.randomUuid(), owner: caller.principal.id, created: this.now(), state: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      description: opts.description ?? '', keySpec: opts.keySpec, keyUsage: opts.keyUsage, origin, versions: [],
      rotation: { enabled: false, periodDays: DEFAULT_ROTATION_DAYS }, tags: opts.tags ?? [],
    };
    if (origin === 'AWS_KMS') record.versions.push(await this.generateVersion(caller, record, record.id));
    try {
      await this.store.insertKmsKey(this.toRow(record, 1));
    } catch (err) {
      for (const v of record.versions) await this.destroyVersion(caller, v);
      throw err;
    }
    return new KmsKey(record, 1, [record.keyUsage]);
  }

  /** A key by id (KMS key id, or the id of a private/secret key object made elsewhere); applies due deletion and rotation. */
  async get(caller: Caller, keyId: string): Promise<KmsKey> {
    requireRole(caller.principal, 'key.list');
    const row = await this.store.getKmsKey(keyId);
    if (row) {
      let key = this.fromRow(row);
      if (!(await this.visible(caller, key.record))) throw new HsmError('KEY_NOT_FOUND');
      key = await this.applyDue(key);
      return key;
    }
    const obj = await this.keys.get(caller, keyId).catch(() => undefined);
    const key = obj && this.fromObject(obj);
    if (!key) throw new HsmError('KEY_NOT_FOUND');
    return key;
  }

  /** Every KMS key the caller can see: stored records, then private/secret keys made elsewhere. */
  async list(caller: Caller): Promise<KmsKey[]> {
    requireRole(caller.principal, 'key.list');
    const out: KmsKey[] = [];
    const claimed = new Set<string>();
    for (const row of await this.store.listKmsKeys()) {
      let key: KmsKey;
      try { key = this.fromRow(row); } catch { continue; } // a row failing its MAC is never used (nor listed)
      for (const v of key.record.versions) { claimed.add(v.objectId); if (v.publicObjectId) claimed.add(v.publicObjectId); }
      if (key.record.importParams) { claimed.add(key.record.importParams.wrappingObjectId); claimed.add(key.record.importParams.wrappingPublicId); }
      claimed.add(key.id);
      if (!(await this.visible(caller, key.record))) continue;
      const due = await this.applyDue(key).catch(() => undefined);
      if (due) out.push(due);
    }
    for (const obj of await this.keys.find(caller)) {
      if (claimed.has(obj.id) || (obj.cls !== CKO.PRIVATE_KEY && obj.cls !== CKO.SECRET_KEY)) continue;
      const key = this.fromObject(obj);
      if (key) out.push(key);
    }
    return out;
  }

  /** The core object of one version (newest by default), through the caller's visibility. */
  async versionObject(caller: Caller, key: KmsKey, index = key.record.versions.length - 1): Promise<HsmObject> {
    const v = key.record.versions[index];
    if (!v) throw new HsmError(key.record.state === 'PendingImport' ? 'KEY_STATE_INVALID' : 'ENCRYPTED_DATA_INVALID');
    return this.keys.get(caller, v.objectId);
  }

  /** KMS operations refuse keys that are not Enabled (the gate refuses them too, on every face). */
  requireUsable(key: KmsKey): void {
    const s = key.record.state;
    if (s === 'Disabled') throw new HsmError('KEY_DISABLED', `${key.id} is disabled.`);
    if (s === 'PendingDeletion') throw new HsmError('KEY_PENDING_DELETION', `${key.id} is pending deletion.`);
    if (s === 'PendingImport') throw new HsmError('KEY_STATE_INVALID', `${key.id} is pending import.`);
  }

  /** Owner-only changes of KMS-only fields (description, tags, rotation settings); stores the record. */
  async update(caller: Caller, key: KmsKey, change: (r: KmsKeyRecord) => void): Promise<KmsKey> {
    this.checkOwner(caller, key);
    const next: KmsKeyRecord = structuredClone(key.record);
    change(next);
    return this.save(key, next);
  }

  async setEnabled(caller: Caller, key: KmsKey, enabled: boolean): Promise<KmsKey> {
    this.checkOwner(caller, key);
    const s = key.record.state;
    if (s === 'PendingDeletion' || s === 'PendingImport') throw new HsmError('KEY_STATE_INVALID', `${key.id} is ${s === 'PendingImport' ? 'pending import' : 'pending deletion'}.`);
    return this.changeState(caller, key, enabled ? 'Enabled' : 'Disabled', (r) => r);
  }

  async scheduleDeletion(caller: Caller, key: KmsKey, days: number): Promise<KmsKey> {
    this.checkOwner(caller, key);
    if (key.record.state === 'PendingDeletion') throw new HsmError('KEY_STATE_INVALID', `${key.id} is pending deletion.`);
    return this.changeState(caller, key, 'PendingDeletion', (r) => { r.deletionDate = this.now() + days * DAY_MS; r.pendingWindowDays = days; });
  }

  /** CancelKeyDeletion leaves the key Disabled, as AWS does. */
  async cancelDeletion(caller: Caller, key: KmsKey): Promise<KmsKey> {
    this.checkOwner(caller, key);
    if (key.record.state !== 'PendingDeletion') throw new HsmError('KEY_STATE_INVALID', `${key.id} is not pending deletion.`);
    return this.changeState(caller, key, 'Disabled', (r) => { delete r.deletionDate; delete r.pendingWindowDays; });
  }

  /** A new version (a new core secret key); the newest encrypts, every version keeps decrypting. */
  async rotate(caller: Caller, key: KmsKey, type: 'AUTOMATIC' | 'ON_DEMAND'): Promise<KmsKey> {
    this.checkOwner(caller, key);
    if (!isSymmetric(key.record.keySpec) || key.record.origin !== 'AWS_KMS') throw new HsmError('NOT_SUPPORTED', 'only symmetric keys with AWS_KMS origin rotate');
    this.requireUsable(key);
    const next: KmsKeyRecord = structuredClone(key.record);
    const version = await this.generateVersion(caller, next, `${key.id}#v${next.versions.length + 1}`);
    version.rotationType = type;
    const first = await this.keys.get(caller, next.versions[0].objectId);
    const obj = await this.keys.get(caller, version.objectId);
    for (const user of first.sharedWith) await this.keys.share(caller, obj, user, true);
    next.versions.push(version);
    if (type === 'ON_DEMAND') next.rotation.onDemandStarted = this.now();
    if (next.rotation.enabled) next.rotation.nextRotation = this.now() + next.rotation.periodDays * DAY_MS;
    try {
      return await this.save(key, next);
    } catch (err) {
      await this.destroyVersion(caller, version);
      throw err;
    }
  }

  /** GetParametersForImport: a fresh RSA wrapping pair inside the module and a one-use token. */
  async beginImport(caller: Caller, key: KmsKey, bits: number, algorithm: string): Promise<{ token: string; publicKey: Buffer; validTo: number }> {
    this.checkOwner(caller, key);
    if (key.record.origin !== 'EXTERNAL') throw new HsmError('NOT_SUPPORTED', 'only keys with EXTERNAL origin take imported material');
    if (key.record.state !== 'PendingImport') throw new HsmError('KEY_STATE_INVALID', 'the key already has its key material');
    const label = `${key.id}#import`;
    const pubT = new Map<number, AttrValue>([[CKA.TOKEN, true], [CKA.LABEL, label], [CKA.MODULUS_BITS, bits], [CKA.WRAP, true], [CKA.ENCRYPT, false], [CKA.VERIFY, false]]);
    const privT = new Map<number, AttrValue>([[CKA.TOKEN, true], [CKA.LABEL, label], [CKA.UNWRAP, true], [CKA.DECRYPT, false], [CKA.SIGN, false], [CKA.EXTRACTABLE, false]]);
    const pair = await this.keys.generateKeyPair(caller, CKM.RSA_PKCS_KEY_PAIR_GEN, pubT, privT);
    const params: KmsImportParams = {
      token: c.randomBytes(32).toString('base64'), wrappingObjectId: pair.privateKey.id, wrappingPublicId: pair.publicKey.id,
      algorithm, validTo: this.now() + DAY_MS,
    };
    const old = key.record.importParams;
    await this.update(caller, key, (r) => { r.importParams = params; });
    if (old) await this.destroyIds(caller, [old.wrappingObjectId, old.wrappingPublicId]);
    return { token: params.token, publicKey: pair.publicKey.attrs.get(CKA.PUBLIC_KEY_INFO) as Buffer, validTo: params.validTo };
  }

  /** ImportKeyMaterial: `unwrap` turns the wrapped material into a core object with the wrapping key;
   *  the object must be what the key spec says, then it becomes version 1 and the key is Enabled. */
  async finishImport(caller: Caller, key: KmsKey, token: Buffer,
    unwrap: (wrapping: HsmObject, algorithm: string, label: string) => Promise<HsmObject>): Promise<KmsKey> {
    this.checkOwner(caller, key);
    const params = key.record.importParams;
    if (key.record.state !== 'PendingImport') throw new HsmError('KEY_STATE_INVALID', 'the key already has its key material');
    if (!params || !c.timingSafeEqual(Buffer.from(params.token, 'base64'), token)) throw new HsmError('IMPORT_TOKEN_INVALID');
    if (params.validTo < this.now()) throw new HsmError('IMPORT_TOKEN_EXPIRED');
    const wrapping = await this.keys.get(caller, params.wrappingObjectId);
    const obj = await unwrap(wrapping, params.algorithm, key.id);
    if (!objectFitsSpec(obj, key.record.keySpec)) {
      await this.keys.destroy(caller, obj);
      throw new HsmError('KEY_MATERIAL_INCORRECT', `the imported material is not ${key.record.keySpec} key material`);
    }
    const next: KmsKeyRecord = structuredClone(key.record);
    next.versions = [{ objectId: obj.id, materialId: materialId(key.id, obj.id), created: this.now() }];
    next.state = 'Enabled';
    delete next.importParams;
    const saved = await this.save(key, next);
    await this.destroyIds(caller, [params.wrappingObjectId, params.wrappingPublicId]);
    return saved;
  }

  // --- internals -------------------------------------------------------------------------

  private checkOwner(caller: Caller, key: KmsKey): void {
    requireRole(caller.principal, 'key.manage');
    if (key.record.owner !== caller.principal.id) throw new HsmError('NOT_OWNER');
  }

  private async visible(caller: Caller, r: KmsKeyRecord): Promise<boolean> {
    if (r.owner === caller.principal.id) return true;
    const first = r.versions[0];
    if (!first) return false;
    const obj = await this.keys.get(caller, first.objectId).catch(() => undefined);
    return obj !== undefined && canSee(caller, obj);
  }

  private async generateVersion(caller: Caller, r: KmsKeyRecord, label: string): Promise<KmsKeyVersion> {
    const plan = generationPlan(r.keySpec, r.keyUsage, label, uuidBytes(r.id));
    if (!plan.pair) {
      const obj = await this.keys.generateKey(caller, plan.mechanism, plan.template);
      return { objectId: obj.id, materialId: materialId(r.id, obj.id), created: this.now() };
    }
    const pair = await this.keys.generateKeyPair(caller, plan.mechanism, plan.publicTemplate, plan.template);
    return { objectId: pair.privateKey.id, publicObjectId: pair.publicKey.id, materialId: materialId(r.id, pair.privateKey.id), created: this.now() };
  }

  private async changeState(caller: Caller, key: KmsKey, state: KmsKeyState, change: (r: KmsKeyRecord) => void): Promise<KmsKey> {
    const next: KmsKeyRecord = structuredClone(key.record);
    next.state = state;
    change(next);
    for (const v of next.versions) {
      for (const id of [v.objectId, v.publicObjectId]) {
        if (!id) continue;
        const obj = await this.keys.get(caller, id).catch(() => undefined);
        if (obj) await this.keys.setModuleAttribute(caller, obj, CKA.INKAN_KEY_STATE, STATE_VALUE[state]);
      }
    }
    return this.save(key, next);
  }

  private async save(key: KmsKey, next: KmsKeyRecord): Promise<KmsKey> {
    if (key.stored === undefined) {
      await this.store.insertKmsKey(this.toRow(next, 1));
      return new KmsKey(next, 1, key.usages);
    }
    await this.store.updateKmsKey(this.toRow(next, key.stored + 1), key.stored);
    return new KmsKey(next, key.stored + 1, key.usages);
  }

  /** Deletion whose waiting period has passed, and automatic rotation that is due, happen on first access. */
  private async applyDue(key: KmsKey): Promise<KmsKey> {
    const r = key.record;
    const owner: Caller = { principal: { id: r.owner, username: 'inkan-kms', role: 'user' }, face: 'internal' };
    if (r.state === 'PendingDeletion' && r.deletionDate !== undefined && r.deletionDate <= this.now()) {
      await this.deleteNow(owner, key);
      throw new HsmError('KEY_NOT_FOUND');
    }
    if (r.state === 'Enabled' && r.rotation.enabled && r.rotation.nextRotation !== undefined && r.rotation.nextRotation <= this.now()) {
      return this.rotate(owner, key, 'AUTOMATIC').catch(() => key);
    }
    return key;
  }

  private async deleteNow(owner: Caller, key: KmsKey): Promise<void> {
    for (const v of key.record.versions) await this.destroyVersion(owner, v);
    const ip = key.record.importParams;
    if (ip) await this.destroyIds(owner, [ip.wrappingObjectId, ip.wrappingPublicId]);
    for (const a of await this.store.listKmsAliases(key.record.owner)) {
      if (a.targetKeyId === key.id) await this.store.deleteKmsAlias(a.owner, a.name);
    }
    if (key.stored !== undefined) await this.store.deleteKmsKey(key.id);
  }

  private async destroyVersion(caller: Caller, v: KmsKeyVersion): Promise<void> {
    await this.destroyIds(caller, [v.objectId, v.publicObjectId]);
  }

  private async destroyIds(caller: Caller, ids: (string | undefined)[]): Promise<void> {
    for (const id of ids) {
      if (!id) continue;
      const obj = await this.keys.get(caller, id).catch(() => undefined);
      if (obj) await this.keys.destroy(caller, obj);
    }
  }

  private fromObject(obj: HsmObject): KmsKey | undefined {
    const desc = describeObject(obj);
    if (!desc) return undefined;
    const st = obj.attrs.get(CKA.INKAN_KEY_STATE);
    const record: KmsKeyRecord = {
      id: obj.id, owner: obj.owner, created: obj.created,
      state: st === INKAN_KEY_STATE.DISABLED ? 'Disabled' : st === INKAN_KEY_STATE.PENDING_DELETION ? 'PendingDeletion' : 'Enabled',
      description: '', keySpec: desc.spec, keyUsage: desc.usages[0] ?? 'SIGN_VERIFY',
      origin: obj.bool(CKA.LOCAL) ? 'AWS_KMS' : 'EXTERNAL',
      versions: [{ objectId: obj.id, materialId: materialId(obj.id, obj.id), created: obj.created }],
      rotation: { enabled: false, periodDays: DEFAULT_ROTATION_DAYS }, tags: [],
    };
    return new KmsKey(record, undefined, desc.usages);
  }

  private toRow(r: KmsKeyRecord, version: number): KmsKeyRow {
    return macKmsKey(this.domain(), { id: r.id, owner: r.owner, data: JSON.stringify(r), version, created: r.created });
  }

  private fromRow(row: KmsKeyRow): KmsKey {
    checkKmsKey(this.domain(), row);
    const record = JSON.parse(row.data) as KmsKeyRecord;
    if (record.id !== row.id || record.owner !== row.owner) throw new HsmError('STORE_CORRUPT', `stored KMS key ${row.id} is inconsistent`);
    return new KmsKey(record, row.version, [record.keyUsage]);
  }
}
