// The Key Vault port (backend.ts) over the core: a vault key is a managed key named in the caller's
// partition (names kind 'akv-key'); creating an existing name adds a version; per-version enable,
// validity, tags and key_ops are the core's version settings (key_ops are the version objects'
// usage flags, so PKCS#11 and KMS are bound by them too); delete is the core's soft deletion,
// purge an officer's; backups are the core's one-key backups; tokens are signed with the module's
// token key and client secrets are the core's OAuth-client credentials. The caller is the core's.
import type { Hsm } from '../../core/hsm';
import type { Caller } from '../../core/principal';
import type { ManagedKey, ManagedKeyData, Period as CorePeriod, VersionSettings } from '../../core/managed-keys';
import { DAY_MS } from '../../core/managed-keys';
import type { KeyPurpose, VersionUse } from '../../core/key-specs';
import {
  KeyPortError, type CallContext, type DeletedKey, type ImportedMaterial, type KeyKind, type KeyRef, type KeyVersion,
  type KeyVersionUpdate, type NewKeyAttributes, type Page, type PageRequest, type Period, type RotationPolicy,
} from '../key-port';
import { CoreKeyPort, guarded, isSoftDeleted, KEY_NAME_KIND, specOf, type CorePortOptions } from '../core-key-port';
import type { AkvBackend } from './backend';
import { importedObjects, specOfMaterial } from './core-import';

const NAME = /^[0-9A-Za-z-]{1,127}$/;
/** What Key Vault reports for a key that never had a rotation policy (notify 30 days before expiry). */
const DEFAULT_POLICY: RotationPolicy = { actions: [{ action: 'notify', beforeExpiry: { years: 0, months: 0, days: 30 } }] };

interface StoredPolicy { versionLifetime?: Period; actions: RotationPolicy['actions']; created: number; updated: number }

const purposeOf = (kind: KeyKind, uses: readonly string[]): KeyPurpose =>
  kind.type === 'aes' ? 'encrypt' : kind.type === 'ec' || uses.includes('sign') || uses.includes('verify') ? 'sign' : 'encrypt';

function settingsOf(attrs: NewKeyAttributes | KeyVersionUpdate): VersionSettings {
  const validity: { notBefore?: number; notAfter?: number } = {};
  if (attrs.notBefore) validity.notBefore = attrs.notBefore.getTime();
  if (attrs.expiresAt) validity.notAfter = attrs.expiresAt.getTime();
  return {
    uses: attrs.uses as VersionUse[] | undefined, enabled: attrs.enabled,
    validity: Object.keys(validity).length ? validity : undefined, tags: attrs.tags ? Object.entries(attrs.tags) : undefined,
  };
}

const approxDays = (p: Period) => p.years * 365 + p.months * 30 + p.days;

export class AkvCoreBackend extends CoreKeyPort implements AkvBackend<Caller> {
  constructor(hsm: Hsm, opts: CorePortOptions) { super(hsm, opts); }

  private async find(caller: Caller, name: string): Promise<ManagedKey | undefined> {
    try { return await this.named(caller, name); } catch (err) {
      if (err instanceof KeyPortError && err.code === 'not-found') return undefined;
      throw err;
    }
  }

  private refuseDeleted(key: ManagedKey, name: string): void {
    if (isSoftDeleted(key)) {
      throw new KeyPortError('deleted', `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`);
    }
  }

  createKey(ctx: CallContext<Caller>, name: string, kind: KeyKind, attrs: NewKeyAttributes): Promise<KeyVersion> {
    const caller = ctx.caller;
    return guarded(async () => {
      const spec = specOf(kind);
      const settings = settingsOf(attrs);
      const existing = await this.find(caller, name);
      if (existing) {
        this.refuseDeleted(existing, name);
        const s = existing.data.spec;
        if (s.kind !== spec.kind || s.size !== spec.size || s.curve !== spec.curve) throw new KeyPortError('invalid-input', `Key ${name} exists with another key type or size.`);
        return this.viewOf(caller, name, await this.hsm.managed.rotate(caller, existing, 'added', settings));
      }
      const key = await this.hsm.managed.create(caller, {
        spec, purpose: purposeOf(kind, attrs.uses ?? []), version: settings, name: { kind: KEY_NAME_KIND, name }, face: { akv: {} },
      });
      return this.viewOf(caller, name, key);
    });
  }

  importKey(ctx: CallContext<Caller>, name: string, material: ImportedMaterial, attrs: NewKeyAttributes): Promise<KeyVersion> {
    const caller = ctx.caller;
    return guarded(async () => {
      try {
        const kind = specOfMaterial(material);
        const settings = settingsOf(attrs);
        const uses = (attrs.uses ?? []) as VersionUse[];
        const build = (a: Parameters<typeof importedObjects>[1], change: Parameters<typeof importedObjects>[2]) =>
          importedObjects(this.hsm, a, change, material, uses, name, purposeOf(kind, uses));
        const existing = await this.find(caller, name);
        if (existing) {
          this.refuseDeleted(existing, name);
          const s = existing.data.spec;
          const spec = specOf(kind);
          if (s.kind !== spec.kind || s.size !== spec.size || s.curve !== spec.curve) throw new KeyPortError('invalid-input', `Key ${name} exists with another key type or size.`);
          const after = await this.hsm.managed.addImportedVersion(caller, existing, 'akv.import-key', build, (d) => applyLast(d, settings, this.hsm.managed.now()));
          return this.viewOf(caller, name, after);
        }
        const key = await this.hsm.managed.create(caller, {
          spec: specOf(kind), purpose: purposeOf(kind, uses), version: settings, name: { kind: KEY_NAME_KIND, name }, face: { akv: {} }, firstVersion: build,
        });
        return this.viewOf(caller, name, key);
      } finally {
        for (const v of Object.values(material)) if (Buffer.isBuffer(v)) v.fill(0);
      }
    });
  }

  updateKey(ctx: CallContext<Caller>, ref: KeyRef, change: KeyVersionUpdate): Promise<KeyVersion> {
    const caller = ctx.caller;
    return guarded(async () => {
      const key = await this.live(caller, ref.name);
      const index = this.versionIndex(key, ref);
      const after = await this.hsm.managed.versions.update(caller, key, index, settingsOf(change));
      return this.viewOf(caller, ref.name, after, index);
    });
  }

  /** Names in order; a page resumes after the last name of the previous one (the cursor, checked). */
  private async keysByName(caller: Caller, page: PageRequest, deleted: boolean): Promise<Page<{ name: string; key: ManagedKey }>> {
    if (page.cursor !== undefined && !NAME.test(page.cursor)) throw new KeyPortError('invalid-input', 'The $skiptoken is not valid.');
    const out: { name: string; key: ManagedKey }[] = [];
    for (const n of await this.hsm.names.list(caller, KEY_NAME_KIND)) {
      if (page.cursor !== undefined && n.name <= page.cursor) continue;
      const key = await this.find(caller, n.name).catch((err) => { if (err instanceof KeyPortError && err.code === 'forbidden') return undefined; throw err; });
      if (!key || isSoftDeleted(key) !== deleted) continue;
      if (out.length === page.limit) return { items: out, next: out[out.length - 1].name };
      out.push({ name: n.name, key });
    }
    return { items: out };
  }

  listKeys(ctx: CallContext<Caller>, page: PageRequest): Promise<Page<KeyVersion>> {
    const caller = ctx.caller;
    return guarded(async () => {
      const p = await this.keysByName(caller, page, false);
      const items: KeyVersion[] = [];
      for (const { name, key } of p.items) items.push(await this.viewOf(caller, name, key));
      return { items, next: p.next };
    });
  }

  listVersions(ctx: CallContext<Caller>, name: string, page: PageRequest): Promise<Page<KeyVersion>> {
    const caller = ctx.caller;
    return guarded(async () => {
      const start = page.cursor === undefined ? 0 : Number(page.cursor);
      if (!Number.isSafeInteger(start) || start < 0 || start > 100_000) throw new KeyPortError('invalid-input', 'The $skiptoken is not valid.');
      const all = await this.views(caller, name, await this.live(caller, name));
      const items = all.slice(start, start + page.limit);
      return { items, next: start + page.limit < all.length ? String(start + page.limit) : undefined };
    });
  }

  private async deletedView(caller: Caller, name: string, key: ManagedKey): Promise<DeletedKey> {
    const d = key.data.deletion!;
    return { latest: await this.viewOf(caller, name, key), deletedAt: new Date(d.requested), purgeAt: new Date(d.due) };
  }

  private async deleted(caller: Caller, name: string): Promise<ManagedKey> {
    const key = await this.find(caller, name);
    if (!key || !isSoftDeleted(key)) throw new KeyPortError('not-found', `Deleted Key not found: ${name}`);
    return key;
  }

  deleteKey(ctx: CallContext<Caller>, name: string): Promise<DeletedKey> {
    const caller = ctx.caller;
    return guarded(async () => {
      const key = await this.live(caller, name);
      const after = await this.hsm.managed.scheduleDeletion(caller, key, this.opts.retentionDays, 'soft', { protected: this.opts.purgeProtected });
      return this.deletedView(caller, name, after);
    });
  }

  getDeletedKey(ctx: CallContext<Caller>, name: string): Promise<DeletedKey> {
    return guarded(async () => this.deletedView(ctx.caller, name, await this.deleted(ctx.caller, name)));
  }

  listDeletedKeys(ctx: CallContext<Caller>, page: PageRequest): Promise<Page<DeletedKey>> {
    const caller = ctx.caller;
    return guarded(async () => {
      const p = await this.keysByName(caller, page, true);
      const items: DeletedKey[] = [];
      for (const { name, key } of p.items) items.push(await this.deletedView(caller, name, key));
      return { items, next: p.next };
    });
  }

  recoverKey(ctx: CallContext<Caller>, name: string): Promise<KeyVersion> {
    const caller = ctx.caller;
    return guarded(async () => this.viewOf(caller, name, await this.hsm.managed.cancelDeletion(caller, await this.deleted(caller, name))));
  }

  purgeKey(ctx: CallContext<Caller>, name: string): Promise<void> {
    const caller = ctx.caller;
    return guarded(async () => { await this.hsm.managed.purge(caller, await this.deleted(caller, name)); });
  }

  backupKey(ctx: CallContext<Caller>, name: string): Promise<Buffer> {
    const caller = ctx.caller;
    return guarded(async () => this.hsm.keyBackups.backup(caller, await this.live(caller, name)));
  }

  restoreKey(ctx: CallContext<Caller>, blob: Buffer): Promise<KeyVersion> {
    const caller = ctx.caller;
    return guarded(async () => {
      const key = await this.hsm.keyBackups.restore(caller, blob);
      const [n] = await this.hsm.names.list(caller, KEY_NAME_KIND, key.id);
      if (!n) throw new KeyPortError('invalid-backup', 'The backup names no Key Vault key.');
      return this.viewOf(caller, n.name, key);
    });
  }

  rotateKey(ctx: CallContext<Caller>, name: string): Promise<KeyVersion> {
    const caller = ctx.caller;
    return guarded(async () => this.viewOf(caller, name, await this.hsm.managed.rotate(caller, await this.live(caller, name), 'on-demand')));
  }

  getRotationPolicy(ctx: CallContext<Caller>, name: string): Promise<RotationPolicy> {
    return guarded(async () => policyOf(await this.live(ctx.caller, name)));
  }

  /** Stored with the key; the core's rotation schedule follows its rotate action (days, approximated for
   *  months and years), and each new version's validity ends after its expiryTime (exact calendar period). */
  setRotationPolicy(ctx: CallContext<Caller>, name: string, policy: RotationPolicy): Promise<RotationPolicy> {
    const caller = ctx.caller;
    return guarded(async () => {
      const key = await this.live(caller, name);
      const now = this.hsm.managed.now();
      const after = await this.hsm.managed.update(caller, key, 'akv.set-rotation-policy', (d) => {
        const old = (d.face.akv as { rotationPolicy?: StoredPolicy } | undefined)?.rotationPolicy;
        const stored: StoredPolicy = { versionLifetime: policy.versionLifetime, actions: policy.actions, created: old?.created ?? now, updated: now };
        d.face.akv = { ...(d.face.akv as object | undefined), rotationPolicy: stored };
        d.rotation.versionLifetime = policy.versionLifetime as CorePeriod | undefined;
        scheduleRotation(d, policy);
      });
      return policyOf(after);
    });
  }

  // --- identity (TokenAuthority) -------------------------------------------------------------

  authenticateClient(clientId: string, secret: string): Promise<{ subject: string } | undefined> {
    return guarded(() => this.hsm.credentials.clients.authenticateOAuth(clientId, secret));
  }

  /** Mints the caller only now: the face verified the token's signature, times and audience first. */
  callerFor(subject: string): Promise<Caller | undefined> {
    return guarded(async () => {
      this.hsm.requireUnsealed();
      const found = await this.hsm.credentials.clients.lookupOAuth(subject);
      return found && this.hsm.callerOf(found.principal(), 'akv');
    });
  }

  tokenKeys(): Promise<readonly { keyId: string; publicKey: Buffer }[]> { return guarded(async () => this.hsm.tokens.list()); }
  signToken(keyId: string, input: Buffer): Promise<Buffer> { return guarded(() => this.hsm.tokens.sign(keyId, input)); }
  verifyTokenSignature(keyId: string, input: Buffer, signature: Buffer): Promise<boolean> {
    return guarded(() => this.hsm.tokens.verify(keyId, input, signature));
  }
}

function applyLast(d: ManagedKeyData, s: VersionSettings, now: number): void {
  const v = d.versions[d.versions.length - 1];
  if (s.enabled !== undefined) v.enabled = s.enabled;
  if (s.validity !== undefined) v.validity = { ...s.validity };
  if (s.tags !== undefined) v.tags = s.tags;
  v.updated = now;
}

/** The core's rotation schedule from a policy's rotate action: after creation, or before expiry. */
function scheduleRotation(d: ManagedKeyData, policy: RotationPolicy): void {
  const rotate = policy.actions.find((a) => a.action === 'rotate');
  const lifetime = policy.versionLifetime;
  const period = rotate?.afterCreate ? approxDays(rotate.afterCreate)
    : rotate?.beforeExpiry && lifetime ? approxDays(lifetime) - approxDays(rotate.beforeExpiry) : undefined;
  if (period === undefined || period < 1) { d.rotation.enabled = false; delete d.rotation.next; return; }
  d.rotation.enabled = true;
  d.rotation.periodDays = period;
  const current = d.versions[d.versions.length - 1];
  d.rotation.next = (current?.created ?? Date.now()) + period * DAY_MS;
}

function policyOf(key: ManagedKey): RotationPolicy {
  const p = (key.data.face.akv as { rotationPolicy?: StoredPolicy } | undefined)?.rotationPolicy;
  if (!p) return DEFAULT_POLICY;
  return { versionLifetime: p.versionLifetime, actions: p.actions, createdAt: new Date(p.created), updatedAt: new Date(p.updated) };
}
