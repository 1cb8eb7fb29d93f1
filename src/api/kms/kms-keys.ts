// The KMS face's view of the core's managed keys: AWS vocabulary (KeySpec, KeyUsage, KeyState,
// Origin, KeyMaterialId, import parameters) over the face-neutral lifecycle. What only KMS knows
// (its spec name, origin, pending import parameters) is kept in the managed key's face data.
import * as c from '../../crypto/node-crypto';
import { CKA, CKM, CKO } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import type { Hsm } from '../../core/hsm';
import type { HsmObject } from '../../core/hsm-object';
import type { ManagedKey, ManagedKeyData } from '../../core/managed-keys';
import { specOfObject } from '../../core/key-specs';
import type { AttrValue } from '../../core/attributes';
import type { Caller } from '../../core/principal';
import type { KeyAccessList } from '../../core/managed-keys';
import { checkSpecUsage, kmsSpecOf, purposeOf, SPECS, usageOf, type KmsKeySpec, type KmsKeyUsage } from './key-specs';

export type KmsKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport';
export type KmsOrigin = 'AWS_KMS' | 'EXTERNAL';
export const DAY_MS = 86_400_000;

export interface KmsImportParams { token: string; wrappingObjectId: string; wrappingPublicId: string; algorithm: string; validTo: number }
interface KmsFaceData { keySpec?: KmsKeySpec; keyUsage?: KmsKeyUsage; origin?: KmsOrigin; importParams?: KmsImportParams }

export interface KmsVersion { objectId: string; publicObjectId?: string; materialId: string; created: number; rotationType?: 'AUTOMATIC' | 'ON_DEMAND' }

/** One key as KMS describes it (read-only: changes go through KmsKeys). */
export interface KmsRecord {
  id: string; created: number; state: KmsKeyState; deletionDate?: number; pendingWindowDays?: number; description: string;
  keySpec: KmsKeySpec; keyUsage: KmsKeyUsage; origin: KmsOrigin; versions: KmsVersion[];
  rotation: { enabled: boolean; periodDays: number; nextRotation?: number; onDemandStarted?: number };
  tags: [string, string][]; importParams?: KmsImportParams;
}

const STATE: Record<ManagedKeyData['state'], KmsKeyState> = {
  enabled: 'Enabled', disabled: 'Disabled', 'pending-deletion': 'PendingDeletion', 'pending-import': 'PendingImport', deleted: 'PendingDeletion',
};
const materialId = (keyId: string, objectId: string) => c.digest('sha256', Buffer.from(`${keyId}/${objectId}`)).toString('hex');
const kmsData = (d: ManagedKeyData): KmsFaceData => (d.face.kms ?? {}) as KmsFaceData;

export class KmsKey {
  readonly record: KmsRecord;
  /** The KMS usages this key may serve (a key made by another face may allow several). */
  readonly usages: readonly KmsKeyUsage[];

  constructor(readonly managed: ManagedKey, usages?: KmsKeyUsage[]) {
    const d = managed.data;
    const face = kmsData(d);
    const keySpec = face.keySpec ?? kmsSpecOf(d.spec);
    if (!keySpec) throw new HsmError('KEY_NOT_FOUND', 'this key has no KMS key spec');
    this.record = {
      id: managed.id, created: managed.created, state: STATE[d.state], description: d.description, keySpec,
      keyUsage: face.keyUsage ?? usageOf(d.purpose),
      origin: face.origin ?? (d.versions.some((v) => v.origin === 'imported') ? 'EXTERNAL' : 'AWS_KMS'),
      deletionDate: d.deletion?.due, pendingWindowDays: d.deletion?.windowDays,
      versions: d.versions.map((v) => ({ objectId: v.objectId, publicObjectId: v.publicObjectId, materialId: materialId(managed.id, v.objectId), created: v.created,
        rotationType: v.rotation === 'on-demand' ? 'ON_DEMAND' : v.rotation === 'automatic' ? 'AUTOMATIC' : undefined })),
      rotation: { enabled: d.rotation.enabled, periodDays: d.rotation.periodDays, nextRotation: d.rotation.next, onDemandStarted: d.rotation.onDemandStarted },
      tags: d.tags, importParams: face.importParams,
    };
    this.usages = usages ?? [this.record.keyUsage];
  }

  get id(): string { return this.managed.id; }
  get current(): KmsVersion | undefined { return this.record.versions[this.record.versions.length - 1]; }
}

/** The KMS operations on keys, each one core operation. */
export class KmsKeys {
  constructor(private readonly hsm: Hsm) {}

  private async view(key: ManagedKey): Promise<KmsKey> {
    if (key.row) return new KmsKey(key);
    // A key made by another face: every usage its flags allow, within what its spec allows.
    const v = key.data.versions[0];
    const obj = v && await this.hsm.objects.get(v.objectId);
    const spec = kmsSpecOf(key.data.spec);
    const usages = obj && spec ? (specOfObject(obj)?.purposes ?? []).map(usageOf).filter((u) => SPECS[spec].usages.includes(u)) : [];
    return new KmsKey(key, usages.length ? usages : undefined);
  }

  async create(caller: Caller, o: { keySpec: KmsKeySpec; keyUsage: KmsKeyUsage; description?: string; tags?: [string, string][]; origin?: KmsOrigin;
    policy?: { text: string; access: KeyAccessList } }): Promise<KmsKey> {
    checkSpecUsage(o.keySpec, o.keyUsage);
    const key = await this.hsm.managed.create(caller, {
      spec: SPECS[o.keySpec].core, purpose: purposeOf(o.keyUsage), description: o.description, tags: o.tags, access: o.policy?.access,
      origin: o.origin === 'EXTERNAL' ? 'external' : 'generated',
      face: { kms: { keySpec: o.keySpec, keyUsage: o.keyUsage, origin: o.origin ?? 'AWS_KMS', policy: o.policy?.text } },
    });
    return new KmsKey(key);
  }

  async get(caller: Caller, id: string): Promise<KmsKey> {
    return this.view(await this.hsm.managed.get(caller, id));
  }

  async list(caller: Caller): Promise<KmsKey[]> {
    const out: KmsKey[] = [];
    for (const k of await this.hsm.managed.list(caller)) {
      try { out.push(await this.view(k)); } catch { /* a key with no KMS spec (AES-128, odd HMAC lengths) is not a KMS key */ }
    }
    return out;
  }

  /** KMS operations refuse keys that are not Enabled (the gate refuses them too, on every face). */
  requireUsable(key: KmsKey): void {
    const s = key.record.state;
    if (s === 'Disabled') throw new HsmError('KEY_DISABLED', `${key.id} is disabled.`);
    if (s === 'PendingDeletion') throw new HsmError('KEY_PENDING_DELETION', `${key.id} is pending deletion.`);
    if (s === 'PendingImport') throw new HsmError('KEY_STATE_INVALID', `${key.id} is pending import.`);
  }

  async setEnabled(caller: Caller, key: KmsKey, enabled: boolean): Promise<KmsKey> {
    return this.view(await this.hsm.managed.setEnabled(caller, key.managed, enabled));
  }

  async scheduleDeletion(caller: Caller, key: KmsKey, days: number): Promise<KmsKey> {
    return this.view(await this.hsm.managed.scheduleDeletion(caller, key.managed, days, 'scheduled'));
  }

  /** CancelKeyDeletion leaves the key Disabled, as AWS does. */
  async cancelDeletion(caller: Caller, key: KmsKey): Promise<KmsKey> {
    return this.view(await this.hsm.managed.cancelDeletion(caller, key.managed));
  }

  /** Changes of descriptive fields (description, tags, rotation settings), one recorded operation. */
  async update(caller: Caller, key: KmsKey, op: string, patch: (d: ManagedKeyData) => void): Promise<KmsKey> {
    return this.view(await this.hsm.managed.update(caller, key.managed, op, patch));
  }

  async rotate(caller: Caller, key: KmsKey): Promise<KmsKey> {
    return this.view(await this.hsm.managed.rotate(caller, key.managed, 'on-demand'));
  }

  /** The core object of one version (newest by default), through the caller's visibility. */
  versionObject(caller: Caller, key: KmsKey, index = key.record.versions.length - 1): Promise<HsmObject> {
    return this.hsm.managed.versionObject(caller, key.managed, index);
  }

  /** GetParametersForImport: a fresh RSA wrapping pair inside the module and a one-use token. */
  async beginImport(caller: Caller, key: KmsKey, bits: number, algorithm: string): Promise<{ token: string; publicKey: Buffer; validTo: number }> {
    if (key.record.origin !== 'EXTERNAL') throw new HsmError('NOT_SUPPORTED', 'only keys with EXTERNAL origin take imported material');
    if (key.record.state !== 'PendingImport') throw new HsmError('KEY_STATE_INVALID', 'the key already has its key material');
    const label = `${key.id}#import`;
    const pubT = new Map<number, AttrValue>([[CKA.TOKEN, true], [CKA.LABEL, label], [CKA.MODULUS_BITS, bits], [CKA.WRAP, true], [CKA.ENCRYPT, false], [CKA.VERIFY, false]]);
    const privT = new Map<number, AttrValue>([[CKA.TOKEN, true], [CKA.LABEL, label], [CKA.UNWRAP, true], [CKA.DECRYPT, false], [CKA.SIGN, false], [CKA.EXTRACTABLE, false]]);
    const pair = await this.hsm.keys.generateKeyPair(caller, CKM.RSA_PKCS_KEY_PAIR_GEN, pubT, privT);
    const params: KmsImportParams = {
      token: c.randomBytes(32).toString('base64'), wrappingObjectId: pair.privateKey.id, wrappingPublicId: pair.publicKey.id, algorithm, validTo: Date.now() + DAY_MS,
    };
    const old = key.record.importParams;
    await this.update(caller, key, 'kms.get-parameters-for-import', (d) => { d.face.kms = { ...kmsData(d), importParams: params }; });
    if (old) await this.destroyWrapping(caller, old);
    return { token: params.token, publicKey: pair.publicKey.attrs.get(CKA.PUBLIC_KEY_INFO) as Buffer, validTo: params.validTo };
  }

  /** ImportKeyMaterial: `template` says what the unwrapped material is; it must fit the key's spec,
   *  then it becomes the key's version and the key is Enabled — one transaction. */
  async finishImport(caller: Caller, key: KmsKey, token: Buffer, unwrapWith: { mechanism: number; params: Record<string, unknown> },
    wrapped: Buffer, template: Map<number, AttrValue>): Promise<KmsKey> {
    const params = key.record.importParams;
    if (key.record.state !== 'PendingImport') throw new HsmError('KEY_STATE_INVALID', 'the key already has its key material');
    if (!params || !c.timingSafeEqual(Buffer.from(params.token, 'base64'), token)) throw new HsmError('IMPORT_TOKEN_INVALID');
    if (params.validTo < Date.now()) throw new HsmError('IMPORT_TOKEN_EXPIRED');
    const wrapping = await this.hsm.lookup.get(caller, params.wrappingObjectId);
    const after = await this.hsm.managed.addImportedVersion(caller, key.managed, 'kms.import-key-material',
      (a, change) => this.hsm.crypto.unwrapIn(a, change, {}, wrapping, unwrapWith.mechanism, unwrapWith.params, wrapped, template),
      (d) => { const k = kmsData(d); delete k.importParams; d.face.kms = k; });
    await this.destroyWrapping(caller, params);
    return this.view(after);
  }

  private async destroyWrapping(caller: Caller, p: KmsImportParams): Promise<void> {
    for (const id of [p.wrappingObjectId, p.wrappingPublicId]) {
      const obj = await this.hsm.lookup.get(caller, id).catch(() => undefined);
      if (obj) await this.hsm.keys.destroy(caller, obj).catch(() => undefined);
    }
  }

  /** Whether an object is a private or secret key at all (for faces listing KMS keys). */
  static isKeyObject(obj: HsmObject): boolean { return obj.cls === CKO.PRIVATE_KEY || obj.cls === CKO.SECRET_KEY; }
}
