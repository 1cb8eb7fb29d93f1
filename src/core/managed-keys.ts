// Managed keys: the face-neutral lifecycle of a key (Vault transit's key policy, KMS's and Key
// Vault's keys): versions (each an ordinary core object, or a pair, with its own settings), one
// authoritative state, a deletion window (cancelable, or a recoverable soft delete), rotation
// settings, validity dates, tags, an access list and per-face data the faces keep opaque to the core.
// The gate reads a key object's state from here (the object stores no copy). Rotation and
// deletion that come due are done by the scheduler (runDue), never as a side effect of a read.
// Per-version reads and changes are managed-key-versions.ts; the stored shapes managed-key-data.ts.
import * as c from '../crypto/node-crypto';
import { CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import type { RecordRow } from '../keystore/types';
import type { Change } from './change';
import { Coherence, LruCache } from './coherence';
import type { HsmObject } from './hsm-object';
import type { KeyReads } from './key-reads';
import type { KeyService } from './key-service';
import type { ObjectStore } from './object-store';
import type { Operations } from './operation';
import type { Admitted, Gate, KeyLifecycle } from './policy/gate';
import { keyAccessAllows, type KeyAccessAction } from './policy/key-access';
import type { Caller } from './principal';
import type { Records } from './records';
import { generationPlan, specOfObject, usesOfObjects, type VersionUse } from './key-specs';
import type { NameService } from './names';
import {
  addPeriod, applySettings, DAY_MS, DEFAULT_ROTATION_DAYS, describeObject, grantsByUser, KeyState, KeyVersion, ManagedKey, ManagedKeyData,
  versionLifecycle, type CreateKeyOptions, type VersionSettings,
} from './managed-key-data';
import { ManagedVersions, type ManagedInternals } from './managed-key-versions';
import type { KeyGrants } from './managed-key-grants';

export { DAY_MS, DEFAULT_ROTATION_DAYS, ManagedKey } from './managed-key-data';
export type { CreateKeyOptions, KeyGrant, KeyState, KeyVersion, ManagedKeyData, Period, Validity, VersionSettings } from './managed-key-data';
export type { VersionInfo } from './managed-key-versions';
/** Faces read access lists through here (they never import core/policy): KMS key policies build them. */
export { keyAccessAllows, KEY_ACCESS_ACTIONS } from './policy/key-access';
export type { KeyAccessAction, KeyAccessList, KeyAccessRule } from './policy/key-access';


const versionId = () => c.randomBytes(16).toString('hex');

export class ManagedKeyService implements ManagedInternals {
  private readonly cache = new LruCache<ManagedKey>(20_000);
  /** Per-version reads and changes (managed-key-versions.ts). */
  readonly versions: ManagedVersions;
  /** Scoped sharing, KMS grants (managed-key-grants.ts); wired by hsm.ts, which has the users. */
  grants!: KeyGrants;

  constructor(private readonly records: Records, readonly objects: ObjectStore, readonly keys: KeyService,
    private readonly reads: KeyReads, private readonly names: NameService, private readonly gate: Gate,
    readonly ops: Operations, coherence: Coherence, readonly now: () => number = () => Date.now()) {
    coherence.register('managed_keys', (id) => this.cache.delete(id), () => this.cache.clear());
    this.versions = new ManagedVersions(this);
  }

  /** For the gate: the lifecycle of the managed key an object is a version of (undefined: not managed),
   *  as seen for that object's version (its own enable and validity, the key's access list). */
  async lifecycleOf(obj: HsmObject): Promise<KeyLifecycle | undefined> {
    if (!obj.managed) return undefined;
    const key = await this.load(obj.managed);
    if (!key) return { state: 'deleted' };
    return versionLifecycle(key, obj.id, this.effectiveState(key));
  }

  /** A pending deletion whose time has come reads as deleted even before the scheduler removed it. */
  private effectiveState(k: ManagedKey): KeyState {
    const d = k.data.deletion;
    return k.data.state === 'pending-deletion' && d && d.due <= this.now() ? 'deleted' : k.data.state;
  }

  create(caller: Caller, o: CreateKeyOptions): Promise<ManagedKey> {
    return this.ops.run(caller, 'managed-key.create', async (a, change, rec) => {
      this.gate.authorize(a, 'key.create');
      const id = c.randomUuid();
      rec.object = id;
      rec.detail = `${o.spec.kind}${o.spec.size ? '-' + o.spec.size : ''}${o.spec.curve ? ' ' + o.spec.curve : ''} for ${o.purpose}`;
      const external = o.origin === 'external';
      const data: ManagedKeyData = {
        spec: o.spec, purpose: o.purpose, description: o.description ?? '', tags: o.tags ?? [], state: external ? 'pending-import' : 'enabled', external,
        versions: [], minDecryptVersion: 0, rotation: { enabled: false, periodDays: DEFAULT_ROTATION_DAYS }, face: o.face ?? {}, validity: o.validity,
        access: o.access,
      };
      if (o.firstVersion) data.versions.push(await this.importedVersionIn(a, change, id, data, await o.firstVersion(a, change)));
      else if (!external) data.versions.push(await this.generateVersion(a, change, id, data, { uses: o.version?.uses }));
      if (o.version && data.versions[0]) applySettings(data.versions[0], o.version, this.now());
      const key = this.insert(change, a, id, data);
      if (o.name) await this.names.createIn(a, change, o.name.kind, o.name.name, key);
      return key;
    });
  }

  /** A key by id: a managed key, or a private/secret key object made by another face. */
  get(caller: Caller, id: string): Promise<ManagedKey> {
    return this.ops.run(caller, 'managed-key.read', (a) => this.getIn(a, id), { recordSuccess: false });
  }

  async getIn(a: Admitted, id: string): Promise<ManagedKey> {
    const key = await this.load(id);
    if (key) {
      if (this.effectiveState(key) === 'deleted' || !(await this.visible(a, key))) throw new HsmError('KEY_NOT_FOUND');
      this.checkAccess(a, key, 'describe');
      return key;
    }
    const obj = await this.objectIn(a, id);
    const virtual = obj && !obj.managed ? await this.describe(obj) : undefined;
    if (!virtual) throw new HsmError('KEY_NOT_FOUND');
    return virtual;
  }

  /** A key named by id or label for a describe-class read (its description, versions, use counts).
   *  Those who see keys (crypto users) name a key object they see, by id or label; officers and
   *  auditors describe every key of their partition (access.ts 'key.describe') but see no object,
   *  so they name it by the managed key's id or the id of one of its objects. */
  describeRef(caller: Caller, ref: string): Promise<ManagedKey> {
    return this.ops.run(caller, 'managed-key.read', async (a) => {
      if (typeof ref !== 'string' || ref.length === 0) throw new HsmError('KEY_NOT_FOUND');
      const describer = this.gate.permits(a, 'key.describe');
      const obj = describer ? (await this.load(ref) ? undefined : await this.objectIn(a, ref)) : await this.reads.resolveIn(a, ref);
      if (obj?.cls === CKO.PUBLIC_KEY && !obj.managed) throw new HsmError('BAD_REQUEST', 'name the private half of the pair (or its label)');
      return this.getIn(a, obj ? obj.managed || obj.id : ref);
    }, { recordSuccess: false });
  }

  /** The object `id` names, as far as a description needs it: through the caller's visibility, or,
   *  for those who describe the partition's keys, any token object of the partition. */
  private async objectIn(a: Admitted, id: string): Promise<HsmObject | undefined> {
    const absent = (err: unknown) => { if (err instanceof HsmError && err.code === 'KEY_NOT_FOUND') return undefined; throw err; };
    if (!this.gate.permits(a, 'key.describe')) return this.reads.getIn(a, id).catch(absent);
    const obj = await this.objects.get(id).catch(absent);
    return obj && obj.partition === a.partition && obj.session === undefined && obj.isKey ? obj : undefined;
  }

  /** The managed key a (visible) object belongs to, or its own description if none. */
  async ofObject(a: Admitted, obj: HsmObject): Promise<ManagedKey | undefined> {
    return obj.managed ? this.getIn(a, obj.managed) : this.describe(obj);
  }

  /** Every managed key the caller can see (stored ones, then keys made elsewhere), ordered by id. */
  list(caller: Caller): Promise<ManagedKey[]> {
    return this.ops.run(caller, 'managed-key.list', async (a) => {
      const out = new Map<string, ManagedKey>();
      for (const o of await this.reads.findIn(a, new Map())) {
        if (o.cls !== CKO.PRIVATE_KEY && o.cls !== CKO.SECRET_KEY) continue;
        const k = o.managed ? await this.load(o.managed) : await this.describe(o);
        if (k && !out.has(k.id) && this.effectiveState(k) !== 'deleted' && this.mayDescribe(a, k)) out.set(k.id, k);
      }
      if (a.principal?.isUser) {
        for await (const row of this.records.all('managed_keys', { partition: a.partition, owner: a.principal.id })) {
          if (!out.has(row.id)) { const k = this.decode(row); if (this.effectiveState(k) !== 'deleted' && this.mayDescribe(a, k)) out.set(k.id, k); }
        }
      }
      return [...out.values()].sort((x, y) => (x.id < y.id ? -1 : 1));
    }, { recordSuccess: false });
  }

  /** The object of one version (newest by default), through the caller's visibility. */
  async versionObject(caller: Caller, key: ManagedKey, index = key.data.versions.length - 1): Promise<HsmObject> {
    const v = key.data.versions[index];
    if (!v) throw new HsmError(key.state === 'pending-import' ? 'KEY_STATE_INVALID' : 'ENCRYPTED_DATA_INVALID');
    return this.reads.get(caller, v.objectId);
  }

  /** Owner-only changes of the key's descriptive fields (description, tags, rotation settings, validity, face data). */
  update(caller: Caller, key: ManagedKey, op: string, patch: (d: ManagedKeyData) => void): Promise<ManagedKey> {
    return this.ops.run(caller, op, async (a, change, rec) => {
      rec.object = key.id;
      const cur = await this.owned(a, key);
      const next = structuredClone(cur.data);
      patch(next);
      if (next.rotation.enabled && next.rotation.next === undefined) next.rotation.next = this.now() + next.rotation.periodDays * DAY_MS;
      if (!next.rotation.enabled) delete next.rotation.next;
      return this.save(change, a, cur, next);
    });
  }

  setEnabled(caller: Caller, key: ManagedKey, enabled: boolean): Promise<ManagedKey> {
    return this.ops.run(caller, enabled ? 'managed-key.enable' : 'managed-key.disable', async (a, change, rec) => {
      rec.object = key.id;
      const cur = await this.owned(a, key);
      if (cur.state === 'pending-deletion' || cur.state === 'pending-import') throw new HsmError('KEY_STATE_INVALID', `${cur.id} is ${cur.state.replace('-', ' ')}.`);
      const next = structuredClone(cur.data);
      next.state = enabled ? 'enabled' : 'disabled';
      return this.save(change, a, cur, next);
    });
  }

  /** Deletion after `windowDays`: 'scheduled' (KMS: cancelling leaves it disabled) or 'soft' (Key Vault:
   *  recoverable until purged, back to its state before). Refuses use from now on, on every face. */
  scheduleDeletion(caller: Caller, key: ManagedKey, windowDays: number, kind: 'scheduled' | 'soft' = 'scheduled',
    opts: { protected?: boolean } = {}): Promise<ManagedKey> {
    return this.ops.run(caller, 'managed-key.schedule-deletion', async (a, change, rec) => {
      rec.object = key.id;
      rec.detail = `${kind}, ${windowDays} days${opts.protected ? ', purge-protected' : ''}`;
      const cur = await this.owned(a, key);
      if (cur.state === 'pending-deletion') throw new HsmError('KEY_STATE_INVALID', `${cur.id} is pending deletion.`);
      const next = structuredClone(cur.data);
      next.deletion = { requested: this.now(), due: this.now() + windowDays * DAY_MS, windowDays, kind,
        cancelTo: kind === 'soft' && cur.state === 'enabled' ? 'enabled' : 'disabled', protected: opts.protected || undefined };
      next.state = 'pending-deletion';
      return this.save(change, a, cur, next);
    });
  }

  cancelDeletion(caller: Caller, key: ManagedKey): Promise<ManagedKey> {
    return this.ops.run(caller, 'managed-key.cancel-deletion', async (a, change, rec) => {
      rec.object = key.id;
      const cur = await this.owned(a, key);
      if (cur.state !== 'pending-deletion' || !cur.data.deletion) throw new HsmError('KEY_STATE_INVALID', `${cur.id} is not pending deletion.`);
      const next = structuredClone(cur.data);
      next.state = next.deletion!.cancelTo;
      delete next.deletion;
      return this.save(change, a, cur, next);
    });
  }

  /** Destroys a soft-deleted key at once (Key Vault's purge: an officer of its partition, access.ts
   *  'key.purge'; refused while purge-protected), or — as the system actor — any deletion that is due. */
  purge(caller: Caller, key: ManagedKey): Promise<void> {
    return this.ops.run(caller, 'managed-key.purge', async (a, change, rec) => {
      rec.object = key.id;
      if (a.actor === 'system') {
        if (key.state !== 'pending-deletion') throw new HsmError('KEY_STATE_INVALID', `${key.id} is not pending deletion.`);
        await this.destroyIn(a, change, key);
        return;
      }
      this.gate.authorize(a, 'key.purge');
      const cur = await this.getIn(a, key.id);
      const d = cur.data.deletion;
      if (cur.state !== 'pending-deletion' || d?.kind !== 'soft') throw new HsmError('KEY_STATE_INVALID', `${cur.id} is not a deleted key.`);
      if (d.protected && d.due > this.now()) throw new HsmError('KEY_PURGE_PROTECTED');
      await this.destroyIn(a, change, cur);
    });
  }

  /** A new version; the newest encrypts and signs, every version at or above minDecryptVersion decrypts.
   *  It takes the current version's uses and tags unless `settings` say otherwise ('added': a new
   *  version asked for with its own settings, Key Vault's create on an existing name), and its validity
   *  ends after the rotation's version lifetime. It is shared with whoever the current one is shared
   *  with. One transaction. */
  rotate(caller: Caller, key: ManagedKey, kind: 'automatic' | 'on-demand' | 'added', settings?: VersionSettings): Promise<ManagedKey> {
    return this.ops.run(caller, 'managed-key.rotate', async (a, change, rec) => {
      rec.object = key.id;
      rec.detail = kind;
      const cur = a.actor === 'system' ? key : await this.owned(a, key);
      if (cur.state !== 'enabled') throw new HsmError(cur.state === 'disabled' ? 'KEY_DISABLED' : 'KEY_STATE_INVALID', `${cur.id} is ${cur.state}.`);
      if (cur.data.external ?? cur.data.versions.some((v) => v.origin === 'imported')) {
        throw new HsmError('NOT_SUPPORTED', 'keys of external material are not rotated by the module');
      }
      const next = structuredClone(cur.data);
      const currentObj = cur.current ? await this.objects.get(cur.current.objectId) : undefined;
      const currentPub = cur.current?.publicObjectId ? await this.objects.get(cur.current.publicObjectId) : undefined;
      const sharedWith = [...(currentObj?.sharedWith ?? [])];
      const s: VersionSettings = settings ?? { uses: currentObj ? usesOfObjects(currentObj, currentPub) : undefined, tags: cur.current?.tags };
      const version = await this.generateVersion(a, change, cur.id, next, { owner: cur.owner, sharedWith, uses: s.uses });
      if (kind !== 'added') version.rotation = kind;
      const lifetime = next.rotation.versionLifetime;
      applySettings(version, { ...s, validity: s.validity ?? (lifetime ? { notAfter: addPeriod(version.created, lifetime) } : undefined) }, this.now());
      next.versions.push(version);
      if (kind === 'on-demand') next.rotation.onDemandStarted = this.now();
      if (next.rotation.enabled) next.rotation.next = this.now() + next.rotation.periodDays * DAY_MS;
      return this.save(change, a, cur, next);
    });
  }

  /** Material brought in from outside (KMS ImportKeyMaterial, Key Vault import): `build` makes the
   *  object inside this operation's transaction; it must fit the key's spec, then becomes a version. */
  addImportedVersion(caller: Caller, key: ManagedKey, op: string, build: (a: Admitted, change: Change) => Promise<HsmObject | HsmObject[]>,
    patch?: (d: ManagedKeyData) => void): Promise<ManagedKey> {
    return this.ops.run(caller, op, async (a, change, rec) => {
      rec.object = key.id;
      const cur = await this.owned(a, key);
      const built = await build(a, change);
      const next = structuredClone(cur.data);
      next.versions.push(await this.importedVersionIn(a, change, cur.id, next, Array.isArray(built) ? built : [built]));
      if (next.state === 'pending-import') next.state = 'enabled';
      patch?.(next);
      return this.save(change, a, cur, next);
    });
  }

  /** @internal A managed key brought back from a one-key backup (key-backups.ts), owned by the caller;
   *  inserting its row fails (EXISTS) if a key of that id exists. */
  restoreIn(change: Change, a: Admitted, id: string, data: ManagedKeyData): ManagedKey {
    this.gate.authorize(a, 'key.create');
    change.existsAs = 'EXISTS';
    return this.insert(change, a, id, data);
  }

  /** Scheduled work (the system actor): deletions whose window has passed, automatic rotations due. */
  async runDue(caller: Caller): Promise<{ deleted: number; rotated: number }> {
    let deleted = 0;
    let rotated = 0;
    const now = this.now();
    // A row failing its integrity check is skipped here (and refused wherever it is used).
    for await (const row of this.records.all('managed_keys', {}, () => undefined)) {
      const k = this.decode(row);
      const sys = { ...caller, partition: k.partition };
      try {
        if (k.state === 'pending-deletion' && k.data.deletion && k.data.deletion.due <= now) { await this.purge(sys, k); deleted++; }
        else if (k.state === 'enabled' && k.data.rotation.enabled && k.data.rotation.next !== undefined && k.data.rotation.next <= now) {
          await this.rotate(sys, k, 'automatic'); rotated++;
        }
      } catch { /* recorded as a failure in the audit trail; tried again next time */ }
    }
    return { deleted, rotated };
  }

  // --- internals -----------------------------------------------------------------------------

  private async generateVersion(a: Admitted, change: Change, id: string, data: ManagedKeyData,
    extra: { owner?: string; sharedWith?: string[]; uses?: readonly VersionUse[] } = {}): Promise<KeyVersion> {
    const plan = generationPlan(data.spec, data.purpose, id, Buffer.from(id.replace(/-/g, '').slice(0, 32), 'hex'), extra.uses);
    const opts = { managed: id, owner: extra.owner, sharedWith: extra.sharedWith };
    if (!plan.pair) {
      const obj = await this.keys.generateKeyIn(a, change, plan.mechanism, plan.template, opts);
      return { id: versionId(), objectId: obj.id, created: this.now(), origin: 'generated' };
    }
    const pair = await this.keys.generatePairIn(a, change, plan.mechanism, plan.publicTemplate, plan.template, opts);
    return { id: versionId(), objectId: pair.privateKey.id, publicObjectId: pair.publicKey.id, created: this.now(), origin: 'generated' };
  }

  /** Objects made from outside material (the secret or private one first) become a version, if they fit the key's spec. */
  private async importedVersionIn(a: Admitted, change: Change, id: string, data: ManagedKeyData, objs: HsmObject[]): Promise<KeyVersion> {
    const spec = objs[0] && specOfObject(objs[0]);
    if (!spec || spec.kind !== data.spec.kind || spec.size !== data.spec.size || spec.curve !== data.spec.curve) {
      throw new HsmError('KEY_MATERIAL_INCORRECT', 'the imported material does not fit this key');
    }
    const [main, pub] = objs.map((o) => this.objects.replace(change, o, { managed: id }));
    return { id: versionId(), objectId: main.id, publicObjectId: pub?.id, created: this.now(), origin: 'imported' };
  }

  private async destroyIn(a: Admitted, change: Change, key: ManagedKey): Promise<void> {
    for (const v of key.data.versions) {
      for (const id of [v.objectId, v.publicObjectId]) {
        const obj = id && await this.objects.get(id);
        if (obj) this.keys.destroyVersionIn(change, obj);
      }
    }
    await this.names.removeTargetIn(change, key.partition, key.id);
    if (key.row) change.delete('managed_keys', key.row).onCommit(() => this.cache.delete(key.id));
  }

  private insert(change: Change, a: Admitted, id: string, data: ManagedKeyData): ManagedKey {
    const owner = a.principal?.isUser ? a.principal.id : '';
    const row = this.records.make('managed_keys', { id, partition: a.partition, cols: { owner }, data: JSON.stringify(data), sealed: null });
    change.insert('managed_keys', row).onCommit(() => this.records.wrote('managed_keys', row));
    const key = new ManagedKey(id, a.partition, owner, row.created, data, row);
    change.onCommit(() => this.cache.set(id, key));
    return key;
  }

  /** Stores the next state of a key; a key made elsewhere gets its record now, and its objects are
   *  marked as its versions, in the same transaction. */
  /** @internal (managed-key-versions.ts) */
  async save(change: Change, a: Admitted, cur: ManagedKey, next: ManagedKeyData): Promise<ManagedKey> {
    if (cur.row) {
      const row = this.records.make('managed_keys', { id: cur.id, partition: cur.partition, cols: { owner: cur.owner }, data: JSON.stringify(next), sealed: null }, cur.row);
      change.update('managed_keys', row, cur.row).onCommit(() => this.records.wrote('managed_keys', row));
      const key = new ManagedKey(cur.id, cur.partition, cur.owner, cur.created, next, row);
      change.onCommit(() => this.cache.set(cur.id, key));
      return key;
    }
    const row = this.records.make('managed_keys', { id: cur.id, partition: cur.partition, cols: { owner: cur.owner }, data: JSON.stringify(next), sealed: null, created: cur.created });
    change.insert('managed_keys', row).onCommit(() => this.records.wrote('managed_keys', row));
    const v = cur.data.versions[0];
    for (const id of [v?.objectId, v?.publicObjectId]) {
      const obj = id ? await this.objects.get(id) : undefined;
      if (obj && !obj.managed) this.objects.replace(change, obj, { managed: cur.id });
    }
    const key = new ManagedKey(cur.id, cur.partition, cur.owner, cur.created, next, row);
    change.onCommit(() => this.cache.set(cur.id, key));
    return key;
  }

  /** @internal (managed-key-grants.ts) */
  async load(id: string): Promise<ManagedKey | undefined> {
    if (typeof id !== 'string' || id.length > 64) return undefined;
    const hit = this.cache.get(id);
    if (hit) return hit;
    const row = await this.records.get('managed_keys', id);
    if (!row) return undefined;
    const key = this.decode(row);
    this.cache.set(id, key);
    return key;
  }

  /** @internal Every stored key of a partition (rows failing their check are left out). */
  async *allIn(partition: string): AsyncGenerator<ManagedKey> {
    for await (const row of this.records.all('managed_keys', { partition }, () => undefined)) yield this.decode(row);
  }

  private decode(row: RecordRow): ManagedKey {
    let data: ManagedKeyData;
    try { data = JSON.parse(row.data) as ManagedKeyData; } catch { throw new HsmError('STORE_CORRUPT', `stored managed key ${row.id} is unreadable`); }
    return new ManagedKey(row.id, row.partition, String(row.cols.owner), row.created, data, row);
  }

  /** A private or secret key made elsewhere, described as a managed key with one version. */
  private async describe(obj: HsmObject): Promise<ManagedKey | undefined> {
    return describeObject(obj, obj.cls === CKO.PRIVATE_KEY ? (await this.reads.partners(obj))[0] : undefined);
  }

  /** A managed key is visible to whoever sees its current version's object (its owner always), and
   *  its description to the officers and auditors of its partition (access.ts 'key.describe'). */
  private async visible(a: Admitted, key: ManagedKey): Promise<boolean> {
    if (a.actor === 'system') return true;
    if (key.partition !== a.partition) return false;
    if (a.principal?.isUser && key.owner === a.principal.id) return true;
    if (this.gate.permits(a, 'key.describe')) return true;
    const v = key.data.versions[0];
    const obj = v && await this.objects.get(v.objectId);
    return obj !== undefined && this.gate.canSee(a, obj);
  }

  /** The current version of the key, if the caller may manage it (the owner, unless its access list says otherwise).
   *  @internal (managed-key-versions.ts) */
  async owned(a: Admitted, key: ManagedKey): Promise<ManagedKey> {
    const cur = await this.getIn(a, key.id);
    const v = cur.data.versions[0];
    const obj = v && await this.objects.get(v.objectId);
    if (obj) this.gate.authorize(a, 'key.lifecycle', { kind: 'object', object: obj });
    else if (!(a.principal?.isUser && cur.owner === a.principal.id)) throw new HsmError('NOT_OWNER');
    this.checkAccess(a, cur, 'manage');
    return cur;
  }

  /** A grantee always reads the key's description (the grant shared it) and never manages it. */
  private allows(a: Admitted, key: ManagedKey, action: KeyAccessAction): boolean {
    if (a.actor === 'system') return true;
    const granted = grantsByUser(key.data.grants)?.[a.principal?.id ?? ''];
    return keyAccessAllows(key.data.access, a.principal?.id, action, granted && [...granted, 'describe']);
  }

  private mayDescribe(a: Admitted, key: ManagedKey): boolean { return this.allows(a, key, 'describe'); }

  private checkAccess(a: Admitted, key: ManagedKey, action: KeyAccessAction): void {
    if (!this.allows(a, key, action)) throw new HsmError('KEY_ACCESS_DENIED');
  }
}

